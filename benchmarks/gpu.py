"""GPU packing: trial-epochs per second when 1, 4, 8 and 16 trials share one GPU.

A search of the cnn space (random search + FIFO, so every trial runs the same epochs and the
figure is throughput, not pruning) on a synthetic MNIST-shaped task: 60 000 random 1×28×28
images labelled by a fixed random teacher CNN (`[data] source = "synthetic"`), 10 classes. Each
setting gives every trial 1/k of the GPU (`[resources] gpu = 1/k`) and one CPU, and runs
2·k trials (at least 8). Prints trial-epochs per second and the GPU memory each trial's process
held (torch's peak reserved memory; the CUDA context, ~0.5 GB per process, comes on top).

    python benchmarks/gpu.py                        # on a machine with a GPU
    python benchmarks/gpu.py --examples 3000 --per-gpu 1 2 --epochs 1   # a CPU smoke run

Without a GPU it runs on the CPU (device = "auto" falls back) and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

from harness import run, trial_results

EXPERIMENT = """name = "gpu_{k}"
description = "cnn on synthetic 1x28x28 images, {k} trial(s) per GPU"
[data]
source = "synthetic"
examples = {examples}
[model]
factory = "cnn"
[space]
module = "cnn"
[search]
searcher = "random"
scheduler = "fifo"
metric = "accuracy"
samples = {samples}
max_epochs = {epochs}
grace_period = 1
seed = 0
[resources]
cpu = {cpu}
gpu = {gpu}
"""


def gpu_name() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return "none (CPU fallback)"


def run_setting(k: int, args, tmp: Path) -> dict:
    samples = max(8, 2 * k)
    exp = tmp / f"gpu_{k}.toml"
    exp.write_text(EXPERIMENT.format(k=k, examples=args.examples, samples=samples,
                                     epochs=args.epochs, cpu=args.cpu, gpu=round(1 / k, 6)))
    cmd = [sys.executable, "-m", "tuner", "run", str(exp), "--storage", str(tmp / "results"),
           "--max-concurrent", str(k)]
    run(cmd)
    folder = tmp / "results" / f"gpu_{k}"
    timing = json.loads((folder / "timing.json").read_text())
    search = timing["finished_at"] - timing["search_started_at"]
    epochs, memory, compute = 0, [], 0.0
    for rows in trial_results(folder):
        epochs += len(rows)
        compute += sum(float(r["epoch_time_s"]) for r in rows)
        memory += [float(r["gpu_memory_mb"]) for r in rows if r.get("gpu_memory_mb")]
    return {"k": k, "trials": samples, "epochs": epochs, "search_s": search,
            "rate": epochs / search, "epoch_s": compute / max(epochs, 1),
            "memory_mb": max(memory) if memory else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-gpu", type=int, nargs="+", default=[1, 4, 8, 16])
    ap.add_argument("--examples", type=int, default=60_000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--cpu", type=float, default=1.0, help="CPUs per trial")
    args = ap.parse_args()
    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, GPU: {gpu_name()}; cnn space, "
          f"synthetic {args.examples} × 1×28×28, 10 classes, {args.epochs} epochs per trial")
    with tempfile.TemporaryDirectory() as tmp:
        for k in args.per_gpu:
            r = run_setting(k, args, Path(tmp))
            mem = f"{r['memory_mb']:.0f} MB" if r["memory_mb"] is not None else "n/a (CPU)"
            print(f"{k:>3} trial(s) per GPU: {r['rate']:.2f} trial-epochs/s ({r['epochs']} epochs "
                  f"of {r['trials']} trials in {r['search_s']:.1f} s; {r['epoch_s']:.2f} s per "
                  f"epoch inside a trial), GPU memory per trial {mem}")


if __name__ == "__main__":
    main()
