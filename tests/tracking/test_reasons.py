"""A failed trial's reason: the whole exception (Ray's cluster errors span lines), shortened on
the closing lines only, and cluster causes named there with their fix."""

from tuner.console import cluster_causes, shortened
from tuner.store import TrialRecord
from tuner.tracking.callback import last_exception
from tuner.vocabulary import Status

RAY_TRACE = """Failure # 1 (occurred at 2026-12-03_20-11-02)
ray::ImplicitFunc.train() (pid=123, ip=127.0.0.3, actor_id=ab)
  File "/x/ray/tune/trainable/trainable.py", line 331, in train
    raise skipped from exception_cause(skipped)
  File "/x/ray/train/_internal/storage.py", line 520, in _check_validation_file
    raise RuntimeError(
RuntimeError: Unable to set up cluster storage with the following settings:
StorageContext<
  storage_filesystem='local',
  storage_fs_path='/data/results',
>
Check that all nodes in the cluster have read/write access to the configured storage path.
"""


def test_the_last_exception_is_kept_whole_with_its_message_lines():
    reason = last_exception(RAY_TRACE)
    assert reason.startswith("RuntimeError: Unable to set up cluster storage with the "
                             "following settings:\nStorageContext<")
    assert reason.endswith("read/write access to the configured storage path.")
    assert last_exception("Traceback (most recent call last):\n  File x\nValueError: bad lr\n"
                          ) == "ValueError: bad lr"
    assert last_exception("something odd\n\n") == "something odd"


def test_closing_lines_shorten_a_reason_and_name_cluster_causes_with_their_nodes():
    long = last_exception(RAY_TRACE)
    one = shortened(long, 80)
    assert "\n" not in one and len(one) == 80 and one.endswith("…")
    records = [TrialRecord("trial_001", "a", {}, Status.ERRORED, long, node="127.0.0.3"),
               TrialRecord("trial_002", "b", {}, Status.ERRORED,
                           "ModuleNotFoundError: No module named 'mypkg'", node="127.0.0.4"),
               TrialRecord("trial_003", "c", {}, Status.ERRORED, "ValueError: bad lr")]
    lines = cluster_causes(records)
    assert lines == [
        "cluster: 1 trial(s) failed because of the storage on node 127.0.0.3, not the model; "
        "give every node the same storage: a cloud URI (--storage s3://bucket/path) or a folder "
        "mounted at the same path on every node",
        "cluster: 1 trial(s) failed because of a missing module on node 127.0.0.4, not the "
        "model; install the same packages on every node, or ship your project with `tuner "
        "submit` (Ray's working_dir)"]


def test_a_record_keeps_the_node_of_its_last_result():
    r = TrialRecord("trial_001", "a", {})
    r.update({"epoch": 1, "val_loss": 1.0, "node_ip": "127.0.0.3"}, "val_loss")
    assert r.node == "127.0.0.3"
    assert TrialRecord.from_dict(r.to_dict()).node == "127.0.0.3"
