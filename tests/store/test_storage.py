"""The storage root: a folder path, never a cloud URI taken for a local folder name."""

import pytest


@pytest.mark.parametrize("uri", ["s3://bucket/results", "gs://b/r", "abfs://c@a/r"])
def test_a_cloud_uri_is_refused_in_one_line_not_made_a_local_folder(uri, tmp_path,
                                                                   monkeypatch):
    from tuner.errors import UserError
    from tuner.store import storage_root

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TUNER_STORAGE", raising=False)
    scheme = uri.split(":")[0]
    with pytest.raises(UserError) as e:
        storage_root(uri)
    assert str(e.value).startswith(f"--storage {uri}: tuner reads and writes results through a "
                                   f"folder path; {scheme}:// storage is not supported yet")
    monkeypatch.setenv("TUNER_STORAGE", uri)
    with pytest.raises(UserError) as e:
        storage_root(None)
    assert str(e.value).startswith(f"$TUNER_STORAGE {uri}: ")
    assert list(tmp_path.iterdir()) == []  # no ./s3: folder
    assert storage_root(f"file://{tmp_path}/r") == tmp_path / "r"


def test_a_filesystem_object_from_python_is_one_line():
    from pyarrow import fs

    from tuner.errors import UserError
    from tuner.store import storage_root

    with pytest.raises(UserError) as e:
        storage_root(fs.LocalFileSystem())
    assert str(e.value) == ("storage: must be a folder path (a str or pathlib.Path), but got a "
                            "LocalFileSystem; filesystem objects are not supported yet: mount "
                            "the storage as a folder and give its path")
