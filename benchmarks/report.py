"""`tuner report` speed on a real search: tune the digits CNN with 30 trials (HyperOpt TPE +
ASHA, as shipped), then time the report on it, from a fresh interpreter (imports included), as a
user runs it. The issue's figure: under 30 s on 2 cores. Also prints the importance ranking and
the advice the report gives.

    python benchmarks/report.py                   # about 1.5 minutes of tuning, then the report
    python benchmarks/report.py --samples 60 --keep /tmp/report_bench
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from harness import machine, run

PY = sys.executable


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", default="experiments/digits_cnn.toml")
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument("--keep", type=Path, help="storage folder to keep (default: a temp folder)")
    args = ap.parse_args()
    storage = args.keep or Path(tempfile.mkdtemp(prefix="tuner_report_"))
    env = {**os.environ, "TUNER_STORAGE": str(storage)}
    try:
        tune_s, _ = run([PY, "-m", "tuner", "run", args.experiment, "--samples",
                         str(args.samples), "--storage", str(storage), "--overwrite"], env=env)
        exp = next(p.parent for p in storage.glob("*/experiment.json"))
        report_s, out = run([PY, "-m", "tuner", "report", exp.name, "--storage", str(storage)],
                            env=env)
        doc = json.loads((exp / "report" / "report.json").read_text())
        print(machine())
        print(f"tuning   {args.samples} trials of {exp.name} in {tune_s:.0f} s "
              f"({doc['full_budget_trials']} ran the full budget)")
        print(f"report   {report_s:.1f} s (tuner report, a fresh interpreter, imports "
              f"included): {exp / 'report' / 'report.html'}")
        print(f"importance (fANOVA over {doc['full_budget_trials']} full-budget trials):")
        for name, share in doc["importance"].items():
            print(f"  {name:<16} {share:.3f}")
        if doc["importance_problem"]:
            print(f"  none: {doc['importance_problem']}")
        if doc["left_out"]:
            print(f"  left out: {', '.join(doc['left_out'])}")
        print("advice:")
        for a in doc["advice"]:
            print(f"  - {a['text']}" + (f"  [space] {a['toml']}" if a["toml"] else ""))
    finally:
        if args.keep is None:
            shutil.rmtree(storage, ignore_errors=True)


if __name__ == "__main__":
    main()
