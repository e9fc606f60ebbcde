"""Transfer learning figure: fine-tuning beats training the same small head from scratch on the
target task at equal epochs.

    python benchmarks/finetune.py                   # about 40 s on 2 cores
    python benchmarks/finetune.py --per-class 10 --seeds 5 --epochs 20

1. Source: a fixed small CNN (two conv blocks with batch norm, dense head) trained on the digits
   0-4 by tuner's own final training (`tuner.final.train_final`, what `tuner train` runs), which
   writes model.pt + config.toml like `tuner train` does.
2. Target: the digits 5-9 with a deliberately small training set, N images per class drawn from
   the target's train split (a different draw per seed); every arm is scored once on the whole
   target test split (135 images), which nothing here selects on.
3. Three arms, same optimizer, learning rate, batch size and epochs, 5 seeds:
   (a) finetune: the source's weights, both conv blocks frozen (batch norm statistics too),
       its dense layer trainable, a new 5-class output layer (`[model] factory = "finetune"`,
       freeze_blocks = 2, head = "replace");
   (b) head from scratch: the same architecture and the same frozen/trainable layout, randomly
       initialized: only the head trains, on top of random conv features;
   (c) full network from scratch: the source's architecture, randomly initialized, all trainable;
   (d) finetune with nothing frozen (freeze_blocks = 0): the source's weights as the start of
       training the whole network, the fair counterpart of (c).
Prints the median (and min-max) test accuracy of each arm per training-set size.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from tuner.data import load_data  # noqa: E402
from tuner.experiment import load  # noqa: E402

SPLIT = (0.70, 0.15, 0.15)
TARGET = [5, 6, 7, 8, 9]
# the source model: a config of experiments/digits04_cnn.toml's space, fixed
SOURCE = {
    "conv_blocks": 2, "filters_1": 32, "filters_2": 64, "kernel_size": 3, "batch_norm": True,
    "dense_units": 64, "activation": "relu", "dropout": 0.2, "optimizer": "adam", "lr": 3e-3,
    "weight_decay": 1e-4, "batch_size": 64, "lr_schedule": "none",
}
# how every target arm trains
TRAIN = {"optimizer": "adam", "lr": 3e-3, "weight_decay": 1e-4, "batch_size": 16,
         "lr_schedule": "none", "dropout": 0.2}
ARMS = ("finetune", "head from scratch", "full from scratch", "finetune, none frozen")


def train_source(folder: Path, epochs: int) -> float:
    """The digits 0-4 CNN, trained as `tuner train` trains; its test accuracy."""
    import json

    from tuner.final import train_final

    spec = load(ROOT / "experiments" / "digits04_cnn.toml")
    out = io.StringIO()
    if train_final(spec, dict(SOURCE), epochs, where="benchmarks/finetune.py",
                   out_dir=str(folder), out=out).diverged:
        sys.exit(out.getvalue())
    return json.loads((folder / "metrics.json").read_text())["test_accuracy"]


def subsample(y: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if per_class <= 0:
        return rng.permutation(len(y))
    return rng.permutation(np.concatenate(
        [rng.permutation(np.flatnonzero(y == c))[:per_class] for c in np.unique(y)]))


def model_for(arm: str, weights: Path):
    from tuner.models import build_model
    from tuner.models.finetune import assemble

    finetune = {**TRAIN, "weights": str(weights), "freeze_blocks": SOURCE["conv_blocks"],
                "head": "replace"}
    if arm == "finetune":
        return build_model("finetune", finetune, (1, 8, 8), len(TARGET))
    if arm == "finetune, none frozen":
        return build_model("finetune", {**finetune, "freeze_blocks": 0}, (1, 8, 8), len(TARGET))
    scratch = build_model("cnn", {**SOURCE, "dropout": TRAIN["dropout"]}, (1, 8, 8),
                          len(TARGET))
    if arm == "head from scratch":
        return assemble(scratch, finetune, len(TARGET))
    return scratch


def run_arm(arm: str, weights: Path, data, idx: np.ndarray, epochs: int, seed: int) -> float:
    """Train one arm on the chosen target images; its accuracy on the target's test split."""
    from tuner.data.streamer import DataStreamer
    from tuner.training.loop import (
        LRSchedule,
        make_optimizer,
        predict,
        seed_everything,
        train_epoch,
    )
    from tuner.training.tasks import evaluate, loss_function

    seed_everything(seed)
    model = model_for(arm, weights)
    optimizer = make_optimizer(model, TRAIN)
    schedule = LRSchedule(optimizer, TRAIN, epochs)
    batches = DataStreamer(torch.as_tensor(data.x_train[idx]), torch.as_tensor(data.y_train[idx]),
                           batch_size=TRAIN["batch_size"], seed=seed)
    loss_fn = loss_function(data.task)
    for _ in range(epochs):
        loss = train_epoch(model, batches, optimizer, loss_fn)
        schedule.step(loss)
    out = predict(model, torch.as_tensor(data.x_test))
    return evaluate(out, torch.as_tensor(data.y_test), data)["accuracy"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-class", type=int, nargs="+", default=[5, 10, 25, 0],
                    help="target training images per class (0: the whole train split)")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=20, help="epochs of every target arm")
    ap.add_argument("--source-epochs", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, torch {torch.__version__}")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "digits04_cnn" / "final"
        acc = train_source(weights, args.source_epochs)
        print(f"source: digits 0-4, {args.source_epochs} epochs on train+valid, test accuracy "
              f"{acc:.4f} ({weights.name}/model.pt + config.toml as `tuner train` writes them)")
        data = load_data("digits", split=SPLIT, seed=0, classes=TARGET)
        print(f"target: digits 5-9, {len(data.y_train)} train / {len(data.y_test)} test images; "
              f"each arm: {args.epochs} epochs, {TRAIN['optimizer']} lr {TRAIN['lr']:g}, batch "
              f"{TRAIN['batch_size']}, dropout {TRAIN['dropout']}; {args.seeds} seeds "
              f"(training images drawn and models initialized per seed)")
        print()
        header = f"{'train images':>14}  " + "  ".join(f"{a:>26}" for a in ARMS)
        print(header)
        print("-" * len(header))
        for n in args.per_class:
            scores = {a: [] for a in ARMS}
            for seed in range(args.seeds):
                idx = subsample(data.y_train, n, seed)
                for arm in ARMS:
                    scores[arm].append(run_arm(arm, weights, data, idx, args.epochs, seed))
            size = f"{len(idx)} ({n}/class)" if n > 0 else f"{len(idx)} (all)"
            cells = [f"{statistics.median(s):.3f} [{min(s):.3f}-{max(s):.3f}]"
                     for s in scores.values()]
            print(f"{size:>14}  " + "  ".join(f"{c:>26}" for c in cells))
    print()
    print("median test accuracy [min-max] over the seeds, on all 135 test images of digits 5-9; "
          f"{time.perf_counter() - start:.0f} s in all")


if __name__ == "__main__":
    main()
