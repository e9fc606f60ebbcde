"""tuner on a real Ray cluster: two nodes joined by `tuner run --address`, a `tuner submit`
through the Jobs API with token authentication, and a node lost while its trial runs.

.venv/bin/python -m pytest tests/test_cluster.py -q        (or: -m cluster)

The cluster is real: `ray start --head` with the dashboard (the Jobs API) and `ray start
--address` for a second node, one CPU each, token authentication on. Ray 2.60 swaps 127.0.0.1
given as a node address for the machine's outward address, so the nodes take other loopback
addresses (127.0.0.2, 127.0.0.3) and nothing leaves 127.0.0.0/8. This pytest process has a local
Ray of its own, so every step is a `python -m tuner ...` subprocess, as a user types it.
`LocalCluster.stop` ends every process the cluster started, found by the session of each
`ray start` and by the cluster's token in their environment, never by name.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.cluster

HEAD_IP = "127.0.0.2"
NODE_IP = "127.0.0.3"
TINY = """
name = "tiny"
[data]
source = "digits"
[model]
factory = "mlp"
[space]
batch_size = 64
[search]
searcher = "random"
scheduler = "fifo"
metric = "accuracy"
samples = 4
max_epochs = 2
[resources]
cpu = 2
"""
# two trials of ~0.4 s epochs, so one is mid-run on each node when a node goes
NODE_LOSS = """
name = "node_loss"
[data]
source = "digits"
[model]
factory = "cnn"
[space]
batch_size = 16
conv_blocks = 2
filters = 64
optimizer = "adam"
lr = 0.001
[search]
searcher = "random"
scheduler = "fifo"
metric = "accuracy"
samples = 2
max_epochs = {epochs}
max_failures = 0
"""


def free_ports(n: int) -> list[int]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def clean_env(**extra: str) -> dict:
    """This environment less Ray's and Tune's variables (this session's local Ray sets some),
    with the venv first on PATH (as in a shell where it is active), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "TUNE_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def tuner(*args, cwd: Path, env: dict, timeout: float = 240) -> subprocess.CompletedProcess:
    """`python -m tuner ARGS` in `cwd`; its exit code, stdout and stderr."""
    return subprocess.run([sys.executable, "-m", "tuner", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


class LocalCluster:
    """A Ray cluster of one-CPU nodes on loopback addresses, each a `ray start --block` in its
    own session. Node death is noticed within about 2 s (the default is 15-30 s)."""

    def __init__(self, logs: Path, *, shared_temp: bool = False):
        self.logs = logs
        # shared_temp: every node in one temp dir, as `ray start` without --temp-dir gives
        # several nodes on one machine (the README's setup); else one temp dir per node
        self.shared_temp = shared_temp
        # short: Ray's socket paths below it must stay under 108 characters
        self.temp = Path(tempfile.mkdtemp(prefix="tuner-ray-"))
        self.token = secrets.token_hex(32)
        self.port, self.dashboard_port, client, m1, m2 = free_ports(5)
        self._client_port = client
        self.nodes: dict[str, subprocess.Popen] = {}
        self.ips: dict[str, str] = {}
        self.env = clean_env(
            RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=self.token,
            RAY_health_check_period_ms="500", RAY_health_check_timeout_ms="1000",
            RAY_health_check_failure_threshold="4", RAY_health_check_initial_delay_ms="0",
            AUTOSCALER_METRIC_PORT=str(m1), DASHBOARD_METRIC_PORT=str(m2),
        )

    @property
    def address(self) -> str:
        return f"{HEAD_IP}:{self.port}"

    @property
    def jobs_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def start(self) -> LocalCluster:
        self._start("head", HEAD_IP, [
            "--head", f"--port={self.port}", "--include-dashboard=true",
            "--dashboard-host=127.0.0.1", f"--dashboard-port={self.dashboard_port}",
            f"--ray-client-server-port={self._client_port}",
        ])
        return self

    def add_node(self, name: str, ip: str, *, hide: Path | None = None) -> None:
        """A node joining the cluster; `hide`: a folder this node sees empty (its own mount
        namespace, a tmpfs over it), as a machine that does not share the head's disk."""
        wrap = [] if hide is None else [
            "unshare", "--mount", "--propagation", "private", "sh", "-c",
            f'mount -t tmpfs tmpfs "{hide}" && exec "$@"', "sh"]
        self._start(name, ip, [f"--address={self.address}"], wrap)

    def remove_node(self, name: str) -> None:
        """Stop a node (SIGTERM: `ray start --block` stops its processes) and forget it."""
        proc = self.nodes.pop(name)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        self.ips.pop(name)

    def _start(self, name: str, ip: str, args: list[str], wrap: list[str] = ()) -> None:
        agent, grpc, metrics, runtime_env = free_ports(4)
        # workers' ports: 25 a node in a block of 100 per cluster, below the ephemeral range
        low = 20000 + (os.getpid() % 120) * 100 + (len(self.nodes) % 4) * 25
        cmd = [
            *wrap, str(Path(sys.executable).parent / "ray"), "start", "--block", "--num-cpus=1",
            f"--node-ip-address={ip}", "--disable-usage-stats", f"--temp-dir={self.temp if self.shared_temp else self.temp / name}",
            "--object-store-memory=200000000", f"--dashboard-agent-listen-port={agent}",
            f"--dashboard-agent-grpc-port={grpc}", f"--metrics-export-port={metrics}",
            f"--runtime-env-agent-port={runtime_env}", f"--min-worker-port={low}",
            f"--max-worker-port={low + 24}", *args,
        ]
        with open(self.logs / f"{name}.log", "w") as log:
            self.nodes[name] = subprocess.Popen(cmd, env=self.env, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)
        self.ips[name] = ip

    def alive(self) -> list[str]:
        """The addresses of the nodes the head sees alive, through the Jobs API's server."""
        import requests

        r = requests.get(f"{self.jobs_url}/api/v0/nodes?limit=100", timeout=10,
                         headers={"Authorization": f"Bearer {self.token}"})
        r.raise_for_status()
        rows = r.json()["data"]["result"]["result"]
        return sorted(n["node_ip"] for n in rows if n["state"] == "ALIVE")

    def wait_for(self, ips: list[str], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        seen: object = None
        while time.monotonic() < deadline:
            dead = [n for n, p in self.nodes.items() if p.poll() is not None]
            if dead and any(self.ips[n] in ips for n in dead):
                break
            try:
                seen = self.alive()
                if seen == sorted(ips):
                    return
            except Exception as e:  # the dashboard is still starting
                seen = e
            time.sleep(0.5)
        tails = {n: (self.logs / f"{n}.log").read_text()[-1500:] for n in self.nodes}
        raise RuntimeError(f"nodes {ips} not alive after {timeout} s (saw {seen!r}): {tails}")

    def _session(self, name: str) -> list[int]:
        return [pid for pid in _pids() if _sid(pid) == self.nodes[name].pid]

    def kill_raylet(self, name: str) -> int:
        """SIGKILL the node's raylet and its trial workers, as when its machine goes (`ray
        start --block` then ends the node's other processes; a worker left alone could
        outlive its raylet by seconds on a busy machine and finish its trial there). Returns
        the raylet's pid."""
        pids = self._session(name)
        raylet = next((p for p in pids if _read(f"/proc/{p}/comm").strip() == "raylet"), None)
        if raylet is None:
            raise RuntimeError(f"{name}: no raylet running")
        os.kill(raylet, signal.SIGKILL)
        for pid in pids:
            if _read(f"/proc/{pid}/comm").startswith("ray::"):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        return raylet

    def stop(self) -> None:
        for p in self.nodes.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)  # `ray start --block` stops its node on SIGTERM
        for p in self.nodes.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        sessions = {p.pid for p in self.nodes.values()}
        marker = f"RAY_AUTH_TOKEN={self.token}".encode()
        for pid in _pids():  # what is left: by session, or by this cluster's token
            if pid != os.getpid() and (_sid(pid) in sessions
                                       or marker in _read(f"/proc/{pid}/environ", binary=True)):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        shutil.rmtree(self.temp, ignore_errors=True)


def _pids() -> list[int]:
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def _sid(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except OSError:
        return None


def _read(path: str, binary: bool = False):
    try:
        with open(path, "rb" if binary else "r") as f:
            return f.read()
    except OSError:
        return b"" if binary else ""


def results(exp_dir: Path) -> dict[str, list[dict]]:
    """Every trial's reported results (one per epoch, in order), by trial name; read while the
    driver writes them, so a line it has not finished is left for the next read."""
    out = {}
    for f in sorted(exp_dir.glob("trial_*/result.json")):
        rows = []
        for line in _read(str(f)).splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                break
        out[f.parent.name] = [r for r in rows if "epoch" in r]
    return out


def lose_a_node(cluster: LocalCluster, node: str, workdir: Path, storage: Path, *,
                epochs: int = 15, max_failures: int = 2, at_epoch: int = 3) -> dict:
    """Tune a two-trial experiment on the cluster and kill `node`'s raylet once its trial has
    reported `at_epoch` epochs; wait for the run to end. What happened, as a dict: code, out,
    trial (the one on the lost node), killed_after (its last epoch reported before the kill),
    rows (that trial's (node address, epoch) per result), records (tuner's trial records)."""
    from tuner.store import load_records

    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "node_loss.toml").write_text(NODE_LOSS.format(epochs=epochs))
    exp_dir = storage / "node_loss"
    ip = cluster.ips[node]
    run = subprocess.Popen(
        [sys.executable, "-m", "tuner", "run", "node_loss.toml", "--address", cluster.address,
         "--storage", str(storage), "--max-failures", str(max_failures), "--overwrite"],
        # Ray Tune copies result.json (which this test watches) from the driver's staging
        # folder with its state, every 10 s or more: every second here, so the kill comes
        # while the trial runs (its 15 epochs take a few seconds)
        cwd=workdir, env=clean_env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=cluster.token,
                                   TUNE_GLOBAL_CHECKPOINT_S="1"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    trial = killed_after = None
    deadline = time.monotonic() + 240
    try:
        while run.poll() is None and trial is None and time.monotonic() < deadline:
            for name, rows in results(exp_dir).items():
                if rows and rows[-1]["node_ip"] == ip and rows[-1]["epoch"] >= at_epoch:
                    cluster.kill_raylet(node)
                    trial, killed_after = name, rows[-1]["epoch"]
                    break
            time.sleep(0.1)
        out, _ = run.communicate(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        run.kill()
        out, _ = run.communicate()
    rows = [(r["node_ip"], r["epoch"]) for r in results(exp_dir).get(trial, [])]
    return {"code": run.returncode, "out": out, "trial": trial, "killed_after": killed_after,
            "ip": ip, "rows": rows, "records": load_records(exp_dir) if exp_dir.exists() else [],
            "epochs": epochs}


def resumed_from_checkpoint(happened: dict) -> bool:
    """The lost trial went on elsewhere from its last checkpoint (never from epoch 1) to its last
    epoch. A worker outlives its raylet by a moment, so it may report an epoch or two after the
    kill; the epoch it goes on at follows the last one it reported, or repeats it."""
    rows, ip = happened["rows"], happened["ip"]
    moved = next((i for i, (node, _) in enumerate(rows) if node != ip), None)
    if not moved or any(node == ip for node, _ in rows[moved:]):
        return False
    before, after = [e for _, e in rows[:moved]], [e for _, e in rows[moved:]]
    return 1 < after[0] <= before[-1] + 1 and 1 not in after and after[-1] == happened["epochs"]


# ---------------------------------------------------------------- the cluster


def _loopback(ip: str) -> bool:
    try:
        with socket.socket() as s:
            s.bind((ip, 0))
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not all(map(_loopback, (HEAD_IP, NODE_IP))):  # Linux routes 127.0.0.0/8 to lo; others not
        pytest.skip(f"{HEAD_IP} and {NODE_IP} are not loopback addresses on this machine")
    # the README's setup: nodes on one machine share Ray's temp dir (no --temp-dir)
    c = LocalCluster(tmp_path_factory.mktemp("cluster-logs"), shared_temp=True)
    try:
        c.start()
        c.add_node("node", NODE_IP)
        c.wait_for([HEAD_IP, NODE_IP])
        yield c
    finally:
        c.stop()


@pytest.fixture
def home(tmp_path):
    """An empty home folder, so no ~/.ray/auth_token of this machine's user is read."""
    h = tmp_path / "home"
    h.mkdir()
    return h


# ---------------------------------------------------------------- tuner run --address


def test_run_joins_the_cluster_and_trials_land_on_both_nodes(cluster, tmp_path):
    (tmp_path / "tiny.toml").write_text(TINY)
    # the file asks 2 CPUs a trial, which no one-CPU node has; the flag makes it 1
    r = tuner("run", "tiny.toml", "--address", cluster.address, "--storage", tmp_path / "out",
              "--cpus-per-trial", "1", "--samples", "2", "--epochs", "3", cwd=tmp_path,
              env=clean_env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=cluster.token))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ray    2 trial(s) at a time, 1 CPU each" in r.stdout
    assert "done in" in r.stdout and "2 trials · 2 completed" in r.stdout
    trials = results(tmp_path / "out" / "tiny")
    assert [len(rows) for rows in trials.values()] == [3, 3]
    # one trial on each node, which each result names (node address, and the node id the
    # trial reports)
    assert sorted(",".join({row["node_ip"] for row in rows}) for rows in trials.values()) == [
        HEAD_IP, NODE_IP]
    assert len({row["node"] for rows in trials.values() for row in rows}) == 2


@pytest.mark.parametrize("auth, message", [
    ({}, "the cluster requires a token; set RAY_AUTH_MODE=token and put"),
    ({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "not-the-token"},
     "the cluster rejected the token from RAY_AUTH_TOKEN; put"),
])
def test_run_without_the_right_token_is_one_line(cluster, tmp_path, home, auth, message):
    (tmp_path / "tiny.toml").write_text(TINY)
    # one connection attempt instead of Ray's 20 (one a second)
    r = tuner("run", "tiny.toml", "--address", cluster.address, "--storage", tmp_path / "out",
              cwd=tmp_path,
              env=clean_env(HOME=str(home), RAY_gcs_server_port_wait_time_s="1", **auth))
    assert r.returncode == 2, r.stdout + r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last == (f"tuner: error: --address {cluster.address}: {message} the head's token "
                    f"(`ray get-auth-token` on the head prints it) in RAY_AUTH_TOKEN or in "
                    f"~/.ray/auth_token")
    assert "Traceback" not in r.stderr


# ---------------------------------------------------------------- tuner submit


def _user_project(root: Path) -> None:
    """An experiment on the user's own .npz with the user's own space module, as it would sit
    in a project folder: experiments/, data/, myspaces/."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 40)
    x = rng.normal(size=(120, 6)).astype(np.float32) + y[:, None]
    (root / "data").mkdir()
    np.savez(root / "data" / "points.npz", X=x, y=y)
    (root / "myspaces").mkdir()
    (root / "myspaces" / "__init__.py").write_text("")
    (root / "myspaces" / "small.py").write_text(
        "from searchspaces.mlp import space as mlp\n\n\n"
        "def space():\n"
        "    return mlp().override({'layers': 1, 'batch_size': 16}, where='myspaces.small')\n"
    )
    (root / "experiments").mkdir()
    (root / "experiments" / "points.toml").write_text(
        'name = "points"\n[data]\npath = "data/points.npz"\n[model]\nfactory = "mlp"\n'
        '[space]\nmodule = "myspaces.small"\n[search]\nsearcher = "random"\n'
        'scheduler = "fifo"\nmetric = "accuracy"\nsamples = 2\nmax_epochs = 2\n'
    )


@pytest.fixture(scope="module")
def submitted(cluster, tmp_path_factory):
    """`tuner submit --follow` of a user's project, with the token in RAY_AUTH_TOKEN."""
    root = tmp_path_factory.mktemp("project")
    _user_project(root)
    home = tmp_path_factory.mktemp("home")
    storage = tmp_path_factory.mktemp("shared") / "results"
    r = tuner("submit", "experiments/points.toml", "--address", cluster.jobs_url, "--storage",
              storage, "--follow", "--seed", "3", cwd=root,
              env=clean_env(HOME=str(home), RAY_AUTH_TOKEN=cluster.token))
    return r, storage, root, home


def test_submit_follows_the_job_to_success(submitted, cluster):
    r, storage, _, _ = submitted
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    job = out.split("submitted ", 1)[1].split()[0]
    assert job.startswith("raysubmit_")
    assert f" to {cluster.jobs_url}: points, " in out
    assert (f"  run    python -m tuner run experiments/points.toml --address auto --storage "
            f"{storage} --seed 3") in out
    # the job's own output streams back, then its outcome
    assert "tuner: points" in out and "2 trials · 2 completed" in out
    assert out.rstrip().endswith(f"job {job} succeeded")
    assert "Traceback" not in r.stderr and "INFO" not in r.stderr, r.stderr


def test_submitted_job_writes_results_to_storage(submitted):
    _, storage, _, _ = submitted
    trials = json.loads((storage / "points" / "trials.json").read_text())
    assert [t["status"] for t in trials] == ["completed", "completed"]
    # the user's space module travelled with the job: one layer, batches of 16
    assert all(t["config"]["layers"] == 1 and t["config"]["batch_size"] == 16 for t in trials)
    assert list((storage / "points").glob("trial_001/events.out.tfevents.*"))
    jobs = json.loads((storage / "jobs.json").read_text())
    assert [(j["experiment"], j["status"]) for j in jobs] == [("points", "SUCCEEDED")]


def test_status_lists_the_job_with_its_state_on_the_cluster(submitted, cluster, tmp_path):
    _, storage, root, home = submitted
    job = json.loads((storage / "jobs.json").read_text())[0]["job_id"]
    # the token from the file Ray reads by default
    (home / ".ray").mkdir(exist_ok=True)
    (home / ".ray" / "auth_token").write_text(cluster.token + "\n")
    r = tuner("status", "--storage", storage, cwd=root, env=clean_env(HOME=str(home)))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("points ")  # the experiments, as before
    assert f"\njobs submitted from here ({storage / 'jobs.json'}):\n" in r.stdout
    line = next(ln for ln in r.stdout.splitlines() if job in ln)
    assert line.split()[1:4] == ["points", "SUCCEEDED", cluster.jobs_url]
    # --jobs: only the jobs, the token from RAY_AUTH_TOKEN_PATH
    (tmp_path / "token").write_text(cluster.token)
    r = tuner("status", "--jobs", "--storage", storage, cwd=root,
              env=clean_env(HOME=str(tmp_path), RAY_AUTH_TOKEN_PATH=str(tmp_path / "token")))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("\njobs submitted from here") and "SUCCEEDED" in r.stdout


def test_submit_follow_exits_1_when_the_job_fails(cluster, tmp_path, home):
    # an absolute data path is not shipped: the cluster must have it, and here it has not
    (tmp_path / "gone.toml").write_text(
        '[data]\npath = "/nonexistent/points.npz"\n[model]\nfactory = "mlp"\n')
    r = tuner("submit", "gone.toml", "--address", cluster.jobs_url, "--storage", tmp_path / "out",
              "--follow", cwd=tmp_path, env=clean_env(HOME=str(home), RAY_AUTH_TOKEN=cluster.token))
    assert r.returncode == 1, r.stdout + r.stderr
    assert ("  note   [data] path /nonexistent/points.npz is absolute: not shipped, so it must "
            "exist at that path on the cluster (a shared filesystem)\n") in r.stdout
    # the job's tuner says why, then tuner submit says how the job ended
    assert "tuner: error: gone.toml: [data] path: /nonexistent/points.npz: no such file" in r.stdout
    last = r.stdout.rstrip().splitlines()[-1]
    assert last.startswith("job raysubmit_") and " failed: " in last
    jobs = json.loads((tmp_path / "out" / "jobs.json").read_text())
    assert [j["status"] for j in jobs] == ["FAILED"]


@pytest.mark.parametrize("token, message", [
    (None, "the cluster requires a token and none was found; put the head's token "
           "(`ray get-auth-token` on the head prints it) in RAY_AUTH_TOKEN or in "
           "~/.ray/auth_token"),
    ("not-the-token", "the cluster rejected the token from RAY_AUTH_TOKEN; put the head's token "
                      "(`ray get-auth-token` on the head prints it) in RAY_AUTH_TOKEN or in "
                      "~/.ray/auth_token"),
])
def test_submit_without_the_right_token_is_one_line(cluster, tmp_path, home, token, message):
    (tmp_path / "tiny.toml").write_text(TINY)
    env = clean_env(HOME=str(home), **({"RAY_AUTH_TOKEN": token} if token else {}))
    r = tuner("submit", "tiny.toml", "--address", cluster.jobs_url, "--storage",
              tmp_path / "out", cwd=tmp_path, env=env, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr == f"tuner: error: --address {cluster.jobs_url}: {message}\n"
    assert not (tmp_path / "out").exists()  # nothing submitted, nothing recorded


# ---------------------------------------------------------------- no cluster needed


def test_resource_flags_override_the_file(tmp_path):
    (tmp_path / "tiny.toml").write_text(TINY)
    r = tuner("run", "tiny.toml", "--dry-run", "--cpus-per-trial", "0.5", "--gpus-per-trial",
              "0.25", "--storage", tmp_path / "out", cwd=tmp_path, env=clean_env(), timeout=60)
    assert r.returncode == 0, r.stderr
    assert "  trials 0.5 CPU + 0.25 GPU each, device auto\n" in r.stdout
    r = tuner("run", "tiny.toml", "--dry-run", "--storage", tmp_path / "out", cwd=tmp_path,
              env=clean_env(), timeout=60)
    assert "  trials 2 CPU each, device auto\n" in r.stdout
    r = tuner("run", "tiny.toml", "--cpus-per-trial", "0", cwd=tmp_path, env=clean_env(),
              timeout=60)
    assert r.returncode == 2
    assert r.stderr == ("tuner: error: command line: --cpus-per-trial: must be between 0.01 and "
                        "1024, but got 0.0; CPUs per trial, e.g. 1\n")


@pytest.mark.parametrize("address", ["127.0.0.1:8265", "ray://127.0.0.1:10001", "auto"])
def test_submit_needs_an_http_address(tmp_path, address):
    (tmp_path / "tiny.toml").write_text(TINY)
    r = tuner("submit", "tiny.toml", "--address", address, cwd=tmp_path, env=clean_env(),
              timeout=60)
    assert r.returncode == 2
    assert r.stderr == (
        f"tuner: error: --address {address}: tuner submit talks to the Ray Jobs API over HTTP; "
        f"give the head's dashboard address, e.g. http://HEAD:8265 (a HOST:PORT or ray:// "
        f"address is for `tuner run --address` on a machine in the cluster)\n")


def test_submit_to_an_address_where_nothing_listens(tmp_path):
    (tmp_path / "tiny.toml").write_text(TINY)
    url = f"http://127.0.0.1:{free_ports(1)[0]}"
    r = tuner("submit", "tiny.toml", "--address", url, cwd=tmp_path, env=clean_env(), timeout=60)
    assert r.returncode == 2
    assert r.stderr == (
        f"tuner: error: --address {url}: cannot reach the Ray Jobs API (ConnectionError); check "
        f"the address and that the head runs the dashboard (ray start --head "
        f"--dashboard-host=... --dashboard-port=8265)\n")


def test_submit_keeps_data_paths_inside_the_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "x.npz").write_bytes(b"")
    (tmp_path / "sub" / "e.toml").write_text('[data]\npath = "../x.npz"\n[model]\nfactory = "mlp"\n')
    r = tuner("submit", "e.toml", "--address", "http://127.0.0.1:1", cwd=tmp_path / "sub",
              env=clean_env(), timeout=60)
    assert r.returncode == 2
    assert r.stderr == (
        "tuner: error: e.toml: [data] path: ../x.npz: lies outside the current directory, so the "
        "job cannot keep its relative path; run tuner submit from a folder that holds it, or "
        "give an absolute path on a shared filesystem\n")


def test_a_job_whose_trials_finished_succeeds_on_nodes_that_share_a_temp_dir(cluster, tmp_path,
                                                                              home):
    """The cluster's nodes share Ray's temp dir, as `ray start` without --temp-dir gives several
    nodes on one machine: the second node's agent deletes the job's unpacked working_dir (the
    driver's cwd) once its trials end, and the job failed in Ray Tune's closing steps after all
    its trials had finished."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "tiny.toml").write_text(TINY.replace("cpu = 2", "cpu = 1"))
    r = tuner("submit", "tiny.toml", "--address", cluster.jobs_url, "--storage",
              tmp_path / "results", "--follow", cwd=project,
              env=clean_env(HOME=str(home), RAY_AUTH_TOKEN=cluster.token))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "4 trials · 4 completed" in r.stdout and "best   trial_" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr
    nodes = {json.loads(line)["node_ip"] for f in (tmp_path / "results" / "tiny").glob(
        "trial_*/result.json") for line in f.read_text().splitlines()}
    assert nodes == {HEAD_IP, NODE_IP}  # trials ran on both nodes


# ---------------------------------------------------------------- a node without the head's disk

UNSHARED_IP = "127.0.0.4"


def _can_unshare(tmp: Path) -> str | None:
    """Why a node cannot get its own mount namespace here, or None when it can."""
    if os.geteuid() != 0:
        return "needs root for `unshare --mount` and a tmpfs mount"
    if shutil.which("unshare") is None:
        return "util-linux's unshare is not installed"
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                        f'mount -t tmpfs tmpfs "{tmp}"'], capture_output=True, text=True,
                       check=False)
    return None if r.returncode == 0 else f"unshare --mount failed here: {r.stderr.strip()}"


def test_a_node_without_the_heads_disk_is_refused_and_a_bucket_works(cluster, tmp_path,
                                                                    bucket):
    from tuner.store import load_records
    from tuner.store.storage import remote_storage

    shared = tmp_path / "results"  # the head's folder, which the third node sees empty
    shared.mkdir()
    why = _can_unshare(shared)
    if why or not _loopback(UNSHARED_IP):
        pytest.skip(why or f"{UNSHARED_IP} is not a loopback address on this machine")
    (tmp_path / "tiny.toml").write_text(TINY)
    env = clean_env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=cluster.token)
    cluster.add_node("unshared", UNSHARED_IP, hide=shared)
    try:
        cluster.wait_for([HEAD_IP, NODE_IP, UNSHARED_IP])
        started = time.monotonic()
        r = tuner("run", "tiny.toml", "--address", cluster.address, "--storage", shared,
                  "--cpus-per-trial", "1", cwd=tmp_path, env=env)
        took = time.monotonic() - started
        assert r.returncode == 2, r.stdout + r.stderr
        last = r.stderr.strip().splitlines()[-1]
        assert last.startswith(
            f"tuner: error: storage {shared / 'tiny'}: node {UNSHARED_IP} cannot use it: it "
            f"does not hold what the driver's machine wrote there (reading the marker failed: ")
        assert last.endswith("or a folder mounted at the same path on every node")
        assert took < 20, took
        assert not list((shared / "tiny").glob("trial_*"))  # nothing trained
        assert "Traceback" not in r.stderr

        storage = f"{bucket}/runs"
        r = tuner("run", "tiny.toml", "--address", cluster.address, "--storage", storage,
                  "--cpus-per-trial", "1", "--samples", "3", "--epochs", "2", cwd=tmp_path,
                  env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "3 trials · 3 completed" in r.stdout
        # read back from the bucket on a machine without the run's files (a new cache)
        fresh = clean_env(TUNER_CACHE=str(tmp_path / "elsewhere"))
        b = tuner("best", "tiny", "--storage", storage, cwd=tmp_path, env=fresh)
        assert b.returncode == 0 and 'trial = "trial_' in b.stdout, b.stderr
        t = tuner("train", "--from", "tiny", "--storage", storage, "--epochs", "1",
                  cwd=tmp_path, env=fresh)
        assert t.returncode == 0 and "test   accuracy" in t.stdout, t.stdout + t.stderr
        rp = tuner("report", "tiny", "--storage", storage, cwd=tmp_path, env=fresh)
        assert rp.returncode == 0, rp.stderr
        mirror = remote_storage(storage).mirror("tiny")
        records = load_records(mirror)
        assert {r.node for r in records} >= {UNSHARED_IP}  # the unshared node trained too
        remote = remote_storage(storage)
        from pyarrow.fs import FileSelector

        runs = {i.path.split("/")[-2] for i in remote.fs.get_file_info(
            FileSelector(remote.path("tiny"), recursive=True)) if "tfevents" in i.path
            and "/trial_" in i.path}
        assert runs == {r.trial for r in records}  # one TensorBoard run per trial
    finally:
        cluster.remove_node("unshared")
        cluster.wait_for([HEAD_IP, NODE_IP])


# ---------------------------------------------------------------- node lost (last: it kills one)


def test_a_lost_node_costs_no_trial(cluster, tmp_path):
    happened = lose_a_node(cluster, "node", tmp_path / "work", tmp_path / "out")
    assert happened["trial"], f"no trial reached epoch 3 on {NODE_IP}: {happened['out'][-3000:]}"
    assert happened["code"] == 0, happened["out"][-3000:]
    records = happened["records"]
    assert [(r.status, r.epochs) for r in records] == [("completed", 15)] * 2
    # the trial went on from its last checkpoint on the head, not from epoch 1
    assert resumed_from_checkpoint(happened), happened["rows"]
    assert "2 trials · 2 completed" in happened["out"]
