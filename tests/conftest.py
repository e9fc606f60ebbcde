"""One Ray instance per test session, on loopback, shared by every test that tunes."""

import os
import sys
from pathlib import Path

import pytest

from tuner.driver import loopback_only  # noqa: E402 - imports no ray

# Before anything imports ray: the test session's Ray (and the `tuner run` subprocesses, which
# inherit the setting) listen on 127.0.0.1 only.
loopback_only()

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"


@pytest.fixture(scope="session")
def ray_session():
    from tuner.driver import _quiet_ray

    _quiet_ray()
    import ray

    if not ray.is_initialized():
        ray.init(
            num_cpus=2,
            _node_ip_address="127.0.0.1",
            include_dashboard=False,
            log_to_driver=False,
            logging_level="ERROR",
        )
    yield ray
    ray.shutdown()


@pytest.fixture
def tuner_cli(capsys):
    """Run `tuner ARGS` in-process; returns (exit code, stdout, stderr)."""
    from tuner.cli import main

    def run(*args):
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def write_experiment(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


sys.path.insert(0, str(ROOT))
os.environ.setdefault("TUNER_STORAGE", str(ROOT / ".pytest-results"))
