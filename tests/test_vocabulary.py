"""Every metric each task accepts can be tuned: reported at every epoch, ranked for the best
trial and best.toml, in TensorBoard's HParams and `tuner results`; end to end (Ray Tune
searching on it, `tuner best`, `tuner report`) for one metric of each task and direction. And
the vocabulary is one table."""

import dataclasses
import json
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


# One search per task and direction (a run costs seconds of Ray worker start-up, sixteen of
# them a minute of the suite): each metric is checked against the search of its task that
# optimized a metric in the same direction, and end to end (Ray Tune searching on it, best.toml,
# `tuner best`, the report) when it is that search's own metric.
SEARCHED = {("classification", "max"): "accuracy", ("classification", "min"): "val_loss",
            ("regression", "min"): "mae", ("forecasting", "min"): "mase"}
_SEARCHES: dict = {}


def _search(task: str, mode: str, tuner_cli, tmp_path_factory):
    """(name, storage, records, output) of the task's search on its metric of this mode."""
    metric = SEARCHED[task, mode]
    if (task, mode) not in _SEARCHES:
        tmp = tmp_path_factory.mktemp(f"{task}_{mode}")
        name = f"{task}_{metric}"
        text = f'name = "{name}"\n' + DATA[task].format(table=_table(tmp / "t.csv"))
        text += ('[search]\nsamples = 2\nmax_epochs = 2\nscheduler = "fifo"\n'
                 f'searcher = "random"\nmetric = "{metric}"\n')
        (tmp / "e.toml").write_text(text)
        storage = tmp / "r"
        code, out, err = tuner_cli("run", tmp / "e.toml", "--storage", storage)
        assert code == 0, out + err
        _SEARCHES[task, mode] = (name, storage, load_records(storage / name), out)
    return _SEARCHES[task, mode]


def test_every_task_metric_has_a_search_of_its_direction():
    assert {(t, MODES[m]) for t, m in CASES} == set(SEARCHED)
    assert all(m in TASK_METRICS[t] and MODES[m] == mode for (t, mode), m in SEARCHED.items())


@pytest.mark.parametrize(("task", "metric"), CASES, ids=[f"{t}-{m}" for t, m in CASES])
def test_every_metric_a_task_reports_can_be_tuned(task, metric, ray_session, tuner_cli,
                                                  tmp_path, tmp_path_factory):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from tuner.store.best import best_document

    mode = MODES[metric]
    name, storage, records, out = _search(task, mode, tuner_cli, tmp_path_factory)
    exp = storage / name
    assert "no result" not in out
    best = best_record(records, metric, mode)  # ties: the lower val_loss, then first
    # reported at every epoch of every trial (finite unless the trial diverged): what a search
    # on it ranks
    for r in records:
        rows = [json.loads(line) for line in (exp / r.trial / "result.json").read_text()
                .splitlines()]
        assert rows and all(metric in row for row in rows), r.trial
        assert r.status == "diverged" or all(math.isfinite(row[metric]) for row in rows)
    doc = best_document(name, best, metric, mode)
    assert (doc["trial"], doc["metric"], doc["mode"]) == (best.trial, metric, mode)
    assert doc["value"] == best.best[metric]
    if metric == SEARCHED[task, mode]:  # the search's own metric: end to end
        assert f"best   {best.trial}: {metric} {best.best[metric]:.4f}" in out
        saved = tomllib.loads((exp / "best.toml").read_text())
        assert (saved["trial"], saved["metric"], saved["mode"]) == (best.trial, metric, mode)
        assert saved["value"] == pytest.approx(best.best[metric])
        code, shown, _ = tuner_cli("best", name, "--storage", storage)
        assert code == 0 and f'trial = "{best.trial}"' in shown and f'metric = "{metric}"' in shown
        code, _, err = tuner_cli("report", name, "--storage", storage, "--out", tmp_path / "rep")
        assert code == 0, err
        assert metric in (tmp_path / "rep" / "report.html").read_text()

    # the HParams view holds the best value of the metric for every trial
    for r in records:
        (event,) = EventAccumulator(str(exp / r.trial)).Reload().Scalars(f"best/{metric}")
        assert event.value == pytest.approx(r.best[metric], rel=1e-6)

    code, out, err = tuner_cli("results", name, "--storage", storage, "-o",
                               tmp_path / "t.parquet")
    assert code == 0, err
    import pandas as pd

    table = pd.read_parquet(tmp_path / "t.parquet")
    assert table[f"best_{metric}"].tolist() == pytest.approx([r.best[metric] for r in records])


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
