"""One Ray instance per test session, on loopback, shared by every test that tunes."""

import os
import sys
import tempfile
from pathlib import Path

import pytest

from tuner.raytune.session import loopback_only  # noqa: E402 - imports no ray

# Before anything imports ray: the test session's Ray (and the `tuner run` subprocesses, which
# inherit the setting) listen on 127.0.0.1 only.
loopback_only()

# Caches of the session's own, set before Ray starts (its workers inherit them): decoded image
# folders, and pretrained weights (the tests write the files they need; the user's ~/.cache is
# never read or written), with a weights mirror on a closed loopback port: nothing downloads.
_CACHES = Path(tempfile.mkdtemp(prefix="tuner-tests-"))
os.environ["TUNER_CACHE"] = str(_CACHES / "tuner")
os.environ["TORCH_HOME"] = str(_CACHES / "torch")
os.environ["TUNER_WEIGHTS_URL"] = "http://127.0.0.1:9/none"
# `tuner train` fits no off-the-shelf reference beside the model (seconds a training) except
# in the tests of the reference, which turn it on
os.environ["TUNER_REFERENCE"] = "off"

# A folder on the path of this process and of the session Ray's workers (which inherit the
# variable): a test writes a user module there (`user_modules` fixture) and runs it in-process,
# instead of a `tuner run` subprocess with its own Ray (seconds saved a test)
_MODULES = _CACHES / "modules"
_MODULES.mkdir()
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(_MODULES), os.environ.get("PYTHONPATH")) if p)
sys.path.insert(0, str(_MODULES))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# A local S3-compatible server for the storage tests (moto's, started on first use by the
# `s3_server` fixture): every process of the session, Ray's workers and the cluster tests'
# nodes included, reaches it through the usual variables, with dummy credentials.
# (set once: a test module importing tests.conftest runs this file a second time)
S3_ENDPOINT = os.environ.setdefault("TUNER_TEST_S3_ENDPOINT", f"http://127.0.0.1:{_free_port()}")
os.environ.update(AWS_ENDPOINT_URL=S3_ENDPOINT, AWS_ACCESS_KEY_ID="testing",
                  AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
                  AWS_EC2_METADATA_DISABLED="true")

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"


@pytest.fixture(scope="session")
def ray_session():
    from tuner.raytune.session import quiet_ray

    quiet_ray()
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


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto's S3 server on 127.0.0.1 for the session; skipped where moto is not installed."""
    import subprocess
    import time
    import urllib.error
    import urllib.request

    server = Path(sys.executable).parent / "moto_server"
    if not server.exists():
        pytest.skip("moto[server] is not installed (pip install 'moto[server]')")
    port = S3_ENDPOINT.rsplit(":", 1)[1]
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "w")
    proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", port], stdout=log,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(S3_ENDPOINT, timeout=1)
            break
        except urllib.error.HTTPError:  # it answers
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"moto_server did not start on {S3_ENDPOINT}")
            time.sleep(0.2)
    yield S3_ENDPOINT
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@pytest.fixture
def bucket(s3_server, request):
    """A new, empty bucket on the session's S3 server: its s3:// URI."""
    import re
    import secrets

    import boto3

    name = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:40].strip("-")
    name = f"{name}-{secrets.token_hex(3)}"
    boto3.client("s3").create_bucket(Bucket=name)
    return f"s3://{name}"


@pytest.fixture
def user_modules():
    """The folder whose modules this process and the session Ray's workers import: write a
    module under a name no other test uses (each process imports a name once)."""
    return _MODULES


@pytest.fixture
def tuner_cli(capsys):
    """Run `tuner ARGS` in-process; returns (exit code, stdout, stderr)."""
    from tuner.cli import main

    def run(*args):
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def chromium(tmp_path):
    """Headless Chromium (Debian's chromium and chromium-driver) through Selenium, kept off
    the network: no background requests, no component updates, a fresh profile. Its console
    messages are kept (`chromium.get_log("browser")`). Skipped, with the install command, on
    a machine without it; `.ci/run` installs it."""
    import shutil

    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip("headless Chromium is not installed: apt-get install chromium "
                    "chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver", reason="pip install selenium")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(arg)
    options.binary_location = browser
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    page = webdriver.Chrome(service=Service(driver), options=options)
    try:
        yield page
    finally:
        page.quit()


def write_experiment(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


sys.path.insert(0, str(ROOT))
os.environ.setdefault("TUNER_STORAGE", str(ROOT / ".pytest-results"))
