"""The storage root: a folder, a URI (s3://, gs://, ...) or a filesystem object; a URI tuner
cannot use is one line before anything starts, never a local folder named after its scheme.
A URI's experiments are read through a local mirror: what is pushed comes back whole, and
checkpoints stay in the storage."""

import os
import subprocess
import sys

import pytest

from tests.conftest import EXPERIMENTS


def _cli(*args, cwd, **env):
    return subprocess.run([sys.executable, "-m", "tuner", *map(str, args)], cwd=cwd,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.mark.parametrize("uri, said", [
    ("foo://bucket/results", "foo:// is not a storage pyarrow or fsspec knows"),
    ("memoryx://b/r", "memoryx:// is not a storage pyarrow or fsspec knows"),
])
def test_an_unknown_scheme_is_one_line_and_no_local_folder(uri, said, tmp_path, monkeypatch):
    from tuner.errors import UserError
    from tuner.store import storage_root

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TUNER_STORAGE", raising=False)
    with pytest.raises(UserError) as e:
        storage_root(uri)
    assert str(e.value).startswith(f"--storage {uri}: {said}")
    assert str(e.value).endswith("or a folder mounted at the same path on every node")
    monkeypatch.setenv("TUNER_STORAGE", uri)
    with pytest.raises(UserError) as e:
        storage_root(None)
    assert str(e.value).startswith(f"$TUNER_STORAGE {uri}: ")
    assert list(tmp_path.iterdir()) == []  # no ./foo: folder
    assert storage_root(f"file://{tmp_path}/r") == tmp_path / "r"


def test_a_missing_bucket_is_refused_before_ray_starts(s3_server, tmp_path):
    toml = EXPERIMENTS / "digits_mlp.toml"
    r = _cli("run", toml, "--storage", "s3://no-such-bucket/runs", "--samples", "1",
             cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        "tuner: error: --storage s3://no-such-bucket/runs: cannot write a file there: Bucket "
        "'no-such-bucket' not found; create the bucket first, or fix its name")
    assert "ray " not in r.stdout  # nothing started
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_storage_is_one_line_in_the_time_given(tmp_path):
    # a closed loopback port: the client retries; the check gives up and says so
    r = _cli("status", "--storage", "s3://b/r", cwd=tmp_path,
             AWS_ENDPOINT_URL="http://127.0.0.1:9", TUNER_STORAGE_TIMEOUT_S="2")
    assert r.returncode == 2
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("tuner: error: --storage s3://b/r: ")
    assert ("no answer from the storage in 2 s" in last or "cannot write a file there" in last)


def test_a_filesystem_object_is_a_storage_and_a_wrong_object_is_one_line(bucket, tmp_path):
    from pyarrow import fs

    from tuner.errors import UserError
    from tuner.store import storage_root

    s3, root = fs.FileSystem.from_uri(bucket + "/py")
    assert storage_root((s3, root)).parts[-3:] == ("s3", root.split("/")[0], "py")
    local = storage_root((fs.LocalFileSystem(), str(tmp_path / "objs")))
    assert local.parts[-2:] == (tmp_path.name, "objs")
    with pytest.raises(UserError) as e:
        storage_root(42)
    assert str(e.value) == (
        "storage: a int is not a filesystem tuner can use; give a folder path, a URI "
        "(s3://bucket/path), a pyarrow.fs.FileSystem or an fsspec filesystem, alone or as "
        "(filesystem, 'bucket/path')")


def test_a_mirror_pushed_and_pulled_comes_back_whole_without_checkpoints(bucket, tmp_path):
    import shutil

    from pyarrow import fs

    from tuner.store.remote import Remote

    remote = Remote.of(bucket + "/runs")
    here = remote.mirror("exp")
    (here / "trial_001" / "checkpoint_000001").mkdir(parents=True)
    (here / "trial_001" / "checkpoint_000001" / "trial.pt").write_bytes(b"weights" * 1000)
    (here / "trial_001" / "events.out.tfevents.1").write_bytes(b"curve")
    (here / "trials.json").write_text("[]\n")
    assert remote.push(here, "exp") == 3
    assert remote.push(here, "exp") == 0  # nothing changed: nothing goes
    (here / "trials.json").write_text("[1]\n")
    assert remote.push(here, "exp") == 1
    s3 = remote.fs
    assert s3.get_file_info(remote.path("exp", "trial_001/checkpoint_000001/trial.pt")).size \
        == 7000
    shutil.rmtree(here)  # the mirror is a cache
    back = remote.pull("exp")
    assert back == here
    files = sorted(p.relative_to(here).as_posix() for p in here.rglob("*") if p.is_file())
    assert files == [".tuner-sync.json", "trial_001/events.out.tfevents.1", "trials.json"]
    assert (here / "trials.json").read_text() == "[1]\n"
    # a file changed here and not there is kept; a file gone there goes here
    (here / "trials.json").write_text("[1, 2]\n")
    s3.delete_file(remote.path("exp", "trial_001/events.out.tfevents.1"))
    remote.pull("exp")
    assert (here / "trials.json").read_text() == "[1, 2]\n"
    assert not (here / "trial_001" / "events.out.tfevents.1").exists()
    assert isinstance(s3, fs.S3FileSystem)
