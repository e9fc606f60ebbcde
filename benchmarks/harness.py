"""What the benchmark scripts share: running a command to completion and reading what a
`tuner run` left in its experiment folder."""

from __future__ import annotations

import csv
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    """The line every benchmark starts with: which machine the figures come from."""
    return (f"machine: {platform.node()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}")


def run(cmd: list[str], env: dict | None = None, cwd: Path = ROOT) -> tuple[float, str]:
    """(wall seconds, stdout + stderr) of a command; exits with its output's tail if it fails."""
    start = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, check=False)
    if p.returncode:
        sys.exit(f"failed ({p.returncode}): {' '.join(map(str, cmd))}\n{p.stdout[-3000:]}")
    return time.perf_counter() - start, p.stdout


def tune_and_train(exp: Path, name: str, storage: Path, *train_flags: str
                   ) -> tuple[float, float, float]:
    """`tuner run` then `tuner train --from`: (tune seconds, train seconds, wall seconds)."""
    start = time.perf_counter()
    tune_s, _ = run([sys.executable, "-m", "tuner", "run", str(exp), "--storage", str(storage)])
    train_s, _ = run([sys.executable, "-m", "tuner", "train", str(exp), "--from", name,
                      "--storage", str(storage), *train_flags])
    return tune_s, train_s, time.perf_counter() - start


def trial_results(exp_dir: Path) -> list[list[dict]]:
    """Every trial's reported results (Ray's progress.csv rows, one per epoch), per trial."""
    trials = []
    for progress in sorted(exp_dir.glob("trial_*/progress.csv")):
        with open(progress, newline="") as f:
            trials.append(list(csv.DictReader(f)))
    return trials
