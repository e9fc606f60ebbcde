"""Reliability figures: driver kills and Ctrl-C survived, trials lost, and what a resume costs.

A soak: each round runs `tuner run` of a 12-trial digits CNN search (TPE + ASHA, ≤ 6 epochs),
stops its driver at a random moment (its process group SIGKILLed, some the instant a trial's
checkpoint appears; or SIGINT as Ctrl-C does), runs `tuner resume`, and checks the result: the 12 trials asked for, each finished once (one TensorBoard run, no epoch twice),
and every trial that had finished before the stop kept as it was. One uninterrupted run of
the same search gives the wall time a resume is compared with.

    python benchmarks/reliability.py [--kills 20] [--ctrl-c 4] [--seed 0] [--storage s3]

`--storage s3` runs the same soak against a bucket on a local S3-compatible server (moto's, on
127.0.0.1, dummy credentials); `--storage s3://bucket/path` against a bucket of yours. Each
round is then checked as another machine sees it: the experiment's files brought down from
the bucket into an empty cache.

Node losses on a two-node cluster: benchmarks/cluster_faults.py. Malformed inputs: the
hypothesis test tests/test_fuzz_inputs.py prints how many cases it tried.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psutil
from harness import ROOT, machine, run

from tuner.store import load_records

sys.path.insert(0, str(ROOT))
from tests.test_faults import EXPERIMENT, SAMPLES, check_complete  # noqa: E402

TUNER = [sys.executable, "-m", "tuner"]


def finished(exp: Path) -> dict:
    try:
        return {r.trial: r for r in load_records(exp) if r.status != "running"}
    except (OSError, ValueError):
        return {}


def checkpoints(exp: Path) -> set[str]:
    return {f"{p.parent.name}/{p.name}" for p in exp.glob("trial_*/checkpoint_*")}


def outcome(exp: Path, before: dict) -> dict:
    """What the resume left: complete and consistent (as tests/test_faults.py checks it),
    trials errored, trials lost (finished before the stop, missing or changed after) and
    duplicate TensorBoard runs (folders beyond one per trial, or an epoch drawn twice)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    records = {r.trial: r for r in load_records(exp)}
    lost = sum(1 for name, r in before.items()
               if name not in records or records[name].best != r.best)
    errored = sum(r.status == "errored" for r in records.values())
    runs = sorted(p.name for p in exp.glob("trial_*") if p.is_dir())
    extra = sorted(set(runs) - set(records))
    duplicates, seen = len(extra), [f"runs without a record: {extra}"] if extra else []
    for name in runs:
        acc = EventAccumulator(str(exp / name)).Reload()
        if "loss/val" in acc.Tags()["scalars"]:
            steps = [e.step for e in acc.Scalars("loss/val")]
            if len(steps) != len(set(steps)):
                duplicates += 1
                seen.append(f"{name} drew epochs {steps} ({records[name].status if name in records else 'no record'})")
    try:
        check_complete(exp)
        ok = True
    except AssertionError as e:
        ok = False
        seen.append(f"check: {' '.join(str(e).split())[:400]}")
    return {"ok": ok and not lost and not errored and not duplicates, "lost": lost,
            "errored": errored, "duplicates": duplicates, "seen": seen}


def stop_driver(proc: subprocess.Popen, sig: int, before: set[int]) -> None:
    """SIGKILL the driver's whole process group (what a closed laptop does), then the Ray
    processes it started that outlive it; or SIGINT the driver alone, as Ctrl-C does."""
    if sig == signal.SIGINT:
        proc.send_signal(sig)
        proc.wait()
        return
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)
    for p in psutil.process_iter(["pid", "name", "cmdline"]):
        if p.info["pid"] in before:
            continue
        words = " ".join(p.info["cmdline"] or []) + " " + (p.info["name"] or "")
        if "ray" in words and "reliability.py" not in words:
            try:
                p.kill()
            except psutil.Error:
                pass


class Where:
    """The soak's storage: a local folder, or a bucket (`remote`) whose runs are watched in
    the driver's mirror (`folder`) and checked in a fresh copy brought down from it."""

    def __init__(self, tmp: Path, storage: str | None, env: dict):
        self.tmp, self.remote = tmp, None
        self.storage = storage or str(tmp / "results")
        if storage:
            from tuner.store.storage import remote_storage

            os.environ["TUNER_CACHE"] = str(tmp / "checked")  # this process: a fresh view
            self.remote = remote_storage(storage)
            self.mirrors = Path(env["TUNER_CACHE"])

    def folder(self, name: str) -> Path:
        """Where the driver's files appear as it runs."""
        if self.remote is None:
            return self.tmp / "results" / name
        return self.mirrors.joinpath("storage", *self.remote.mirror().relative_to(
            self.tmp / "checked" / "storage").parts, name)

    def checkpoints(self, name: str) -> set[str]:
        if self.remote is None:
            return checkpoints(self.folder(name))
        from pyarrow.fs import FileSelector

        infos = self.remote.fs.get_file_info(FileSelector(self.remote.path(name),
                                                          recursive=True, allow_not_found=True))
        return {"/".join(i.path.split("/")[-3:-1]) for i in infos
                if i.path.endswith("/trial.pt")}

    def checked(self, name: str) -> Path:
        """The experiment's files as the storage holds them."""
        return self.folder(name) if self.remote is None else self.remote.pull(name)


