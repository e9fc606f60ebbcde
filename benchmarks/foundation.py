"""Foundation figures: the README's first command from a fresh clone, final test accuracy,
and `tuner --help` latency.

    python benchmarks/foundation.py            # clones HEAD into a temp folder and runs `make demo`
    python benchmarks/foundation.py --reuse    # skip the clone; time `tuner run` in this checkout

Prints one figure per line; BENCHMARKS.md records the latest results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sh(cmd: list[str] | str, cwd: Path, env=None) -> tuple[float, str]:
    start = time.perf_counter()
    p = subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        shell=isinstance(cmd, str),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    took = time.perf_counter() - start
    if p.returncode:
        sys.exit(f"failed ({p.returncode}): {cmd}\n{p.stdout[-3000:]}")
    return took, p.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reuse", action="store_true", help="use this checkout's .venv, no clone")
    args = ap.parse_args()
    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")

    with tempfile.TemporaryDirectory() as tmp:
        if args.reuse:
            work = ROOT
            env = {**os.environ, "TUNER_STORAGE": str(Path(tmp) / "results")}
            demo_s, out = sh(
                [
                    str(ROOT / ".venv/bin/tuner"),
                    "run",
                    "experiments/digits_cnn.toml",
                    "--overwrite",
                ],
                work,
                env,
            )
            setup_s = 0.0
            results = Path(tmp) / "results"
        else:
            work = Path(tmp) / "tuner"
            sh(["git", "clone", "-q", str(ROOT), str(work)], Path(tmp))
            env = {
                k: v for k, v in os.environ.items() if k not in ("TUNER_STORAGE", "VIRTUAL_ENV")
            }
            setup_s, _ = sh(["make", "setup"], work, env)
            demo_s, out = sh(["make", "demo"], work, env)
            results = work / "results"
        done = re.search(
            r"done in (\d+) s: (\d+) trials · (\d+) completed · (\d+) stopped early", out
        )
        best = re.search(r"best   (trial_\d+): accuracy ([0-9.]+)", out)
        if not done or not best:
            sys.exit("could not parse the run's summary:\n" + out[-2000:])
        trials, stopped = int(done.group(2)), int(done.group(4))
        print(f"fresh clone set-up (make setup): {setup_s:.0f} s")
        print(f"default experiment (make demo): {demo_s:.0f} s wall, tuning {done.group(1)} s")
        print(f"first command total: {setup_s + demo_s:.0f} s (target < 300 s)")
        print(
            f"trials: {trials}, stopped early by ASHA: {stopped} ({stopped / trials:.0%}, "
            f"target >= 33%)"
        )
        print(
            f"best validation accuracy: {float(best.group(2)):.4f} ({best.group(1)}, target >= 0.98)"
        )

        tuner = str(work / ".venv/bin/tuner")
        env2 = {**env, "TUNER_STORAGE": str(results)}
        sh([tuner, "train", "experiments/digits_cnn.toml", "--from", "digits_cnn"], work, env2)
        m = json.loads((results / "digits_cnn/final/metrics.json").read_text())
        print(
            f"final test accuracy: {m['test_accuracy']:.4f} (macro F1 {m['test_f1']:.4f}, "
            f"{m['test_examples']} test examples, {m['epochs']} epochs; target >= 0.98)"
        )

        times = []
        for _ in range(7):
            t, _ = sh([tuner, "--help"], work, env2)
            times.append(t)
        print(
            f"tuner --help: median {statistics.median(times) * 1000:.0f} ms over 7 runs "
            f"(target < 1000 ms)"
        )


if __name__ == "__main__":
    main()
