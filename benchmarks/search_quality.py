"""Search quality: tuner's default (HyperOpt TPE + ASHA) against random search + FIFO at equal
wall-clock budgets, on the digits CNN and the JapaneseVowels GRU, several seeds each.

Both methods optimize and are compared on validation loss (`--metric` to change): accuracy on
these small validation splits saturates at one or two errors. For every run the best value so
far is read from each trial's results (Ray's progress.csv, timestamped) against the search's
start (timing.json). The table gives the
median over seeds of the best value at 25 / 50 / 100 % of the budget, and the median time to
reach a target. The target comes from one long random-search run (3 budgets, its own seed): the
best value it had found at the end of its first budget, i.e. what random search reaches in one
budget on a good day.

    python benchmarks/search_quality.py                  # both tasks, 5 seeds (about 35 min)
    python benchmarks/search_quality.py --only digits_cnn --seeds 3 --budget 40 --metric accuracy
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
from pathlib import Path

from harness import machine, run, trial_results

PY = sys.executable
# experiment -> default budget in seconds
TASKS = {"digits_cnn": 60, "vowels_gru": 90}
# Validation loss by default: accuracy on 269 digits or 54 vowels saturates (most good configs
# reach 0.996 or 1.0), which hides how fast each method gets to a good config.
MODES = {"val_loss": "min", "accuracy": "max", "f1": "max"}
METHODS = {"tpe+asha": ("hyperopt", "asha"), "random+fifo": ("random", "fifo")}


def search(experiment: str, metric: str, searcher: str, scheduler: str, seed: int, budget: int,
           storage: Path, name: str) -> list[tuple[float, float]]:
    """(seconds since the search started, metric) for every result of one run, in time order."""
    cmd = [PY, "-m", "tuner", "run", f"experiments/{experiment}.toml", "--searcher", searcher,
           "--scheduler", scheduler, "--seed", str(seed), "--samples", "1000", "--metric", metric,
           "--time-budget", str(budget), "--storage", str(storage), "--name", name]
    run(cmd)
    exp = storage / name
    start = json.loads((exp / "timing.json").read_text())["search_started_at"]
    return sorted((float(row["timestamp"]) - start, float(row[metric]))
                  for rows in trial_results(exp) for row in rows
                  if row.get(metric) not in (None, ""))


def best_by(points: list[tuple[float, float]], t: float, mode: str) -> float:
    values = [v for at, v in points if at <= t]
    if not values:
        return math.nan
    return max(values) if mode == "max" else min(values)


def time_to(points: list[tuple[float, float]], target: float, mode: str) -> float:
    for at, v in points:
        if (v >= target) if mode == "max" else (v <= target):
            return max(at, 0.0)
    return math.inf


def fmt_time(t: float, budget: int) -> str:
    return f"> {budget} s" if math.isinf(t) else f"{t:.0f} s"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=sorted(TASKS))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, help="seconds per run (default: per task)")
    ap.add_argument("--metric", choices=sorted(MODES), default="val_loss",
                    help="what both methods optimize and are compared on")
    args = ap.parse_args()
    print(f"{machine()}; seeds 0..{args.seeds - 1}")
    for experiment in [args.only] if args.only else list(TASKS):
        metric, mode = args.metric, MODES[args.metric]
        budget = args.budget or TASKS[experiment]
        with tempfile.TemporaryDirectory() as tmp:
            long = search(experiment, metric, "random", "fifo", 1000, 3 * budget, Path(tmp),
                          "long")
            target = best_by(long, budget, mode)
            runs: dict[str, list] = {m: [] for m in METHODS}
            for seed in range(args.seeds):
                for method, (searcher, scheduler) in METHODS.items():
                    runs[method].append(search(experiment, metric, searcher, scheduler, seed,
                                               budget,
                                               Path(tmp), f"{method.replace('+', '_')}-{seed}"))
        print(f"\n{experiment}: best valid {metric} so far, median of {args.seeds} seeds, "
              f"budget {budget} s per run; target {target:.4f} = the best of a {3 * budget} s "
              f"random search after {budget} s ({best_by(long, 3 * budget, mode):.4f} at its "
              f"end)")
        print(f"  {'method':<12} {'25%':>8} {'50%':>8} {'100%':>8}   time to target (median; "
              f"each seed)")
        medians = {}
        for method, points in runs.items():
            at = [statistics.median(best_by(p, f * budget, mode) for p in points)
                  for f in (0.25, 0.5, 1.0)]
            times = [time_to(p, target, mode) for p in points]
            medians[method] = statistics.median(times)
            print(f"  {method:<12} {at[0]:>8.4f} {at[1]:>8.4f} {at[2]:>8.4f}   "
                  f"{fmt_time(medians[method], budget)}; "
                  f"{', '.join(fmt_time(t, budget) for t in times)}")
        tpe, rnd = medians["tpe+asha"], medians["random+fifo"]
        if math.isinf(tpe):
            verdict = "tpe+asha's median run did not reach the target"
        elif math.isinf(rnd):
            verdict = "random+fifo's median run did not reach the target within the budget"
        else:
            verdict = f"tpe+asha / random+fifo time to target: {tpe / max(rnd, 1e-9):.2f}"
        print(f"  {verdict}")


if __name__ == "__main__":
    main()
