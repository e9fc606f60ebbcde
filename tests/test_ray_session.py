"""The driver session's guards, without Ray."""

import os
import shutil

import pytest

from tuner.raytune.session import SteadyWorkingDir


@pytest.fixture
def back_home():
    home = os.getcwd()
    yield
    os.chdir(home)


def test_a_working_directory_deleted_under_the_search_does_not_fail_it(tmp_path, back_home):
    exp, gone = tmp_path / "exp", tmp_path / "job"
    exp.mkdir()
    gone.mkdir()
    os.chdir(gone)
    with SteadyWorkingDir(exp):
        shutil.rmtree(gone)  # Ray's agent of another node, garbage-collecting the job's files
        os.path.relpath("a/b", start="a")  # what Ray Tune's closing steps call
    assert os.getcwd() == str(exp)


def test_a_ray_job_driver_leaves_its_unpacked_working_dir_before_the_search(tmp_path,
                                                                            back_home):
    exp, job = tmp_path / "exp", tmp_path / "runtime_resources" / "working_dir_files" / "pkg"
    exp.mkdir()
    job.mkdir(parents=True)
    os.chdir(job)
    with SteadyWorkingDir(exp):
        assert os.getcwd() == str(exp)


def test_other_missing_files_are_still_errors(tmp_path, back_home):
    os.chdir(tmp_path)
    with pytest.raises(FileNotFoundError), SteadyWorkingDir(tmp_path):
        open(tmp_path / "nothing here")  # noqa: SIM115
    assert os.getcwd() == str(tmp_path)  # an ordinary run keeps the user's directory
