"""A search whose storage is a bucket (s3:// on a local S3-compatible server, moto's): Ray Tune
writes checkpoints there, tuner's records, TensorBoard runs and final training follow, and every
verb reads them back from the bucket, from a machine holding none of the files."""

import json
import shutil
import signal
import time
import urllib.request

import pytest

from tests.test_faults import EXPERIMENT, _kill_orphans, _start_and_wait, _tuner
from tuner.store import load_records

SAMPLES = 6


@pytest.fixture
def killed_and_resumed(bucket, tmp_path, ray_session, tuner_cli):
    """A search on s3://, its driver SIGKILLed after two trials, resumed; (storage URI,
    Remote, the experiment's mirror, resume's output)."""
    import psutil

    from tuner.store.storage import remote_storage

    storage = f"{bucket}/runs"
    # FIFO: every trial runs the 3 epochs, so `tuner report` always has trials to compare
    # (ASHA with a grace period of 1 once left a single finished trial)
    (tmp_path / "s3.toml").write_text(EXPERIMENT.format(
        name="s3", samples=SAMPLES, max_epochs=3, seed=5).replace(
        "[search]", '[search]\nscheduler = "fifo"'))
    remote = remote_storage(storage)
    mirror = remote.mirror("s3")
    before = set(psutil.pids())
    proc = _start_and_wait(_tuner("run", tmp_path / "s3.toml", "--storage", storage), mirror, 2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    _kill_orphans(before)
    assert remote.has_experiment("s3")
    code, out, err = tuner_cli("resume", "s3", "--storage", storage)
    assert code == 0, out + err
    return storage, remote, mirror, out


def test_a_search_on_s3_survives_its_driver_and_every_verb_reads_the_bucket(  # noqa: PLR0915
        killed_and_resumed, tmp_path, tuner_cli):
    from pyarrow.fs import FileSelector, FileType

    storage, remote, mirror, resumed = killed_and_resumed
    assert f"{SAMPLES} trials" in resumed and "errored" in resumed
    assert " 0 errored" in resumed
    assert f"tuner board s3 --storage {storage}" in resumed
    shutil.rmtree(mirror)  # another machine: nothing of the search on its disk

    code, out, _ = tuner_cli("status", "s3", "--storage", storage)
    assert code == 0 and f"{SAMPLES}/{SAMPLES} trials" in out
    records = load_records(mirror)
    assert [r.trial for r in records] == [f"trial_{i:03d}" for i in range(1, SAMPLES + 1)], \
        resumed
    assert all(r.status in ("completed", "stopped early", "diverged") for r in records)
    # one TensorBoard run per trial in the bucket, no duplicate, and checkpoints stay there
    files = [i.path for i in remote.fs.get_file_info(
        FileSelector(remote.path("s3"), recursive=True)) if i.type == FileType.File]
    runs = {p.split("/")[-2] for p in files if "tfevents" in p and "/trial_" in p}
    assert runs == {r.trial for r in records}
    assert any("/checkpoint_" in p for p in files)
    assert not list(mirror.rglob("checkpoint_*"))

    code, out, _ = tuner_cli("best", "s3", "--storage", storage)
    best = min(records, key=lambda r: r.best.get("val_loss", float("inf")))
    assert code == 0 and f'trial = "{best.trial}"' in out
    code, out, _ = tuner_cli("results", "s3", "--storage", storage, "-o", tmp_path / "t.csv")
    assert code == 0 and len((tmp_path / "t.csv").read_text().splitlines()) == SAMPLES + 1
    code, out, err = tuner_cli("report", "s3", "--storage", storage)
    assert code == 0, err
    assert remote.fs.get_file_info(remote.path("s3", "report", "report.html")).type \
        == FileType.File
    code, out, err = tuner_cli("train", "--from", "s3", "--storage", storage)
    assert code == 0, err
    assert f"and to {storage}/s3/final/" in out
    metrics = remote.fs.open_input_stream(remote.path("s3", "final", "metrics.json")).read()
    assert json.loads(metrics)["test_accuracy"] > 0.5

    # a later search warm-started from the bucket's trials
    (tmp_path / "again.toml").write_text(EXPERIMENT.format(name="again", samples=2,
                                                           max_epochs=1, seed=6))
    code, out, err = tuner_cli("run", tmp_path / "again.toml", "--storage", storage,
                               "--warm-start", "s3", "--top", "3")
    assert code == 0, out + err
    assert "  warm   reused 3 of the 3 best trials of " in out

    # TensorBoard serves the bucket's runs from a local copy it keeps up to date
    import tuner

    shutil.rmtree(mirror)
    board = tuner.board("s3", storage=storage, port=6173)
    try:
        assert board.logdir == mirror
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(board.url + "data/runs", timeout=5) as page:
                    runs = json.loads(page.read())
                if sum(r.startswith("trial_") for r in runs) == SAMPLES:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "TensorBoard did not list the runs in 60 s"
            time.sleep(0.5)
    finally:
        board.stop()


def test_a_taken_name_in_the_bucket_and_a_submit_keep_the_uri(bucket, tmp_path, tuner_cli):
    from tuner.jobs.package import entrypoint

    storage = f"{bucket}/runs"
    (tmp_path / "one.toml").write_text(EXPERIMENT.format(name="one", samples=1, max_epochs=1,
                                                         seed=1))
    code, out, err = tuner_cli("run", tmp_path / "one.toml", "--storage", storage)
    assert code == 0, out + err
    code, out, err = tuner_cli("run", tmp_path / "one.toml", "--storage", storage)
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        f"tuner: error: {storage}/one: an experiment named 'one' already exists; continue it "
        f"with `tuner resume one --storage {storage}`, start another with --name NEW_NAME, or "
        f"replace it with --overwrite")
    assert "--storage s3://b/r" in entrypoint(tmp_path / "one.toml", "s3://b/r", [])


def test_the_files_storage_key_is_used_unless_a_flag_names_another(bucket, tmp_path,
                                                                 tuner_cli):
    text = EXPERIMENT.format(name="keyed", samples=1, max_epochs=1, seed=1)
    (tmp_path / "keyed.toml").write_text(f'storage = "{bucket}/from-file"\n{text}')
    code, out, err = tuner_cli("run", tmp_path / "keyed.toml", "--dry-run")
    assert code == 0, err
    assert f"  output {bucket}/from-file/keyed (local copy: " in out
    code, out, err = tuner_cli("run", tmp_path / "keyed.toml", "--dry-run", "--storage",
                               tmp_path / "flag")
    assert f"  output {tmp_path / 'flag' / 'keyed'}" in out
    (tmp_path / "bad.toml").write_text(f"storage = 3\n{text}")
    code, out, err = tuner_cli("run", tmp_path / "bad.toml")
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        f'tuner: error: {tmp_path / "bad.toml"}: storage: must be a folder path or a URI such '
        f'as "s3://bucket/path", but got 3')
