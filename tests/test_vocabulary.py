"""Every metric each task accepts can be tuned, end to end: best trial, best.toml, `tuner best`,
TensorBoard's HParams, `tuner report` and `tuner results`. And the vocabulary is one table."""

import dataclasses
import math
import tomllib

import numpy as np
import pytest

from tuner.store import best_record, load_records
from tuner.vocabulary import METRICS, MODES, STATUSES, TASK_METRICS, Status, diverged_metrics

# one tiny experiment per task: two trials of two epochs, FIFO, so both run the whole budget
DATA = {
    "classification": '[data]\nsource = "digits"\n[model]\nfactory = "mlp"\n',
    "regression": '[data]\npath = "{table}"\ntarget = "y"\n[model]\nfactory = "mlp"\n',
    "forecasting": ('[data]\nsource = "sunspots"\nwindow = 8\n[model]\nfactory = "rnn"\n'
                    '[space]\ndownsample = 1\nhidden_size = 32\nlayers = 1\n'),
}
CASES = [(task, metric) for task, metrics in TASK_METRICS.items() for metric in metrics]


def _table(path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = x @ np.array([1.5, -2.0, 0.5, 0.0]) + 0.1 * rng.normal(size=300)
    lines = ["a,b,c,d,y", *(",".join(f"{v:.5f}" for v in (*row, t)) for row, t in zip(x, y, strict=True))]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(("task", "metric"), CASES, ids=[f"{t}-{m}" for t, m in CASES])
def test_every_metric_a_task_reports_can_be_tuned(task, metric, ray_session, tuner_cli,
                                                  tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    name = f"{task}_{metric}"
    text = f'name = "{name}"\n' + DATA[task].format(table=_table(tmp_path / "t.csv"))
    text += ('[search]\nsamples = 2\nmax_epochs = 2\nscheduler = "fifo"\nsearcher = "random"\n'
             f'metric = "{metric}"\n')
    (tmp_path / "e.toml").write_text(text)
    storage = tmp_path / "r"
    code, out, err = tuner_cli("run", tmp_path / "e.toml", "--storage", storage)
    assert code == 0, out + err
    assert "no result" not in out
    exp = storage / name
    records = load_records(exp)
    best = best_record(records, metric, MODES[metric])  # ties: the lower val_loss, then first
    assert f"best   {best.trial}: {metric} {best.best[metric]:.4f}" in out

    doc = tomllib.loads((exp / "best.toml").read_text())
    assert (doc["trial"], doc["metric"], doc["mode"]) == (best.trial, metric, MODES[metric])
    assert doc["value"] == pytest.approx(best.best[metric])
    code, shown, _ = tuner_cli("best", name, "--storage", storage)
    assert code == 0 and f'trial = "{best.trial}"' in shown and f'metric = "{metric}"' in shown

    # the HParams view holds the best value of the tuned metric for every trial
    for r in records:
        tags = EventAccumulator(str(exp / r.trial)).Reload().Tags()["scalars"]
        assert f"best/{metric}" in tags, r.trial
        (event,) = EventAccumulator(str(exp / r.trial)).Reload().Scalars(f"best/{metric}")
        assert event.value == pytest.approx(r.best[metric], rel=1e-6)

    code, out, err = tuner_cli("results", name, "--storage", storage, "-o", tmp_path / "t.parquet")
    assert code == 0, err
    import pandas as pd

    table = pd.read_parquet(tmp_path / "t.parquet")
    assert table[f"best_{metric}"].tolist() == pytest.approx([r.best[metric] for r in records])
    code, out, err = tuner_cli("report", name, "--storage", storage, "--out", tmp_path / "rep")
    assert code == 0, err
    assert (tmp_path / "rep" / "report.html").is_file()
    assert f"{metric}" in (tmp_path / "rep" / "report.html").read_text()


def test_the_lists_of_metrics_all_follow_the_one_table():
    from tuner.experiment import SearchSpec
    from tuner.tracking.tensorboard import CURVES

    accepted = next(f for f in dataclasses.fields(SearchSpec)
                    if f.name == "metric").metadata["check"].valid()
    assert set(MODES) == set(METRICS) == set(accepted)
    assert set(CURVES) == {*METRICS, "lr"}
    for task, names in TASK_METRICS.items():
        assert names[0] == "val_loss" and names[-1] == "train_loss"
        worst = diverged_metrics(task)
        assert set(worst) == set(names)  # a diverged trial reports everything its task reports
        assert all(v == (0.0 if MODES[m] == "max" else math.inf) for m, v in worst.items())


def test_statuses_read_and_write_as_their_text():
    import json

    from tuner.store import TrialRecord

    r = TrialRecord.from_dict({"trial": "trial_001", "trial_id": "x", "config": {},
                               "status": "stopped early"})
    assert r.status is Status.STOPPED_EARLY and r.status == "stopped early"
    assert json.loads(json.dumps(r.to_dict()))["status"] == "stopped early"
    assert f"{r.status:<14}|" == "stopped early |"
    assert [s.failed for s in STATUSES] == [False, False, False, True, True]
    assert [s.ray_status for s in STATUSES] == ["TERMINATED", "TERMINATED", None, "TERMINATED",
                                                "ERROR"]