def interrupted_round(where: Where, name: str, sig: int, env: dict, trigger: str,
                      rng: random.Random) -> dict:
    """One run stopped at a random moment, then `tuner resume`. trigger: "time" (a random
    moment after the first result), "checkpoint" (the instant the k-th checkpoint appears,
    k random) or "half" (once half the trials finished)."""
    f = where.tmp / f"{name}.toml"
    f.write_text(EXPERIMENT.format(name=name, samples=SAMPLES, max_epochs=6, seed=rng.randrange(100)))
    exp = where.folder(name)
    pids = set(psutil.pids())
    start = time.perf_counter()
    proc = subprocess.Popen([*TUNER, "run", str(f), "--storage", where.storage],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    at_checkpoint = rng.randint(3, 24)  # a 12-trial ASHA search writes about 30
    at_time, seen = None, set()
    while proc.poll() is None:
        if trigger == "checkpoint":  # the instant the k-th checkpoint of the run appears
            seen |= where.checkpoints(name)
            if len(seen) >= at_checkpoint:
                break
            time.sleep(0.002 if where.remote is None else 0.05)
            continue
        if trigger == "half" and len(finished(exp)) >= SAMPLES // 2:
            break
        if trigger == "time":
            if at_time is None and any(exp.glob("trial_*/events.out.tfevents.*")):
                at_time = time.perf_counter() + rng.uniform(0, 8)
            if at_time is not None and time.perf_counter() >= at_time:
                break
        time.sleep(0.05)
    before = finished(exp)
    ended_first = proc.poll() is not None
    if not ended_first:
        stop_driver(proc, sig, pids)
    stopped = time.perf_counter() - start
    resume_wall = 0.0
    if not ended_first:
        resume_wall, _ = run([*TUNER, "resume", name, "--storage", where.storage], env)
    return {**outcome(where.checked(name), before), "wall": stopped + resume_wall,
            "resume": resume_wall,
            "kept": len(before), "code": proc.returncode, "ran_out": ended_first}


def summary(label: str, rounds: list[dict], plain: float) -> str:
    tried = [r for r in rounds if not r["ran_out"]]
    return (f"{label}: survived {sum(r['ok'] for r in tried)}/{len(tried)} rounds, trials "
            f"errored {sum(r['errored'] for r in tried)}, lost {sum(r['lost'] for r in tried)} "
            f"(of {sum(r['kept'] for r in tried)} finished before the stops), duplicate "
            f"TensorBoard runs {sum(r['duplicates'] for r in tried)}; exit codes "
            f"{sorted({r['code'] for r in tried})}; run + resume "
            f"{sum(r['wall'] for r in tried) / max(1, len(tried)) / plain:.2f}× one "
            f"uninterrupted run (resume alone {min(r['resume'] for r in tried or rounds):.1f}-"
            f"{max(r['resume'] for r in tried or rounds):.1f} s)"
            + (f"; {len(rounds) - len(tried)} run(s) finished before the stop came" if
               len(tried) < len(rounds) else ""))


@contextmanager
def s3_server(storage: str | None):
    """`--storage s3`: moto's S3 server on a free loopback port for the soak, with dummy
    credentials and a bucket; its URI. Any other value is used as it is."""
    if storage != "s3":
        yield storage
        return
    import socket
    import urllib.error
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    os.environ.update(AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="soak",
                      AWS_SECRET_ACCESS_KEY="soak", AWS_DEFAULT_REGION="us-east-1",
                      AWS_EC2_METADATA_DISABLED="true")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H",
                             "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}", timeout=1)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.2)
        import boto3

        boto3.client("s3").create_bucket(Bucket="soak")
        yield "s3://soak/runs"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=20, help="SIGKILL rounds (default 20)")
    ap.add_argument("--ctrl-c", type=int, default=4, help="Ctrl-C rounds (default 4)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--storage", help="s3 (a local S3-compatible server) or a URI; default: "
                                      "a local folder")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    print(f"{machine()}; {SAMPLES} trials × ≤6 epochs, digits CNN, TPE + ASHA; the driver's "
          f"process group SIGKILLed at random moments (a third the instant a checkpoint "
          f"appears, a third at a random time, a third once {SAMPLES // 2} trials finished), "
          f"then `tuner resume`; and Ctrl-C rounds")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryDirectory() as tmp, s3_server(args.storage) as storage:
        tmp = Path(tmp)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TUNER_CACHE": str(tmp / "cache")}
        where = Where(tmp, storage, env)
        print(f"storage: {where.storage}", flush=True)
        (tmp / "plain.toml").write_text(EXPERIMENT.format(name="plain", samples=SAMPLES,
                                                          max_epochs=6, seed=0))
        plain, _ = run([*TUNER, "run", str(tmp / "plain.toml"), "--storage", where.storage],
                       env)
        print(f"uninterrupted run: {plain:.1f} s wall", flush=True)
        triggers = ("checkpoint", "time", "half")
        kills, i = [], 0
        # a run that ends before its stop comes is no round: go on until `kills` were stopped
        while sum(not r["ran_out"] for r in kills) < args.kills and i < 2 * args.kills:
            r = interrupted_round(where, f"kill{i}", signal.SIGKILL, env, triggers[i % 3], rng)
            kills.append(r)
            i += 1
            print(f"  kill {i:>2} ({triggers[(i - 1) % 3]:<10}): "
                  f"{'ran out first' if r['ran_out'] else 'survived' if r['ok'] else 'FAILED'}"
                  f", {r['kept']} finished before, errored {r['errored']}, lost {r['lost']}, "
                  f"duplicates {r['duplicates']}{''.join(f'; {s}' for s in r['seen'])}",
                  flush=True)
        ctrl_c = [interrupted_round(where, f"ctrlc{i}", signal.SIGINT, env, triggers[i % 3], rng)
                  for i in range(args.ctrl_c)]
        print(summary("driver SIGKILL", kills, plain))
        print(summary("Ctrl-C", ctrl_c, plain))


if __name__ == "__main__":
    main()
