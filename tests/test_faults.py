"""A tuning job survives its driver: SIGKILL or Ctrl-C halfway, then `tuner resume` finishes it.

Each test runs `tuner run` as a real process with its own local Ray, as a user would, and
stops it; `tuner resume` then runs in the test's process, on the session's Ray (the same code,
without a second Ray start).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tuner.store import best_record, load_records

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = 12

EXPERIMENT = """
name = "{name}"
[data]
source = "digits"
[model]
factory = "cnn"
[space]
module = "cnn"
[search]
samples = {samples}
max_epochs = {max_epochs}
grace_period = 1
reduction_factor = 2
seed = {seed}
[resources]
cpu = 1
"""


def _tuner(*args) -> list[str]:
    return [sys.executable, "-m", "tuner", *map(str, args)]


def _env() -> dict:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def _finished(exp: Path) -> int:
    try:
        return sum(r.status != "running" for r in load_records(exp))
    except (OSError, ValueError):  # being replaced right now
        return 0


def _start_and_wait(cmd, exp: Path, at_least: int, timeout: float = 240) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout
    while _finished(exp) < at_least:
        if proc.poll() is not None:
            pytest.fail(f"tuner run ended early ({proc.returncode}):\n{proc.stdout.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"fewer than {at_least} trials finished in {timeout} s")
        time.sleep(0.2)
    return proc


def _kill_orphans(before: set[int]) -> None:
    """Ray processes of a SIGKILLed driver that outlive it (its agents, for a minute)."""
    time.sleep(1)
    for p in psutil.process_iter(["pid", "ppid", "name"]):
        if p.info["pid"] not in before and p.info["ppid"] == 1 and (
                (p.info["name"] or "").startswith("ray::")):
            p.kill()


def check_complete(exp: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    records = load_records(exp)
    names = [f"trial_{i:03d}" for i in range(1, SAMPLES + 1)]
    assert [r.trial for r in records] == names  # the number asked for, no gap, no duplicate
    # every trial ended as a trial may end (a config whose loss blew up diverges, with its
    # reason); none errored or was left running
    unfinished = [(r.trial, r.status, r.reason) for r in records
                  if r.status not in ("completed", "stopped early", "diverged")]
    assert not unfinished
    assert sorted(p.name for p in exp.glob("trial_*")) == names  # one TensorBoard run each
    for r in records:
        acc = EventAccumulator(str(exp / r.trial)).Reload()
        drawn = "loss/val" in acc.Tags()["scalars"]
        steps = [e.step for e in acc.Scalars("loss/val")] if drawn else []
        last = r.epochs - (r.status == "diverged")  # a diverged epoch's loss is not drawn
        assert steps == list(range(1, last + 1)), r.trial  # no epoch written twice


def test_a_killed_driver_loses_nothing_and_resume_finishes(tmp_path, ray_session, tuner_cli):
    (tmp_path / "killed.toml").write_text(EXPERIMENT.format(name="killed", samples=SAMPLES, max_epochs=4, seed=3))
    exp = tmp_path / "results" / "killed"
    before = set(psutil.pids())
    proc = _start_and_wait(_tuner("run", tmp_path / "killed.toml", "--storage",
                                  tmp_path / "results"), exp, SAMPLES // 2 - 1)
    finished = {r.trial: r for r in load_records(exp) if r.status != "running"}
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    _kill_orphans(before)

    code, out, err = tuner_cli("resume", "killed", "--storage", tmp_path / "results")
    assert code == 0, out + err
    assert "done in" in out and f"{SAMPLES} trials" in out
    check_complete(exp)
    after = {r.trial: r for r in load_records(exp)}
    for name, r in finished.items():  # what had finished before the kill is kept as it was
        assert after[name].epochs == r.epochs and after[name].best == r.best

    code, shown, _ = tuner_cli("best", "killed", "--storage", tmp_path / "results")
    assert code == 0
    top = best_record(list(after.values()), "val_loss", "min")  # the file's metric: the default
    assert f'trial = "{top.trial}"' in shown


def test_ctrl_c_stops_cleanly_and_resume_continues(tmp_path, ray_session, tuner_cli):
    (tmp_path / "stopped.toml").write_text(EXPERIMENT.format(name="stopped", samples=SAMPLES, max_epochs=4, seed=3))
    exp = tmp_path / "results" / "stopped"
    proc = _start_and_wait(_tuner("run", tmp_path / "stopped.toml", "--storage",
                                  tmp_path / "results"), exp, 3)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert "interrupted after" in out and "stopped by Ctrl-C" in out
    assert f"tuner resume {exp}" in out
    assert "Traceback" not in out
    state = json.loads((exp / "trials.json").read_text())
    assert 3 <= sum(r["status"] != "running" for r in state) < SAMPLES

    code, out, err = tuner_cli("resume", exp)
    assert code == 0, out + err
    check_complete(exp)


def test_a_trial_continues_from_its_newest_checkpoint_when_the_saved_state_names_a_deleted_one(
        tmp_path):
    # Tune deletes the previous checkpoint before it saves the state naming the next one
    import torch
    from ray import tune

    from tuner.raytune.checkpoints import CHECKPOINT_FILE, load_trial_state

    for epoch in (3, 4):
        (tmp_path / f"checkpoint_00000{epoch}").mkdir()
        torch.save({"epoch": epoch}, tmp_path / f"checkpoint_00000{epoch}" / CHECKPOINT_FILE)
    assert load_trial_state(tune.Checkpoint(str(tmp_path / "checkpoint_000004")))["epoch"] == 4
    assert load_trial_state(tune.Checkpoint(str(tmp_path / "checkpoint_000002")))["epoch"] == 4


def test_a_remote_checkpoint_that_is_missing_is_an_error_not_a_neighbours_state(tmp_path):
    # a remote checkpoint is read through a temporary copy, whose neighbours are unrelated
    import contextlib

    import pytest
    import torch

    from tuner.raytune.checkpoints import CHECKPOINT_FILE, load_trial_state

    (tmp_path / "checkpoint_000009").mkdir()
    torch.save({"epoch": 9}, tmp_path / "checkpoint_000009" / CHECKPOINT_FILE)
    copy = tmp_path / "download"
    copy.mkdir()

    class Remote:
        path = "bucket/exp/trial_001/checkpoint_000002"

        @contextlib.contextmanager
        def as_directory(self):
            yield str(copy)

    with pytest.raises(FileNotFoundError):
        load_trial_state(Remote())


def _name_a_deleted_checkpoint(exp: Path, trial: str) -> tuple[str, str]:
    """Make Ray Tune's saved state, and the results it synced with it, stop at a checkpoint
    `trial` has deleted since (it keeps its two newest), as a driver killed between two of
    Tune's periodic saves leaves them. Returns (named, the oldest checkpoint after it)."""
    from ray import cloudpickle
    from ray.tune import Checkpoint

    state_file = sorted(exp.glob("experiment_state-*.json"))[-1]
    state = json.loads(state_file.read_text())
    for entry in state["trial_data"]:
        if json.loads(entry[0])["relative_logdir"] != trial:
            continue
        meta = json.loads(entry[1])
        manager = cloudpickle.loads(bytes.fromhex(meta["checkpoint_manager"]["value"]))
        latest = manager._latest_checkpoint_result
        newest = Path(latest.checkpoint.path)
        index = int(newest.name.split("_")[1])
        deleted = newest.parent / f"checkpoint_{index - 2:06d}"
        assert index >= 2 and not deleted.exists()
        successor = newest.parent / f"checkpoint_{index - 1:06d}"
        assert successor.exists()
        latest.checkpoint = Checkpoint(str(deleted), filesystem=latest.checkpoint.filesystem)
        latest.metrics = {**latest.metrics, "checkpoint_dir_name": deleted.name,
                          "training_iteration": latest.metrics["training_iteration"] - 2}
        meta["checkpoint_manager"]["value"] = cloudpickle.dumps(manager).hex()
        entry[1] = json.dumps(meta)
        state_file.write_text(json.dumps(state))
        results = exp / trial / "result.json"
        rows = results.read_text().splitlines()
        keep = [r for r in rows if json.loads(r)["checkpoint_dir_name"] <= deleted.name]
        results.write_text("".join(r + "\n" for r in keep))
        return deleted.name, successor.name
    raise AssertionError(f"{trial} is not in Ray Tune's saved state")


