"""TensorBoard runs as TensorBoard reads them: curves, a resumed run's purge, the HParams view,
and a driver that writes them without importing torch."""

from __future__ import annotations

import math
import random
import subprocess
import sys
import time

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tuner.spaces import load_space
from tuner.tracking.tensorboard import TrialBoard, write_experiment


def scalars(logdir, tag):
    acc = EventAccumulator(str(logdir)).Reload()
    return [(e.step, round(e.value, 6)) for e in acc.Scalars(tag)]


def test_each_epoch_is_readable_as_soon_as_it_is_written_and_non_finite_values_are_left_out(
        tmp_path):
    board = TrialBoard(tmp_path, 1)
    board.curves({"train_loss": 0.9, "val_loss": 0.8, "accuracy": 0.5, "lr": 1e-3}, 1)
    board.curves({"train_loss": math.inf, "val_loss": math.nan, "accuracy": 0.7}, 2)
    # not closed yet: a trial's curves show in TensorBoard while it trains
    assert scalars(tmp_path, "loss/val") == [(1, 0.8)]
    assert scalars(tmp_path, "metrics/accuracy") == [(1, 0.5), (2, 0.7)]
    assert scalars(tmp_path, "lr") == [(1, 0.001)]
    acc = EventAccumulator(str(tmp_path)).Reload()
    assert "loss/train" in acc.Tags()["scalars"] and "lr" in acc.Tags()["scalars"]


def test_a_resumed_run_replaces_the_epochs_written_after_its_checkpoint(tmp_path):
    first = TrialBoard(tmp_path, 1)
    for step in (1, 2, 3):
        first.curves({"val_loss": step}, step)  # the driver died after epoch 3
    time.sleep(1.1)  # event files are named by the second they were opened in
    resumed = TrialBoard(tmp_path, 2)  # the last checkpoint was epoch 1
    for step in (2, 3, 4):
        resumed.curves({"val_loss": 10 * step}, step)
    assert scalars(tmp_path, "loss/val") == [(1, 1), (2, 20), (3, 30), (4, 40)]


def test_a_resumed_trial_that_ends_without_a_new_epoch_keeps_its_curves(tmp_path):
    # killed after a trial's last epoch was reported but before Tune saw it end: on resume the
    # trial ends at once, and its run gets its summary without losing the epochs drawn before
    from types import SimpleNamespace

    from tuner.store import TrialRecord, save_records
    from tuner.tracking.callback import TunerCallback
    from tuner.tracking.progress import LiveSummary

    space, exp = load_space("mlp"), tmp_path / "exp"
    config = space.resolve(space.sample(random.Random(0)))
    before = TrialBoard(exp / "trial_001", 1)
    for step in (1, 2, 3):
        before.curves({"val_loss": 1 / step}, step)
    save_records(exp, [TrialRecord("trial_001", "abc", config, epochs=3,
                                   best={"val_loss": 1 / 3}, best_epoch={"val_loss": 3})])
    time.sleep(1.1)  # event files are named by the second they were opened in
    callback = TunerCallback(exp, "exp", space, "val_loss", "min", 3, 1,
                             LiveSummary(open(tmp_path / "out.txt", "w")))  # noqa: SIM115
    callback.setup()
    trial = SimpleNamespace(trial_id="abc", config=config,
                            local_path=str(tmp_path / "ray-staging" / "trial_001"))
    callback.on_trial_complete(0, [trial], trial)
    assert scalars(exp / "trial_001", "loss/val") == [(1, 1.0), (2, 0.5), (3, 0.333333)]
    assert scalars(exp / "trial_001", "best/val_loss") == [(3, 0.333333)]


def test_a_finished_trial_lists_its_hyperparameters_best_metrics_and_status(tmp_path):
    from tensorboard.plugins.hparams import plugin_data_pb2

    space = load_space("cnn")
    config = space.resolve(space.sample(random.Random(0)))
    write_experiment(tmp_path, space)
    board = TrialBoard(tmp_path / "trial_001", 1)
    board.curves({"val_loss": 0.5, "accuracy": 0.9}, 1)
    board.finish(config, "stopped early", {"accuracy": 0.9, "val_loss": 0.5}, 1, space,
                 "trial_001")
    assert scalars(tmp_path / "trial_001", "best/accuracy") == [(1, 0.9)]
    assert scalars(tmp_path / "trial_001", "trial/epochs") == [(1, 1)]
    acc = EventAccumulator(str(tmp_path / "trial_001")).Reload()
    content = acc.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hparams = start.session_start_info.hparams
    assert hparams["status"].string_value == "stopped early"
    assert set(config) <= set(hparams)
    root = EventAccumulator(str(tmp_path)).Reload().PluginTagToContent("hparams")
    experiment = plugin_data_pb2.HParamsPluginData.FromString(root["_hparams_/experiment"])
    assert {h.name for h in experiment.experiment.hparam_infos} >= set(config) | {"status"}


def test_the_driver_writes_tensorboard_runs_without_importing_torch(tmp_path):
    # torch takes the driver 1.6 s to import, paid while the first trials' workers start
    code = f"""
import random
import sys
from pathlib import Path
from tuner.spaces import load_space
from tuner.tracking.callback import TunerCallback
from tuner.tracking.tensorboard import TrialBoard, write_experiment
import tuner.driver
space = load_space("cnn")
write_experiment(Path({str(tmp_path)!r}), space)
board = TrialBoard(Path({str(tmp_path)!r}) / "trial_001", 1)
board.curves({{"val_loss": 0.5}}, 1)
board.finish(space.resolve(space.sample(random.Random(0))), "completed", {{"val_loss": 0.5}}, 1, space,
             "trial_001")
print(sorted(m for m in ("torch", "sklearn") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert scalars(tmp_path / "trial_001", "loss/val") == [(1, 0.5)]


def test_trials_json_follows_every_change_though_unchanged_lines_are_reused(tmp_path):
    # the callback keeps each record's encoded line between saves and drops it on a change
    from types import SimpleNamespace

    from tuner.store import load_records
    from tuner.tracking.callback import TunerCallback
    from tuner.tracking.progress import LiveSummary

    space, exp = load_space("mlp"), tmp_path / "exp"
    callback = TunerCallback(exp, "exp", space, "val_loss", "min", 2, 3,
                             LiveSummary(open(tmp_path / "out.txt", "w")))  # noqa: SIM115
    callback.setup()
    trials = [SimpleNamespace(trial_id=f"id{i}", config=space.sample(random.Random(i)),
                              local_path=str(tmp_path / "staging" / f"trial_00{i}"),
                              status="TERMINATED")
              for i in (1, 2, 3)]
    for t in trials:
        callback.on_trial_start(0, trials, t)
    for i, t in enumerate(trials):
        for epoch in (1, 2):
            callback.on_trial_result(0, trials, t, {"val_loss": 1.0 / (epoch + i), "epoch": epoch})
        callback.on_trial_complete(0, trials, t)
        saved = {r.trial: r for r in load_records(exp)}
        assert saved[f"trial_00{i + 1}"].status == "completed"
        assert saved[f"trial_00{i + 1}"].best["val_loss"] == 1.0 / (2 + i)
        assert all(saved[f"trial_00{j + 1}"].status == "running" for j in range(i + 1, 3))
    callback.on_experiment_end(trials)
    assert [r.epochs for r in load_records(exp)] == [2, 2, 2]
    assert "trial_003" in (exp / "best.toml").read_text()
