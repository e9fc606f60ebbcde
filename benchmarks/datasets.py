"""The zero-edit path: experiment files that name only their data, against published figures.

For each set an experiment file with nothing but `[data]` and the metric is tuned with the
default budget (`tuner run`), then its best config trained with `tuner train --seeds 5`; the
table prints the test figures (the seeds' mean ± sd and their ensemble) beside the published
ones in ../shared/anchors/tsc_published.csv, the wall time per set and the family tuner chose.

    python benchmarks/datasets.py                     # every set (~1 h on 2 cores)
    python benchmarks/datasets.py GunPoint airline    # some
    python benchmarks/datasets.py --seeds 1           # one final model per set

The sets are the ones tuner's defaults were developed on; aeon bundles others (ArrowHead,
OSULeaf, ...) that no rule was developed on: name them to run an honest check, e.g.
`python benchmarks/datasets.py ArrowHead OSULeaf`. Likewise for forecasting, series statsmodels
ships that no rule was developed on: `python benchmarks/datasets.py nile co2 elnino realgdp`.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from pathlib import Path

from harness import ROOT, machine, tune_and_train

ANCHORS = ROOT.parent / "shared" / "anchors" / "tsc_published.csv"
PUBLISHED = ("dtw_full", "fcn", "resnet", "inceptiontime", "rocket", "hc2")

# name -> ([data] lines, metric, the target this benchmark checks)
SETS = {
    "GunPoint": ('source = "aeon"\ndataset = "GunPoint"', "accuracy", 0.98),
    "ItalyPowerDemand": ('source = "aeon"\ndataset = "ItalyPowerDemand"', "accuracy", 0.95),
    "ACSF1": ('source = "aeon"\ndataset = "ACSF1"', "accuracy", 0.87),
    "BasicMotions": ('source = "aeon"\ndataset = "BasicMotions"', "accuracy", 1.0),
    "JapaneseVowels": ('source = "aeon"\ndataset = "JapaneseVowels"', "accuracy", 0.985),
    "PickupGestureWiimoteZ": ('source = "aeon"\ndataset = "PickupGestureWiimoteZ"', "accuracy",
                              0.75),
    "digits-images": ('source = "digits"', "accuracy", 0.98),
    "digits-features": ('path = "{tmp}/digits.csv"\ntarget = "digit"', "accuracy", 0.98),
    "sunspots": ('source = "sunspots"', "mase", 0.70),
    "airline": ('source = "airline"', "mase", 1.0),
}


# series statsmodels ships that no forecasting rule was developed on, written to CSV files as a
# user's own would be (an honest check: no target; MASE < 1 beats the naive forecast)
SERIES = {
    "nile": "yearly Nile flow 1871-1970: a level shift",
    "co2": "Mauna Loa CO2, monthly means 1958-2001: trend and season",
    "elnino": "monthly sea surface temperature 1950-2010: season and cycles",
    "realgdp": "US real GDP, quarterly 1959-2009: trend",
}


def series_csv(name: str, path: Path) -> None:
    """One of SERIES as a one-column CSV (`y`)."""
    import statsmodels.api as sm

    if name == "nile":
        y = sm.datasets.nile.load_pandas().data["volume"]
    elif name == "co2":  # weekly with gaps: the monthly means, as a user would make them
        y = sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean().interpolate()
    elif name == "elnino":
        y = sm.datasets.elnino.load_pandas().data.drop(columns="YEAR").to_numpy().ravel()
    else:
        y = sm.datasets.macrodata.load_pandas().data["realgdp"]
    path.write_text("y\n" + "\n".join(f"{float(v):.6g}" for v in y) + "\n")


def anchors() -> dict:
    if not ANCHORS.exists():
        return {}
    rows = [line for line in ANCHORS.read_text().splitlines() if not line.startswith("#")]
    return {r["dataset"]: r for r in csv.DictReader(rows)}


def digits_csv(path: Path) -> None:
    """scikit-learn's digits as a table of 64 pixel columns and a label: a user's own CSV."""
    from sklearn.datasets import load_digits

    d = load_digits()
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"px{i}" for i in range(64)] + ["digit"])
        for x, y in zip(d.data, d.target, strict=True):
            w.writerow([int(v) for v in x] + [int(y)])


def spec_of(name: str) -> tuple:
    """([data] lines, metric, target) of a development set, or of another set aeon bundles
    (an honest check: no rule was developed on it, and it has no target here)."""
    if name in SERIES:
        return (f'path = "{{tmp}}/{name}.csv"\nvalue_column = "y"\ntask = "forecasting"', "mase",
                None)
    return SETS.get(name) or (f'source = "aeon"\ndataset = "{name}"', "accuracy", None)


def family(factory: str, config: Path) -> str:
    """The factory, and for one whose family is a tuned choice, the family it chose."""
    import tomllib

    chosen = tomllib.loads(config.read_text()).get("config", {}).get("family")
    return f"{factory}: {chosen}" if chosen else factory


def one(name: str, tmp: Path, seeds: int | None) -> dict:
    data, metric, target = spec_of(name)
    exp = tmp / f"{name}.toml"
    exp.write_text(f"[data]\n{data.format(tmp=tmp)}\n\n[search]\nmetric = \"{metric}\"\n")
    storage = tmp / "results"
    flags = ("--seeds", str(seeds)) if seeds else ()  # none: as many as `tuner train` affords
    tune_s, train_s, wall = tune_and_train(exp, name, storage, *flags)
    exp_dir = storage / name
    saved = json.loads((exp_dir / "experiment.json").read_text())["experiment"]
    metrics = json.loads((exp_dir / "final" / "metrics.json").read_text())
    key = f"test_{metric}"
    return {
        "set": name, "metric": metric, "target": target,
        "factory": family(saved["model"]["factory"], exp_dir / "final" / "config.toml"),
        "folds": saved["data"].get("folds", 1),
        # the saved model's figure (the ensemble's, with several seeds), each seed's mean
        "saved": metrics[key], "seeds": len(metrics.get("seeds", [])) or 1,
        "mean": metrics.get("seed_mean", {}).get(key, metrics[key]),
        "sd": metrics.get("test_sd", {}).get(key, 0.0),
        "ensemble": metrics.get("ensemble", {}).get(key, metrics[key]),
        "tune_s": tune_s, "train_s": train_s, "wall_s": wall,
        "trials": len(json.loads((exp_dir / "trials.json").read_text())),
        # the naive forecast on the same test windows, as `tuner train` measured it
        "naive": metrics.get("naive", {}).get(key),
        # the off-the-shelf reference on the same rows (tuner/reference.py)
        "reference": metrics.get("reference", {}),
    }


def met(r: dict) -> bool | None:
    if r["target"] is None:
        return None
    better = r["mean"] >= r["target"] if r["metric"] != "mase" else r["mean"] <= r["target"]
    return better if r["metric"] != "mase" or r["target"] != 1.0 else r["mean"] < 1.0


def target(r: dict) -> str:
    if r["target"] is None:
        return "– (honest check)"
    return (f"{'≤' if r['metric'] == 'mase' else '≥'} {r['target']:g} "
            f"{'met' if met(r) else '**missed**'}")


def run_sets(names: list[str], seeds: int | None, script: str):
    """Check the set names, print the machine and the command, then tune and train each set
    zero-edit (`one`), yielding its row as it finishes."""
    from tuner.data.aeon_sets import bundled_sets

    unknown = [s for s in names if s not in SETS and s not in SERIES
               and s not in bundled_sets()]
    if unknown:
        sys.exit(f"unknown set(s) {unknown}; choose from {', '.join(SETS)}, a series no rule "
                 f"was developed on ({', '.join(SERIES)}) or another set aeon bundles "
                 f"({', '.join(sorted(set(bundled_sets()) - set(SETS)))})")
    print(machine())
    print(f"command: python benchmarks/{script} {' '.join(sys.argv[1:])}".rstrip())
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        digits_csv(tmp / "digits.csv")
        for name in set(names) & set(SERIES):
            series_csv(name, tmp / f"{name}.csv")
        for name in names:
            yield one(name, tmp, seeds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="*", default=list(SETS), help=f"of {', '.join(SETS)}")
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    published = anchors()
    rows = []
    for r in run_sets(args.sets, args.seeds, "datasets.py"):
        rows.append(r)
        naive = "" if r["naive"] is None else f", naive forecast {r['naive']:.4f}"
        print(f"  {r['set']}: {r['metric']} {r['mean']:.4f} ± {r['sd']:.4f} (ensemble "
              f"{r['ensemble']:.4f}{naive}), {r['factory']}, {r['wall_s']:.0f} s", flush=True)
    head = ("| set | family (folds) | test, mean ± sd of seeds | ensemble | target | "
            + " | ".join(PUBLISHED) + " | naive forecast | tune + train |")
    print()
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        pub = published.get(r["set"], {})
        print(f"| {r['set']} | {r['factory']} ({r['folds']}) | {r['metric']} {r['mean']:.3f} "
              f"± {r['sd']:.3f} | {r['ensemble']:.3f} | {target(r)} | "
              + " | ".join(pub.get(k, "") or "–" for k in PUBLISHED)
              + (" | –" if r["naive"] is None else f" | mase {r['naive']:.3f}")
              + f" | {r['tune_s']:.0f} + {r['train_s']:.0f} s |")


if __name__ == "__main__":
    main()