def test_resume_continues_a_trial_whose_saved_state_names_a_deleted_checkpoint(
        tmp_path, ray_session, tuner_cli):
    EPOCHS = 80  # an epoch takes about 0.1 s: long enough for Ctrl-C to stop it midway
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (tmp_path / "e.toml").write_text(EXPERIMENT.format(name="deleted", samples=1, max_epochs=EPOCHS,
                                                       seed=3).replace("[search]", '[search]\nscheduler = "fifo"'))
    exp = tmp_path / "results" / "deleted"
    proc = subprocess.Popen(_tuner("run", tmp_path / "e.toml", "--storage", tmp_path / "results"),
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    results = exp / "trial_001" / "result.json"
    deadline = time.monotonic() + 120
    while not results.exists() or len(results.read_text().splitlines()) < 3:
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    named, successor = _name_a_deleted_checkpoint(exp, "trial_001")
    last_seen = json.loads(results.read_text().splitlines()[-1])["epoch"]

    code, out, err = tuner_cli("resume", exp)  # on this session's Ray: no second start
    assert code == 0, out + err
    assert (f"  trial_001: Ray Tune's saved state names {named}, deleted since; it continues "
            f"from {successor}") in out
    (record,) = load_records(exp)
    assert (record.status, record.epochs) == ("completed", EPOCHS)
    # it went on from the checkpoint after the named one, not from scratch
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    resumed = [r["epoch"] for r in rows if r["epoch"] > last_seen]
    assert resumed == list(range(last_seen + 2, EPOCHS + 1))
    # and TensorBoard shows every epoch once
    acc = EventAccumulator(str(exp / "trial_001")).Reload()
    assert [e.step for e in acc.Scalars("loss/val")] == list(range(1, EPOCHS + 1))


def test_resume_puts_back_a_state_the_kill_cut_short(tmp_path, ray_session, tuner_cli):
    # a driver killed while Ray Tune copies its state into the experiment folder leaves files
    # cut short there (seen: an empty search_gen_state), and Tune then resumed with its
    # searcher's count lost and the earlier trials dropped
    from tuner.raytune.saved import BACKUP

    (tmp_path / "e.toml").write_text(EXPERIMENT.format(name="cut", samples=2, max_epochs=2,
                                                       seed=3).replace('"cnn"', '"mlp"'))
    code, out, err = tuner_cli("run", tmp_path / "e.toml", "--storage", tmp_path / "r")
    assert code == 0, out + err
    exp = tmp_path / "r" / "cut"
    (generator,) = exp.glob("search_gen_state-*.json")
    assert (exp / BACKUP / generator.name).stat().st_size > 0  # tuner's copy, taken as it ran
    generator.write_bytes(b"")
    code, out, err = tuner_cli("resume", exp)
    assert code == 0, out + err
    assert ("  Ray Tune's saved state was cut short when the driver stopped: resuming from "
            "tuner's copy of its last complete state") in out
    assert "2 trials · " in out and " errored" in out and "unfinished" not in out
    assert [r.trial for r in load_records(exp)] == ["trial_001", "trial_002"]


def test_a_trial_keeps_its_two_newest_checkpoints(tmp_path):
    from ray import tune

    from tuner.raytune.checkpoints import prune_checkpoints

    for i in range(5):
        (tmp_path / f"checkpoint_{i:06d}").mkdir()
    (tmp_path / "result.json").write_text("")
    assert prune_checkpoints(tune.Checkpoint(str(tmp_path / "checkpoint_000004"))) == [
        "checkpoint_000000", "checkpoint_000001", "checkpoint_000002"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkpoint_000003", "checkpoint_000004", "result.json"]
    assert prune_checkpoints(None) == []


def test_resume_keeps_trials_that_finished_after_the_last_saved_state(
        tmp_path, ray_session, tuner_cli):
    # Ray Tune saves its state on a period: a driver killed between two saves leaves trials the
    # state does not list, finished ones (kept, fewer new trials run) and unfinished ones (run
    # again, under the freed name)
    from ray import cloudpickle

    (tmp_path / "e.toml").write_text(EXPERIMENT.format(name="late", samples=3, max_epochs=2,
                                                       seed=3).replace('"cnn"', '"mlp"'))
    code, out, err = tuner_cli("run", tmp_path / "e.toml", "--storage", tmp_path / "r")
    assert code == 0, out + err
    exp = tmp_path / "r" / "late"
    before = {r.trial: r for r in load_records(exp)}
    # the state as Tune saved it when only trial_001 existed; trial_002 was still running
    (state_file,) = exp.glob("experiment_state-*.json")
    state = json.loads(state_file.read_text())
    state["trial_data"] = [e for e in state["trial_data"]
                           if json.loads(e[0])["relative_logdir"] == "trial_001"]
    state_file.write_text(json.dumps(state))
    (generator_file,) = exp.glob("search_gen_state-*.json")
    generator = cloudpickle.loads(generator_file.read_bytes())
    generator["counter"] = 1
    generator_file.write_bytes(cloudpickle.dumps(generator))
    records = json.loads((exp / "trials.json").read_text())
    for r in records:
        if r["trial"] == "trial_002":
            r["status"] = "running"
    (exp / "trials.json").write_text(json.dumps(records))

    code, out, err = tuner_cli("resume", exp)
    assert code == 0, out + err
    assert ("  trial_003 started and finished after Ray Tune last saved the experiment: "
            "kept as they ended, "
            "and as many fewer new trials run") in out
    assert "  trial_002 started after Ray Tune last saved the experiment" in out
    after = {r.trial: r for r in load_records(exp)}
    assert sorted(after) == ["trial_001", "trial_002", "trial_003"]
    assert after["trial_003"].best == before["trial_003"].best  # kept as it was
    assert after["trial_002"].status in ("completed", "stopped early")  # ran again
    assert "3 trials · " in out
