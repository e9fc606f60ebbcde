"""The zero-edit path beside the off-the-shelf reference, on every development set.

For each set an experiment file naming only its data is tuned with the default budget and its
best config trained (`tuner train`, as many seeds as it affords unless --seeds: the saved
model is their ensemble), which also fits the reference on the same train + valid rows and
tests it on the same test rows (tuner/reference.py: gradient
boosting for tables and small images, MiniRocket for labelled series, TF-IDF + logistic
regression for texts; forecasts have the naive forecast). The table: the tuned model's test
figure, the reference's, the verdict `tuner train` printed, and the wall of each.

    python benchmarks/reference.py                         # every development set (~1 h)
    python benchmarks/reference.py GunPoint digits-features
    python benchmarks/reference.py ArrowHead OSULeaf       # an honest check: sets no rule saw
"""

from __future__ import annotations

import argparse

from datasets import SETS, run_sets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="*", default=list(SETS), help=f"of {', '.join(SETS)}")
    ap.add_argument("--seeds", type=int, default=None,
                    help="final seeds (default: as many as `tuner train` affords, the zero-edit "
                         "path)")
    args = ap.parse_args()
    rows = []
    for r in run_sets(args.sets, args.seeds, "reference.py"):
        rows.append(r)
        ref = r["reference"]
        shown = (f"{ref.get('model')} {ref.get('test_' + r['metric'], float('nan')):.4f} "
                 f"in {ref.get('seconds', 0):.1f} s" if ref.get("model")
                 else ref.get("absent", "no reference"))
        print(f"  {r['set']}: tuner {r['metric']} {r['saved']:.4f} ({r['seeds']} seed(s), one "
              f"seed {r['mean']:.4f}) in {r['wall_s']:.0f} s · "
              f"reference {shown} · {ref.get('verdict', '')}", flush=True)
    print()
    print("| set | tuner, zero-edit (family) | seeds (one seed's mean) | tune + train | "
          "reference (same rows) | its fit | verdict |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        ref = r["reference"]
        figure = ref.get(f"test_{r['metric']}")
        if figure is None and r["naive"] is not None:
            who, figure, took = "naive forecast", r["naive"], "–"
        else:
            who, took = ref.get("model") or ref.get("absent", "–"), f"{ref.get('seconds', 0):.1f} s"
        shown = "–" if figure is None else f"{r['metric']} {figure:.3f}"
        print(f"| {r['set']} | {r['metric']} {r['saved']:.3f} ({r['factory']}) | "
              f"{r['seeds']} ({r['mean']:.3f}) | "
              f"{r['tune_s']:.0f} + {r['train_s']:.0f} s | {who}: {shown} | {took} | "
              f"{ref.get('verdict', '–')} |")


if __name__ == "__main__":
    main()
