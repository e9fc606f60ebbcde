"""Final training: one config on train+valid for a fixed number of epochs, one test evaluation.

The test split is used exactly once, after training; nothing is selected on it. Writes
<experiment folder>/final/: model.pt (state_dict), config.toml, metrics.json, a TensorBoard run.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from tuner.experiment import ExperimentSpec
from tuner.results import storage_root, to_toml


def train_final(
    spec: ExperimentSpec,
    config: dict,
    epochs: int,
    *,
    where: str,
    storage: str | None = None,
    out_dir: str | None = None,
    out=None,
) -> int:
    """Train, test once, write final/; returns the exit code."""
    out = out or sys.stdout
    from tuner.data import load_data

    space = spec.space()
    active = space.check(config, where=where)
    data = load_data(
        spec.data.source,
        split=spec.data.split,
        seed=spec.search.seed,
        where=f"{spec.path}: [data] source",
    )
    target = Path(out_dir) if out_dir else storage_root(storage) / spec.name / "final"

    import torch
    from torch.utils.tensorboard import SummaryWriter

    from tuner.data.streamer import DataStreamer
    from tuner.models import build_model
    from tuner.training.loop import (
        LRSchedule,
        classification_metrics,
        config_seed,
        make_optimizer,
        pick_device,
        predict,
        seed_everything,
        train_epoch,
    )

    seed = config_seed(spec.search.seed, active)
    seed_everything(seed)
    device = pick_device(spec.resources.gpu)
    x = torch.as_tensor(np.concatenate([data.x_train, data.x_valid])).to(device)
    y = torch.as_tensor(np.concatenate([data.y_train, data.y_valid])).to(device)
    batches = DataStreamer(x, y, batch_size=active["batch_size"], seed=seed)
    model = build_model(spec.factory, active, data.input_shape, data.n_outputs).to(device)
    optimizer = make_optimizer(model, active)
    schedule = LRSchedule(optimizer, active, epochs)
    loss_fn = torch.nn.CrossEntropyLoss()

    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    writer = SummaryWriter(str(target))
    print(
        f"final training: {spec.name}, {epochs} epochs on train+valid ({len(x)} examples), "
        f"then one evaluation on the {len(data.x_test)} held-out test examples",
        file=out,
    )
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        lr = schedule.lr
        loss = train_epoch(model, batches, optimizer, loss_fn)
        writer.add_scalar("loss/train", loss, epoch)
        writer.add_scalar("lr", lr, epoch)
        if not np.isfinite(loss):
            print(f"training diverged: loss {loss} at epoch {epoch} (lr={lr:.3g})", file=out)
            writer.close()
            return 1
        # no validation split here: reduce-on-plateau follows the training loss
        schedule.step(loss)
    train_s = time.perf_counter() - start

    x_test = torch.as_tensor(data.x_test).to(device)
    y_test = torch.as_tensor(data.y_test).to(device)
    m = classification_metrics(predict(model, x_test), y_test, data.n_outputs)
    test = {
        "test_loss": m["val_loss"],
        "test_accuracy": m["accuracy"],
        "test_precision": m["precision"],
        "test_recall": m["recall"],
        "test_f1": m["f1"],
    }
    for k, v in test.items():
        writer.add_scalar(f"test/{k.removeprefix('test_')}", v, epochs)
    writer.close()

    torch.save(model.state_dict(), target / "model.pt")
    (target / "config.toml").write_text(
        to_toml(
            {
                "experiment": spec.name,
                "factory": spec.factory,
                "epochs": epochs,
                "seed": seed,
                "input_shape": list(data.input_shape),
                "classes": data.classes,
                "config": active,
            },
            f"Config of the final model (from {where})",
        )
    )
    summary = {
        "experiment": spec.name,
        "epochs": epochs,
        "train_examples": len(x),
        "test_examples": len(data.x_test),
        "train_seconds": round(train_s, 2),
        **test,
    }
    (target / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"test   accuracy {test['test_accuracy']:.4f} · macro F1 {test['test_f1']:.4f} · "
        f"precision {test['test_precision']:.4f} · recall {test['test_recall']:.4f} · "
        f"loss {test['test_loss']:.4f}",
        file=out,
    )
    print(f"wrote  {target}/ (model.pt, config.toml, metrics.json, TensorBoard run)", file=out)
    return 0
