"""Data held once: the memory a search takes with 60 000 images and 2 concurrent trials, against
one copy of the data plus what the same search takes on a tiny set (the processes' own
baseline: driver, Ray's processes, two trial workers with torch).

Memory is the proportional set size (PSS) summed over the `tuner run` process and every process
under it, sampled every 0.2 s; PSS splits a page shared by n processes n ways, so data shared
through Ray's object store counts once however many workers read it.

    python benchmarks/memory.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from harness import ROOT, machine

EXAMPLES, SIDE = 60_000, 28


def peak_pss(cmd: list[str]) -> tuple[float, float]:
    """(peak PSS in MB over the command's process tree, wall seconds)."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    root = psutil.Process(p.pid)
    peak = 0.0
    while p.poll() is None:
        total = 0
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for proc in procs:
            try:
                total += proc.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        peak = max(peak, total / 2**20)
        time.sleep(0.2)
    out = p.stdout.read()
    if p.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{out[-3000:]}")
    return peak, time.perf_counter() - start


def search(tmp: Path, examples: int) -> tuple[float, float]:
    exp = tmp / f"synthetic{examples}.toml"
    exp.write_text(f'name = "synthetic{examples}"\n[data]\nsource = "synthetic"\n'
                   f'examples = {examples}\n[model]\nfactory = "cnn"\n[space]\nconv_blocks = 1\n'
                   f'filters = 16\n[search]\nsamples = 2\nmax_epochs = 1\nscheduler = "fifo"\n'
                   f'searcher = "random"\n[resources]\ncpu = 1\n')
    return peak_pss([sys.executable, "-m", "tuner", "run", str(exp), "--storage",
                     str(tmp / "results")])


def main() -> None:
    data_mb = EXAMPLES * SIDE * SIDE * 4 / 2**20  # float32 pixels: the synthetic source's
    with tempfile.TemporaryDirectory() as tmp:
        base, base_s = search(Path(tmp), 200)
        full, full_s = search(Path(tmp), EXAMPLES)
    ratio = full / (base + data_mb)
    print(f"one copy of the data: {data_mb:.0f} MB ({EXAMPLES} × 1×{SIDE}×{SIDE} float32)")
    print(f"baseline (200 images, 2 trials): peak {base:.0f} MB PSS ({base_s:.0f} s)")
    print(f"{EXAMPLES} images, 2 concurrent trials: peak {full:.0f} MB PSS ({full_s:.0f} s)")
    print(f"ratio to baseline + one copy: {ratio:.2f} (goal ≤ 1.5)")


if __name__ == "__main__":
    print(machine())
    main()
