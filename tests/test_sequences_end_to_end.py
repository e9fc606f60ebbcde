"""Sequence classification and forecasting through Ray on a tiny budget: padded sequences reach
the trials with their lengths, forecasting reports MASE, and final training tests once."""

import json

import pytest

from tests.conftest import EXPERIMENTS
from tuner.store import load_records


@pytest.mark.parametrize(
    ("experiment", "metric", "final_key"),
    [("vowels_gru", "accuracy", "test_accuracy"), ("sunspots_forecast", "mase", "test_mase")],
)
def test_tune_and_train(experiment, metric, final_key, ray_session, tuner_cli, tmp_path):
    code, out, err = tuner_cli("run", EXPERIMENTS / f"{experiment}.toml", "--samples", "2",
                               "--epochs", "2", "--storage", tmp_path, "--scheduler", "fifo")
    assert code == 0, err + out
    records = load_records(tmp_path / experiment)
    assert len(records) == 2 and all(r.status == "completed" for r in records)
    assert all(metric in r.best for r in records)
    code, out, err = tuner_cli("train", EXPERIMENTS / f"{experiment}.toml", "--from", experiment,
                               "--storage", tmp_path)
    assert code == 0, err
    m = json.loads((tmp_path / experiment / "final" / "metrics.json").read_text())
    assert m[final_key] > 0
    if experiment == "vowels_gru":
        assert m["test_examples"] == 370 and m["train_examples"] == 270
    else:
        assert m["task"] == "forecasting" and {"test_mae", "test_rmse"} <= set(m)
        # beside it, the naive forecast on the same test windows: the bar to clear
        assert m["naive"]["test_mase"] == pytest.approx(1.398, abs=1e-3)
        assert "naive  the last value repeated, on the same test windows: " in out


def test_factory_that_cannot_take_the_data_is_refused_before_ray(tuner_cli, tmp_path):
    exp = tmp_path / "bad.toml"
    exp.write_text('name = "bad"\n[data]\nsource = "aeon"\ndataset = "JapaneseVowels"\n'
                   '[model]\nfactory = "mlp"\n')
    code, out, err = tuner_cli("run", exp, "--storage", tmp_path / "r")
    assert code == 2
    assert "factory 'mlp' cannot take variable-length sequences" in err
    assert not (tmp_path / "r").exists()


def test_metric_the_task_does_not_report_is_refused(tuner_cli, tmp_path):
    exp = tmp_path / "bad.toml"
    exp.write_text('name = "bad"\n[data]\nsource = "sunspots"\nwindow = 11\n'
                   '[model]\nfactory = "mlp"\n[search]\nmetric = "accuracy"\n')
    code, out, err = tuner_cli("run", exp, "--storage", tmp_path / "r")
    assert code == 2
    assert err.strip() == (f"tuner: error: {exp}: [search] metric (or --metric): forecasting trials report "
                           f"val_loss, mae, rmse, mase, train_loss, not 'accuracy'; pick one of "
                           f"those")


def test_a_batch_size_that_leaves_one_update_per_epoch_gets_a_note(tuner_cli, tmp_path):
    exp = tmp_path / "few.toml"
    text = ('name = "few"\n[data]\nsource = "aeon"\ndataset = "BasicMotions"\nfolds = 1\n'
            '[model]\nfactory = "conv1d"\n')
    exp.write_text(text)
    code, out, err = tuner_cli("run", exp, "--dry-run", "--storage", tmp_path / "r")
    assert code == 0, err
    # left to tuner, the batch sizes fit the data
    assert ("  auto   batch_size = { choice = [2, 4, 8] }: 32 training examples per model: "
            "batches up to 8 leave at least 4 optimizer steps per epoch") in out
    # set by the file, they win, with a note
    exp.write_text(text + "[space]\nbatch_size = { choice = [32, 64, 128, 256] }\n")
    code, out, err = tuner_cli("run", exp, "--dry-run", "--storage", tmp_path / "r")
    assert code == 0, err
    assert ("  note   batch_size up to 256 on 32 training examples leaves only one update per "
            "epoch; smaller batches train more per epoch, e.g. in [space]: "
            "batch_size = { choice = [2, 4, 8] }") in out
    # the shipped small-data experiments already choose batches that fit their data
    for name in ("vowels_gru", "motions_conv1d", "gestures_attention", "sunspots_forecast"):
        code, out, err = tuner_cli("run", EXPERIMENTS / f"{name}.toml", "--dry-run",
                                   "--storage", tmp_path / "r")
        assert code == 0 and "  note   " not in out, name
