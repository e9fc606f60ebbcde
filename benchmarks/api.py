"""The Python API's own costs: `import tuner` (must stay under 0.5 s, loading neither torch nor
Ray) and the example notebook executed headless with the suite's tiny budget (under 60 s).

    python benchmarks/api.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def import_seconds(runs: int) -> tuple[float, bool]:
    code = ("import sys, time; t = time.perf_counter(); import tuner; "
            "print(time.perf_counter() - t, 'torch' in sys.modules or 'ray' in sys.modules)")
    times, heavy = [], False
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
        times.append(float(out[0]))
        heavy |= out[1] == "True"
    return statistics.median(times), heavy


def notebook_seconds() -> float:
    import nbformat
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(TUNER_EXAMPLE_SAMPLES="2", TUNER_EXAMPLE_EPOCHS="2",
                          TUNER_STORAGE=str(Path(tmp) / "results"))
        nb = nbformat.read(ROOT / "examples" / "tune_in_a_notebook.ipynb", as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": tmp}}).execute()
        return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    seconds, heavy = import_seconds(args.runs)
    print(f"import tuner        {seconds * 1000:.1f} ms (median of {args.runs}; goal < 500 ms); "
          f"torch or Ray imported: {heavy}")
    print(f"example notebook   {notebook_seconds():.1f} s headless, 2 trials × 2 epochs "
          f"(goal < 60 s)")


if __name__ == "__main__":
    main()
