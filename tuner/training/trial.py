"""One tuning trial: build the model from its config, train epoch by epoch, report to Tune.

The trial only trains and reports; the driver decides budgets, searchers and schedulers. After
every epoch it reports `train_loss`, `val_loss`, `accuracy`, `f1`, `lr` and keeps a checkpoint, so
a Hyperband scheduler can stop or pause it and a restored run resumes where it was.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from dataclasses import dataclass

from tuner.data.splits import Splits
from tuner.spaces.space import SearchSpace

CHECKPOINT_FILE = "trial.pt"


@dataclass(frozen=True)
class TrialSetup:
    """What every trial of an experiment shares (sent to workers once, with the data)."""

    factory: str
    space: SearchSpace
    max_epochs: int
    seed: int
    cpu: float = 1.0
    gpu: float = 0.0


class Trial:
    """The state of one trial's training; `run` drives it, `Trial.epoch` is one step."""

    def __init__(self, config: dict, data: Splits, setup: TrialSetup):
        import torch

        from tuner.data.streamer import DataStreamer
        from tuner.models import build_model
        from tuner.training.loop import (
            LRSchedule,
            config_seed,
            make_optimizer,
            pick_device,
            seed_everything,
        )
        from tuner.training.tasks import loss_function

        self.config = config
        self.setup = setup
        self.data = data
        self.seed = config_seed(setup.seed, config)
        seed_everything(self.seed)
        self.device = pick_device(setup.gpu)

        def as_t(a):
            return None if a is None else torch.as_tensor(a).to(self.device)

        self.valid = tuple(as_t(a) for a in data.part("valid"))
        x, y, lengths = (as_t(a) for a in data.part("train"))
        self.batches = DataStreamer(x, y, lengths, batch_size=config["batch_size"],
                                    seed=self.seed)
        self.model = build_model(setup.factory, config, data.input_shape, data.n_outputs)
        self.model.to(self.device)
        self.optimizer = make_optimizer(self.model, config)
        self.schedule = LRSchedule(self.optimizer, config, setup.max_epochs)
        self.loss_fn = loss_function(data.task)
        self.epoch = 0

    def train_one_epoch(self) -> dict:
        from tuner.training.loop import predict, train_epoch
        from tuner.training.tasks import evaluate

        lr = self.schedule.lr
        start = time.perf_counter()
        train_loss = train_epoch(self.model, self.batches, self.optimizer, self.loss_fn)
        self.epoch += 1
        if not math.isfinite(train_loss):
            return self.diverged(train_loss, lr, time.perf_counter() - start)
        x, y, lengths = self.valid
        metrics = evaluate(predict(self.model, x, lengths), y, self.data)
        if not math.isfinite(metrics["val_loss"]):
            return self.diverged(metrics["val_loss"], lr, time.perf_counter() - start)
        self.schedule.step(metrics["val_loss"])
        return {"train_loss": train_loss, **metrics, "lr": lr, "epoch": self.epoch,
                "epoch_time_s": time.perf_counter() - start, "diverged": 0}

    def diverged(self, loss: float, lr: float, seconds: float) -> dict:
        from tuner.training.tasks import diverged_metrics

        # Reported as +inf losses (not NaN) so every searcher and scheduler can rank the trial:
        # it tells TPE this region is bad instead of hiding the trial as an error.
        return {"train_loss": math.inf, **diverged_metrics(self.data.task), "lr": lr,
                "epoch": self.epoch, "epoch_time_s": seconds, "diverged": 1,
                "reason": f"loss became {loss} at epoch {self.epoch} (lr={lr:.3g}); "
                          f"lower the learning rate range or add warm-up"}

    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "epoch": self.epoch,
            "batches_rng": self.batches.generator.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        self.epoch = int(state["epoch"])
        self.batches.generator.set_state(state["batches_rng"])


def run_trial(config: dict, *, data: Splits, setup: TrialSetup) -> None:
    """Ray Tune function trainable: `tune.with_parameters(run_trial, data=..., setup=...)`."""
    import torch
    from ray import tune

    torch.set_num_threads(max(1, int(setup.cpu)))
    active = setup.space.resolve(config)
    trial = Trial(active, data, setup)
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            trial.load_state_dict(torch.load(os.path.join(d, CHECKPOINT_FILE), weights_only=True))
    while trial.epoch < setup.max_epochs:
        metrics = trial.train_one_epoch()
        with tempfile.TemporaryDirectory() as d:
            torch.save(trial.state_dict(), os.path.join(d, CHECKPOINT_FILE))
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(d))
        if metrics["diverged"]:
            return
