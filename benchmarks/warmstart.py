"""Warm start against a cold start: trials until a new digits search reaches what a finished
search found, median over 5 seeds.

The finished search: `tuner run experiments/digits_cnn.toml --samples S --seed 100`. Its best
validation accuracy is the target. Then, for seeds 0-4, the same search cold (`--seed K`) and
warm (`--seed K --warm-start <the finished search> --top 10`); each run's trials are counted in
the order they were created until one reaches the target.

    python benchmarks/warmstart.py [--samples 16] [--seeds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from harness import machine, run

from tuner.store import load_records

TUNER = [sys.executable, "-m", "tuner"]


def search(storage: Path, name: str, samples: int, seed: int, env: dict, *extra) -> list:
    run([*TUNER, "run", "experiments/digits_cnn.toml", "--samples", str(samples), "--seed",
         str(seed), "--name", name, "--storage", str(storage), *extra], env)
    return load_records(storage / name)


def trials_to(records: list, target: float) -> int | None:
    for i, r in enumerate(sorted(records, key=lambda r: r.trial), 1):
        if r.best.get("accuracy", 0.0) >= target:
            return i
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--top", type=int, default=10)
    args = ap.parse_args()
    print(f"{machine()}; digits CNN, TPE + ASHA, {args.samples} trials per run")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        storage = Path(tmp)
        done = search(storage, "finished", args.samples, 100, env)
        target = max(r.best.get("accuracy", 0.0) for r in done)
        print(f"finished search (seed 100): best valid accuracy {target:.4f}, the target")
        counts = {"cold": [], "warm": []}
        for seed in range(args.seeds):
            for kind in counts:
                extra = (["--warm-start", "finished", "--top", str(args.top)]
                         if kind == "warm" else [])
                records = search(storage, f"{kind}{seed}", args.samples, seed, env, *extra)
                counts[kind].append(trials_to(records, target))
            print(f"seed {seed}: trials to reach {target:.4f}: cold {counts['cold'][-1]}, "
                  f"warm {counts['warm'][-1]} (None: not within {args.samples})", flush=True)
        never = args.samples + 1  # a run that never got there counts as one more than its budget
        for kind, c in counts.items():
            med = statistics.median(n or never for n in c)
            shown = f"> {args.samples}" if med == never else f"{med:g}"
            print(f"{kind}: median trials to target {shown} over {args.seeds} seeds {c}")


if __name__ == "__main__":
    main()
