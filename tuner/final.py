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


def train_final(spec: ExperimentSpec, config: dict, epochs: int, *, where: str,
                storage: str | None = None, out_dir: str | None = None, out=None) -> int:
    """Train, test once, write final/; returns the exit code."""
    out = out or sys.stdout
    from tuner.auto import fit_to_data
    from tuner.data import load_spec_data

    data = load_spec_data(spec)
    spec, _ = fit_to_data(spec, data)
    active = spec.space().check(config, where=where)
    target = Path(out_dir) if out_dir else storage_root(storage) / spec.name / "final"

    import torch
    from torch.utils.tensorboard import SummaryWriter

    from tuner.training.loop import config_seed, pick_device, predict, seed_everything
    from tuner.training.tasks import evaluate
    from tuner.training.trial import build_training

    seed = config_seed(spec.search.seed, active)
    seed_everything(seed)
    # one model, one process: the whole GPU when there is one, unless the file says "cpu"
    device = pick_device(0.0 if spec.resources.device == "cpu" else 1.0)
    if spec.resources.device == "cuda" and device.type != "cuda":
        print('device = "cuda", but torch sees no GPU here: training on the CPU', file=out)

    def joined(i):
        a, b = data.part("train")[i], data.part("valid")[i]
        return None if a is None else torch.as_tensor(np.concatenate([a, b])).to(device)

    x = joined(0)
    parts = build_training(spec.factory, active, data, (x, joined(1), joined(2)),
                           epochs=epochs, seed=seed, device=device)
    model = parts.model

    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    writer = SummaryWriter(str(target))
    print(f"final training: {spec.name}, {epochs} epochs on train+valid ({len(x)} examples), "
          f"then one evaluation on the {len(data.x_test)} held-out test examples", file=out)
    start = time.perf_counter()
    if not _train(parts, epochs, writer, out):
        return 1
    train_s = time.perf_counter() - start

    x_test, y_test, len_test = (None if a is None else torch.as_tensor(a).to(device)
                                for a in data.part("test"))
    m = evaluate(predict(model, x_test, len_test), y_test, data)
    m["loss"] = m.pop("val_loss")
    test = {f"test_{k}": v for k, v in m.items()}
    for k, v in m.items():
        writer.add_scalar(f"test/{k}", v, epochs)
    writer.close()

    _save(target, spec, model, {"epochs": epochs, "seed": seed, "where": where, "config": active},
          data, {"train_examples": len(x), "train_seconds": round(train_s, 2), **test})
    print("test   " + " · ".join(f"{k} {v:.4f}" for k, v in m.items()), file=out)
    print(f"wrote  {target}/ (model.pt, config.toml, metrics.json, TensorBoard run)", file=out)
    return 0


def _save(target: Path, spec: ExperimentSpec, model, run: dict, data, results: dict) -> None:
    """model.pt (the state_dict), config.toml (what rebuilds it) and metrics.json."""
    import torch

    torch.save(model.state_dict(), target / "model.pt")
    (target / "config.toml").write_text(to_toml(
        {"experiment": spec.name, "factory": spec.factory, "epochs": run["epochs"],
         "seed": run["seed"], "input_shape": list(data.input_shape),
         "classes": list(data.classes), "config": run["config"]},
        f"Config of the final model (from {run['where']})"))
    summary = {"experiment": spec.name, "task": data.task, "epochs": run["epochs"],
               "train_examples": results.pop("train_examples"),
               "test_examples": len(data.x_test), **results}
    (target / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")


def _train(parts, epochs: int, writer, out) -> bool:
    """The epochs on train+valid; False (said why) when the loss diverged."""
    import numpy as np

    from tuner.training.loop import train_epoch

    for epoch in range(1, epochs + 1):
        lr = parts.schedule.lr
        loss = train_epoch(parts.fit, parts.batches, parts.optimizer, parts.loss_fn)
        writer.add_scalar("loss/train", loss, epoch)
        writer.add_scalar("lr", lr, epoch)
        if not np.isfinite(loss):
            print(f"training diverged: loss {loss} at epoch {epoch} (lr={lr:.3g})", file=out)
            writer.close()
            return False
        # no validation split here: reduce-on-plateau follows the training loss
        parts.schedule.step(loss)
    return True
