"""One tuning trial: build the model from its config, train epoch by epoch, report to Tune.

The trial only trains and reports; the driver decides budgets, searchers and schedulers. After
every epoch it reports `train_loss`, `val_loss`, `accuracy`, `f1`, `lr` and keeps a checkpoint, so
a Hyperband scheduler can stop or pause it and a restored run resumes where it was.
"""

from __future__ import annotations

import glob
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


@dataclass
class TrainingParts:
    """What one training run is made of; the same for a tuning trial and final training."""

    batches: object  # DataStreamer
    model: object  # torch.nn.Module
    optimizer: object
    schedule: object  # LRSchedule
    loss_fn: object


def build_training(factory: str, config: dict, data: Splits, tensors: tuple, *, epochs: int,
                   seed: int, device) -> TrainingParts:
    """Batches of `tensors` (x, y, lengths), model on `device`, optimizer, LR schedule, loss."""
    from tuner.data.streamer import DataStreamer
    from tuner.models import build_model
    from tuner.training.loop import LRSchedule, make_optimizer
    from tuner.training.tasks import loss_function

    batches = DataStreamer(*tensors, batch_size=config["batch_size"], seed=seed)
    model = fast_layout(build_model(factory, config, data.input_shape, data.n_outputs)).to(device)
    optimizer = make_optimizer(model, config)
    return TrainingParts(batches, model, optimizer, LRSchedule(optimizer, config, epochs),
                         loss_function(data.task))


def fast_layout(model):
    """The model with its 2-D convolutions' weights in channels-last memory order.

    Same model, same arithmetic, another memory layout: the CPU's convolution and pooling
    kernels run 20-30 % faster on it for the small images tuned here (and GPUs prefer it too).
    """
    import torch
    from torch import nn

    if any(isinstance(m, nn.Conv2d) for m in model.modules()):
        model = model.to(memory_format=torch.channels_last)
    return model


# (key, train tensors, valid tensors) of the data this worker process last put on a device
_ON_DEVICE: tuple = ()


def _data_key(data: Splits, device) -> tuple:
    """What identifies one experiment's data in a worker: Ray hands every trial a fresh copy of
    the object, so identity can't, but names, shapes and a strided sample of values can."""
    x = data.x_train.reshape(-1)
    sample = x[:: max(1, len(x) // 4096)].tobytes()
    return (data.name, data.task, str(device), data.x_train.shape, data.x_valid.shape,
            hash(sample), hash(data.y_train[:: max(1, len(data.y_train) // 4096)].tobytes()))


def device_tensors(data: Splits, device) -> tuple[tuple, tuple]:
    """(x, y, lengths) of train and of valid as tensors on `device`, copied there once per
    worker process: with one worker per slot serving trial after trial, every later trial of
    the experiment finds its data already on the GPU."""
    import torch

    global _ON_DEVICE
    key = _data_key(data, device)
    if _ON_DEVICE and _ON_DEVICE[0] == key:
        return _ON_DEVICE[1], _ON_DEVICE[2]
    _ON_DEVICE = ()  # let the previous experiment's tensors go before copying these

    def as_t(a):
        return None if a is None else torch.as_tensor(a).to(device)

    train = tuple(as_t(a) for a in data.part("train"))
    valid = tuple(as_t(a) for a in data.part("valid"))
    _ON_DEVICE = (key, train, valid)
    return train, valid


class Trial:
    """The state of one trial's training; `run` drives it, `Trial.epoch` is one step."""

    def __init__(self, config: dict, data: Splits, setup: TrialSetup):
        from tuner.training.loop import config_seed, pick_device, seed_everything

        self.config = config
        self.setup = setup
        self.data = data
        self.seed = config_seed(setup.seed, config)
        seed_everything(self.seed)
        self.device = pick_device(setup.gpu)

        if self.device.type == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats(self.device)  # per trial, in a reused worker
        train, self.valid = device_tensors(data, self.device)
        parts = build_training(setup.factory, config, data, train,
                               epochs=setup.max_epochs, seed=self.seed, device=self.device)
        self.batches, self.model, self.optimizer = parts.batches, parts.model, parts.optimizer
        self.schedule, self.loss_fn = parts.schedule, parts.loss_fn
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
        out = {"train_loss": train_loss, **metrics, "lr": lr, "epoch": self.epoch,
               "epoch_time_s": time.perf_counter() - start, "diverged": 0}
        if self.device.type == "cuda":
            import torch

            # what this trial's process holds on the GPU (its data included), CUDA context aside
            out["gpu_memory_mb"] = torch.cuda.max_memory_reserved(self.device) / 2**20
        return out

    def diverged(self, loss: float, lr: float, seconds: float) -> dict:
        from tuner.vocabulary import diverged_metrics

        # Reported as +inf losses (not NaN) so every searcher and scheduler can rank the trial:
        # it tells TPE this region is bad instead of hiding the trial as an error.
        return {**diverged_metrics(self.data.task), "lr": lr,
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


def load_trial_state(checkpoint) -> dict:
    """The training state a trial saved in `checkpoint` (a `ray.tune.Checkpoint`).

    Ray Tune deletes a trial's previous checkpoint as it registers the next one and only then
    saves the experiment state that names the new one: a driver killed in between leaves a
    state that points at the deleted checkpoint. On local storage the trial then continues
    from the newest checkpoint in its folder, the one that state would have named.
    """
    import torch

    with checkpoint.as_directory() as d:
        path = os.path.join(d, CHECKPOINT_FILE)
        # only where `d` is the checkpoint's own folder: a remote one comes as a temporary copy
        # whose neighbours are not this trial's
        if not os.path.exists(path) and os.path.normpath(d) == os.path.normpath(checkpoint.path):
            newest = sorted(glob.glob(os.path.join(os.path.dirname(os.path.normpath(d)),
                                                   "checkpoint_*", CHECKPOINT_FILE)))
            path = newest[-1] if newest else path
        return torch.load(path, weights_only=True)


def run_trial(config: dict, *, data: Splits, setup: TrialSetup) -> None:
    """Ray Tune function trainable: `tune.with_parameters(run_trial, data=..., setup=...)`."""
    import ray
    import torch
    from ray import tune

    torch.set_num_threads(max(1, int(setup.cpu)))
    active = setup.space.resolve(config)
    trial = Trial(active, data, setup)
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        trial.load_state_dict(load_trial_state(checkpoint))
    # the Ray node this trial runs on: on a cluster, results show where each epoch ran
    node = ray.get_runtime_context().get_node_id()
    while trial.epoch < setup.max_epochs:
        metrics = trial.train_one_epoch()
        with tempfile.TemporaryDirectory() as d:
            torch.save(trial.state_dict(), os.path.join(d, CHECKPOINT_FILE))
            tune.report({**metrics, "node": node},
                        checkpoint=tune.Checkpoint.from_directory(d))
        if metrics["diverged"]:
            return
