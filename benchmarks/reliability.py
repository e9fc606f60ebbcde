"""Reliability figures: driver kills and Ctrl-C survived, trials lost, and what a resume costs.

Each round runs `tuner run` of a 12-trial digits CNN search (TPE + ASHA, ≤ 6 epochs), stops
its driver halfway (SIGKILL, or SIGINT as Ctrl-C does), runs `tuner resume`, and checks the
result: the 12 trials asked for, each finished once (one TensorBoard run, no epoch twice),
and every trial that had finished before the stop kept as it was. One uninterrupted run of
the same search gives the wall time a resume is compared with.

    python benchmarks/reliability.py [--rounds 3]

Node losses on a two-node cluster: benchmarks/cluster_faults.py. Malformed inputs: the
hypothesis test tests/test_fuzz_inputs.py prints how many cases it tried.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import ROOT, machine, run

from tuner.results import load_records

sys.path.insert(0, str(ROOT))
from tests.test_faults import EXPERIMENT, SAMPLES, check_complete  # noqa: E402

TUNER = [sys.executable, "-m", "tuner"]


def finished(exp: Path) -> dict:
    try:
        return {r.trial: r for r in load_records(exp) if r.status != "running"}
    except (OSError, ValueError):
        return {}


def check(exp: Path, before: dict) -> tuple[bool, int]:
    """(complete and consistent, as tests/test_faults.py checks it; trials lost) after the
    resume."""
    records = {r.trial: r for r in load_records(exp)}
    lost = sum(1 for name, r in before.items()
               if name not in records or records[name].best != r.best)
    try:
        check_complete(exp)
    except AssertionError:
        return False, lost
    return True, lost


def interrupted_round(tmp: Path, name: str, sig: int, env: dict) -> dict:
    f = tmp / f"{name}.toml"
    f.write_text(EXPERIMENT.format(name=name, samples=SAMPLES, max_epochs=6, seed=0))
    exp = tmp / "results" / name
    start = time.perf_counter()
    proc = subprocess.Popen([*TUNER, "run", str(f), "--storage", str(tmp / "results")],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    while len(finished(exp)) < SAMPLES // 2 and proc.poll() is None:
        time.sleep(0.2)
    before = finished(exp)
    proc.send_signal(sig)
    proc.wait()
    stopped = time.perf_counter() - start
    resume_wall, _ = run([*TUNER, "resume", str(exp)], env)
    ok, lost = check(exp, before)
    return {"ok": ok, "lost": lost, "wall": stopped + resume_wall, "resume": resume_wall,
            "kept": len(before), "code": proc.returncode}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print(f"{machine()}; {SAMPLES} trials × ≤6 epochs, digits CNN, TPE + ASHA, "
          f"driver stopped once {SAMPLES // 2} trials had finished")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "plain.toml").write_text(EXPERIMENT.format(name="plain", samples=SAMPLES,
                                                          max_epochs=6, seed=0))
        plain, _ = run([*TUNER, "run", str(tmp / "plain.toml"), "--storage",
                        str(tmp / "results")], env)
        print(f"uninterrupted run: {plain:.1f} s wall")
        for label, sig in (("driver SIGKILL", signal.SIGKILL), ("Ctrl-C", signal.SIGINT)):
            rounds = [interrupted_round(tmp, f"{label.split()[-1].lower()}{i}", sig, env)
                      for i in range(args.rounds)]
            survived = sum(r["ok"] for r in rounds)
            lost = sum(r["lost"] for r in rounds)
            walls = ", ".join(f"{r['wall']:.1f}" for r in rounds)
            resumes = ", ".join(f"{r['resume']:.1f}" for r in rounds)
            print(f"{label}: survived {survived}/{len(rounds)}, trials lost {lost} (of "
                  f"{sum(r['kept'] for r in rounds)} finished before the stop), exit codes "
                  f"{sorted({r['code'] for r in rounds})}; run + resume wall {walls} s "
                  f"(resume alone {resumes} s) vs {plain:.1f} s uninterrupted: "
                  f"{sum(r['wall'] for r in rounds) / len(rounds) / plain:.2f}×")


if __name__ == "__main__":
    main()
