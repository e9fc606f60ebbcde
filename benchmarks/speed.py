"""Speed figures on CPU, all from one invocation (`make bench` runs it):

- overhead ratio of `tuner run` on the digits CNN (TPE + ASHA, 32 trials, ≤ 20 epochs, all
  cores): the search's wall time over the ideal, i.e. the training + validation compute
  measured inside the trials divided by the concurrent slots;
- the same search written the plain way with Ray Tune (benchmarks/plain_ray.py), run in the
  same invocation: its wall time and ratio, and tuner's wall time as a fraction of it, with
  both best validation accuracies;
- startup: seconds from launching `tuner run` to the first reported result, and `tuner --help`.

    python benchmarks/speed.py [--samples 32] [--epochs 20] [--repeat 1]

Prints one figure per line; BENCHMARKS.md records the latest results.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness import machine, run

from tuner.store import load_records

PY = sys.executable


def launch(cmd: list[str], env: dict) -> tuple[float, float, str]:
    """(time.time() at launch, wall seconds, stdout) of a command that must succeed."""
    at = time.time()
    return (at, *run(cmd, env))


def tuner_search(samples: int, epochs: int, storage: Path, env: dict) -> dict:
    at, wall, _ = launch([PY, "-m", "tuner", "run", "experiments/digits_cnn.toml", "--samples",
                          str(samples), "--epochs", str(epochs), "--storage", str(storage),
                          "--overwrite"], env)
    exp = storage / "digits_cnn"
    timing = json.loads((exp / "timing.json").read_text())
    trials = load_records(exp)
    compute = sum(t.compute_s for t in trials)
    search = timing["finished_at"] - timing["search_started_at"]
    return {
        "wall_s": wall,
        "search_s": search,
        "compute_s": compute,
        "slots": timing["slots"],
        "ratio": search / (compute / timing["slots"]),
        "first_result_s": timing["first_result_at"] - at,
        "ray_start_s": timing["ray_ready_at"] - timing["started_at"],
        "best_accuracy": max(t.best.get("accuracy", 0.0) for t in trials),
        "trials": len(trials),
        "epochs": sum(t.epochs for t in trials),
    }


def plain_search(samples: int, epochs: int, storage: Path, env: dict) -> dict:
    _, wall, out = launch([PY, "benchmarks/plain_ray.py", "--samples", str(samples), "--epochs",
                           str(epochs), "--storage", str(storage)], env)
    figures = json.loads(out.strip().splitlines()[-1])
    figures["wall_s"] = wall  # from launch, like tuner's
    return figures


def help_time(env: dict, n: int = 5) -> float:
    times = [launch([PY, "-m", "tuner", "--help"], env)[1] for _ in range(n)]
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=20)
    args = ap.parse_args()
    print(f"{machine()}; {args.samples} trials × ≤{args.epochs} epochs, "
          f"digits CNN, HyperOpt TPE + ASHA")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        t = tuner_search(args.samples, args.epochs, Path(tmp) / "tuner", env)
        p = plain_search(args.samples, args.epochs, Path(tmp) / "plain", env)
    print(f"tuner:      wall {t['wall_s']:.1f} s (search {t['search_s']:.1f} s, Ray start "
          f"{t['ray_start_s']:.1f} s), compute in trials {t['compute_s']:.1f} s over "
          f"{t['slots']} slots, {t['trials']} trials / {t['epochs']} epochs, best valid accuracy "
          f"{t['best_accuracy']:.4f}")
    print(f"plain Ray:  wall {p['wall_s']:.1f} s (search {p['search_s']:.1f} s), compute in "
          f"trials {p['compute_s']:.1f} s over {p['slots']} slots, best valid accuracy "
          f"{p['best_accuracy']:.4f}")
    print(f"overhead ratio (search wall / ideal): tuner {t['ratio']:.2f} (target <= 1.10), "
          f"plain Ray {p['ratio']:.2f}")
    print(f"tuner wall / plain Ray wall: {t['wall_s'] / p['wall_s']:.2f} (target <= 0.30)")
    print(f"first result {t['first_result_s']:.1f} s after launching `tuner run` "
          f"(target <= 15)")
    print(f"tuner --help: {help_time(env) * 1000:.0f} ms (median of 5, target < 1000)")


if __name__ == "__main__":
    main()
