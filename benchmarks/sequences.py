"""Sequence and forecasting figures: each shipped experiment with its shipped budget, then
final training with the best config and one test evaluation.

    python benchmarks/sequences.py                       # all four (about 12 minutes on 2 cores)
    python benchmarks/sequences.py --only vowels_gru     # one
    python benchmarks/sequences.py --samples 4 --epochs 5   # a quick smoke run

Prints one line per experiment; BENCHMARKS.md records the latest results.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

from harness import machine, run

TUNER = [sys.executable, "-m", "tuner"]
# experiment -> (metric in final/metrics.json, comparison, target)
TARGETS = {
    "vowels_gru": ("test_accuracy", ">=", 0.985),
    "motions_conv1d": ("test_accuracy", ">=", 1.0),
    "gestures_attention": ("test_accuracy", ">=", 0.80),
    "sunspots_forecast": ("test_mase", "<=", 0.70),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", action="append", choices=sorted(TARGETS))
    ap.add_argument("--samples", type=int)
    ap.add_argument("--epochs", type=int)
    args = ap.parse_args()
    print(machine())
    extra = []
    if args.samples:
        extra += ["--samples", str(args.samples)]
    if args.epochs:
        extra += ["--epochs", str(args.epochs)]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TUNER_STORAGE": tmp}
        for name in args.only or TARGETS:
            wall, out = run([*TUNER, "run", f"experiments/{name}.toml", *extra], env)
            done = re.search(r"done in (\d+) s: (\d+) trials · (\d+) completed · "
                             r"(\d+) stopped early", out)
            best = re.search(r"best   (trial_\d+): (\w+) ([0-9.]+)(?: ± [0-9.]+)? at epoch "
                             r"(\d+)", out)
            _, tout = run([*TUNER, "train", f"experiments/{name}.toml", "--from", name], env)
            m = json.loads((Path(tmp) / name / "final" / "metrics.json").read_text())
            key, op, target = TARGETS[name]
            value = m[key]
            ok = value >= target if op == ">=" else value <= target
            others = ", ".join(f"{k.removeprefix('test_')} {v:.4f}" for k, v in m.items()
                               if k.startswith("test_") and k not in (key, "test_examples"))
            print(f"{name}: tuning {wall:.0f} s wall ({done.group(2)} trials, "
                  f"{done.group(4)} stopped early), best valid {best.group(2)} "
                  f"{float(best.group(3)):.4f}; final {m['epochs']} epochs: "
                  f"{key.removeprefix('test_')} {value:.4f} (target {op} {target}: "
                  f"{'met' if ok else 'MISSED'}); {others}", flush=True)


if __name__ == "__main__":
    main()
