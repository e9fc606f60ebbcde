"""tuner report on synthetic experiment folders (no Ray): the metric depends on lr only."""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from tuner.auto import fit_to_data
from tuner.data import load_spec_data
from tuner.errors import UserError
from tuner.experiment import load, save_spec
from tuner.reporting import write_report
from tuner.reporting._advice import _line
from tuner.reporting._data import read_curve
from tuner.store import TrialRecord, save_records

ROOT = Path(__file__).resolve().parents[2]
# lr = loguniform(3e-4, 3e-2); resolved as a run saves it (augmentation off for 8×8 digits)
SPEC = fit_to_data(*(lambda s: (s, load_spec_data(s)))(load(ROOT / "experiments" /
                                                             "digits_cnn.toml")))[0]
LOW, HIGH = 3e-4, 3e-2


def lr_position(config: dict) -> float:
    """0 at the low end of lr's log range, 1 at the high end."""
    return math.log(config["lr"] / LOW) / math.log(HIGH / LOW)


def rising(config: dict) -> float:  # best at the top edge of lr's range
    return 0.60 + 0.35 * lr_position(config)


def peaked(config: dict) -> float:  # best in the middle of lr's (log) range
    return 0.95 - 0.35 * (2 * lr_position(config) - 1) ** 2


def experiment(root: Path, name: str, score, n: int = 40, stopped: int = 8,
               seed: int = 0, noise: float = 0.002, spec=SPEC) -> Path:
    """An experiment folder as `tuner run` leaves it: experiment.json, trials.json and each
    trial's progress.csv; the first `stopped` trials were stopped early at an ASHA rung."""
    exp = root / name
    exp.mkdir()
    save_spec(spec, exp)
    space, rng, epochs = spec.space(), random.Random(seed), spec.search.max_epochs
    records = []
    for i in range(n):
        config = space.sample(rng)
        final = score(config) + rng.gauss(0, noise)
        record = TrialRecord(f"trial_{i + 1:03d}", f"{i:08x}", config)
        rows = []
        for e in range(1, (rng.choice([2, 6]) if i < stopped else epochs) + 1):
            acc = final * (1 - 0.5 * math.exp(-e / 3))
            rows.append({"accuracy": acc, "val_loss": 2.3 * (1 - acc), "epoch": e,
                         "training_iteration": e, "trial_id": record.trial_id})
            record.update(rows[-1], spec.search.metric)
        record.finish(epochs)
        records.append(record)
        (exp / record.trial).mkdir()
        with open(exp / record.trial / "progress.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    save_records(exp, records)
    return exp


@pytest.fixture(scope="module")
def rising_report(tmp_path_factory) -> tuple[Path, dict, str]:
    exp = experiment(tmp_path_factory.mktemp("report"), "rising", rising)
    page = write_report(exp)
    return page, json.loads((page.parent / "report.json").read_text()), page.read_text()


def test_ranks_the_one_hyperparameter_that_matters_first(rising_report):
    _, doc, _ = rising_report
    ranking = list(doc["importance"])
    assert ranking[0] == "lr"
    assert doc["importance"]["lr"] >= 0.8
    assert doc["full_budget_trials"] == 32


def test_advises_fixing_the_others_by_name(rising_report):
    _, doc, page = rising_report
    fixed = {a["text"].split()[1] for a in doc["advice"] if a["topic"] == "fix"}
    assert fixed == set(doc["importance"]) - {"lr"}
    assert "lr" not in fixed
    assert "fix dropout at its best value 0.11 (trial_017&#x27;s): importance 0.011" in page
    assert "[space] batch_norm = " in page


def test_the_advised_space_lines_make_a_valid_space(rising_report):
    import tomllib

    _, doc, _ = rising_report
    lines = [a["toml"] for a in doc["advice"] if a["toml"]]
    assert len(lines) == len(doc["importance"])  # 11 fixes and lr widened
    space = SPEC.space().override(tomllib.loads("\n".join(lines)))
    assert space.priors["lr"].high == 0.095
    # fixing conv_blocks = 2 and optimizer = "sgd" leaves lr and momentum (always active now)
    assert space.size()["dimensions"] == 2
    assert any("The 12 [space] lines above leave 2 tunable dimensions" in a["text"]
               for a in doc["advice"])


def test_conditional_hyperparameters_are_left_out_and_named(rising_report):
    _, doc, page = rising_report
    assert {"filters_2", "filters_3", "momentum", "warmup_epochs"} <= set(doc["left_out"])
    assert "only when optimizer == &#x27;sgd&#x27;" in page


def test_writes_html_with_embedded_images_and_the_pngs(rising_report):
    page, doc, text = rising_report
    assert page == page.parent.parent / "report" / "report.html"
    for png in ("curves.png", "parallel.png", "importance.png", "heatmaps.png"):
        assert (page.parent / png).stat().st_size > 1000
    assert text.count("data:image/png;base64,") == 4
    assert len(doc["heatmap_pairs"]) == 3 and doc["heatmap_pairs"][0][0] == "lr"


def test_heatmap_note_explains_the_bias_of_stopped_trials(rising_report):
    _, _, page = rising_report
    assert "use only the 32 trials that ran all 20 epochs" in page
    assert "The 8 trials the asha scheduler stopped early (at epochs 2 and 6) are left out" in page
    assert "Hyperband and ASHA stop a trial at a low-epoch rung" in page


def test_edge_advice_when_the_best_values_sit_on_an_edge(rising_report):
    _, doc, _ = rising_report
    edges = [a for a in doc["advice"] if a["topic"] == "edge"]
    assert [a["text"].split(":")[0] for a in edges] == ["widen lr above 0.03"]
    assert ("the best full-budget trial (trial_017, lr 0.0274) sits in the top 10% of its log "
            "range 0.0003..0.03 and 5 of the 5 best have lr >= 0.0119 (the top 20%)"
            in edges[0]["text"])
    assert edges[0]["toml"] == "lr = { loguniform = [0.0003, 0.095] }"


def test_no_edge_advice_when_the_best_values_sit_inside(tmp_path):
    page = write_report(experiment(tmp_path, "peaked", peaked, seed=1))
    doc = json.loads((page.parent / "report.json").read_text())
    assert next(iter(doc["importance"])) == "lr"
    assert [a for a in doc["advice"] if a["topic"] == "edge"] == []
    assert "widen" not in page.read_text()


def test_a_metric_to_minimize(tmp_path):
    spec = SPEC.with_overrides(metric="val_loss")
    page = write_report(experiment(tmp_path, "loss", rising, spec=spec))
    doc = json.loads((page.parent / "report.json").read_text())
    assert (doc["metric"], doc["mode"]) == ("val_loss", "min")
    assert next(iter(doc["importance"])) == "lr" and doc["importance"]["lr"] >= 0.8
    assert doc["best"]["trial"] == "trial_017"  # the lowest loss is the highest accuracy
    assert [a["text"].split(":")[0] for a in doc["advice"] if a["topic"] == "edge"] == [
        "widen lr above 0.03"]


def test_no_variance_no_importance_but_a_report(tmp_path):
    page = write_report(experiment(tmp_path, "flat", lambda config: 0.9, noise=0.0))
    doc = json.loads((page.parent / "report.json").read_text())
    assert doc["importance"] == {} and doc["heatmap_pairs"] == []
    assert doc["importance_problem"].startswith("all 32 full-budget trials reached the same "
                                                "accuracy 0.8994: there is no variance")
    text = page.read_text()
    assert "No importance: all 32 full-budget trials reached the same accuracy" in text
    assert "No heatmaps: they pair the most important hyperparameters" in text
    assert text.count("data:image/png;base64,") == 2  # curves and parallel coordinates


def test_budget_advice_states_the_space_and_the_trials_run(rising_report):
    _, doc, _ = rising_report
    text = " ".join(a["text"] for a in doc["advice"] if a["topic"] == "budget")
    assert "16 tunable dimensions (12 always active, 4 conditional)" in text
    assert "2,377,728 discrete combinations x 4 continuous dimensions" in text
    assert "For 16 dimensions that is 160-320 trials; this search ran 40 (32 to the full" in text
    assert "bring that down to 20-40 trials" in text


def test_few_full_budget_trials_draw_no_heatmap_and_fix_nothing(tmp_path):
    page = write_report(experiment(tmp_path, "few", rising, n=12, stopped=8), tmp_path / "out")
    assert page == tmp_path / "out" / "report.html"
    text = page.read_text()
    assert "No heatmaps: only 4 trials ran the full budget, fewer than 6" in text
    assert not (tmp_path / "out" / "heatmaps.png").exists()
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    assert not [a for a in doc["advice"] if a["topic"] == "fix"]
    assert "No dimension is called unimportant yet: the importances come from 4" in text


def test_fewer_than_two_full_budget_trials_is_a_user_error(tmp_path):
    exp = experiment(tmp_path, "early", rising, n=5, stopped=4)
    with pytest.raises(UserError) as e:
        write_report(exp)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(f"{exp}: 1 of 5 trials ran the full 20 epochs (1 completed, "
                          f"4 stopped early)")
    assert f"tuner resume {exp})" in msg


def test_a_folder_without_an_experiment_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not an experiment folder"):
        write_report(tmp_path)


def test_space_lines_set_per_layer_priors_by_their_family_name():
    exp = SimpleNamespace(space=SPEC.space())
    assert _line(exp, "filters_1", "96") == "filters = 96  # all layers: per-layer priors are set together"
    assert _line(exp, "lr", "0.01") == "lr = 0.01"


def test_curves_fall_back_to_result_json(tmp_path):
    rows = [{"epoch": 1, "accuracy": 0.5}, {"epoch": 2, "accuracy": float("nan")},
            {"epoch": 3, "accuracy": 0.8}]
    (tmp_path / "result.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert read_curve(tmp_path, "accuracy") == [(1, 0.5), (3, 0.8)]


def test_tuner_report_and_tuner_results_from_the_command_line(tmp_path, tuner_cli):
    import pandas as pd

    exp = experiment(tmp_path, "cli", rising, n=12, stopped=3)
    code, out, err = tuner_cli("report", exp, "--out", tmp_path / "page")
    assert code == 0, err
    assert out == f"wrote {tmp_path / 'page' / 'report.html'} (open it in a browser; the " \
                  f"figures are also beside it as PNGs)\n"
    assert (tmp_path / "page" / "report.html").exists()

    for name in ("trials.csv", "trials.parquet"):
        code, out, err = tuner_cli("results", exp, "-o", tmp_path / name)
        assert code == 0, err
        assert out == f"wrote {tmp_path / name}: 12 trials from {exp}\n"
        table = (pd.read_csv if name.endswith(".csv") else pd.read_parquet)(tmp_path / name)
        assert len(table) == 12
        assert {"trial", "status", "epochs", "best_accuracy", "last_accuracy", "config/lr",
                "config/optimizer"} <= set(table.columns)
        assert set(table["status"]) == {"completed", "stopped early"}
        assert table["config/lr"].dtype == float

    code, out, err = tuner_cli("results", exp, "-o", tmp_path / "trials.xlsx")
    assert code == 2 and out == ""
    assert err == f"tuner: error: {tmp_path / 'trials.xlsx'}: unknown extension '.xlsx'; write " \
                  f".csv or .parquet\n"


def test_importance_of_many_trials_reads_a_random_sample_and_says_so(tmp_path, monkeypatch):
    from tuner.reporting import _importance

    monkeypatch.setattr(_importance, "MAX_TRIALS", 20)  # the rule, on a small experiment
    page = write_report(experiment(tmp_path, "many", rising, n=40, stopped=8))
    doc = json.loads((page.parent / "report.json").read_text())
    assert list(doc["importance"])[0] == "lr"  # the sample still finds what matters
    assert "from the 20 trials that ran the full budget (a random sample of the 32)" in (
        page.read_text())
