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
from dataclasses import dataclass, field

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
    # k > 1: every trial trains k models on folds of train + valid (stratified; for a forecast,
    # rolling-origin: each trains on the past of its validation block) and reports the metrics
    # of their out-of-fold predictions (cross-validation); 1: train, then valid
    folds: int = 1
    # a factory made in Python ("python:<file>"): its pickled bytes, unpickled in the worker
    objects: dict = field(default_factory=dict)


@dataclass
class TrainingParts:
    """What one training run is made of; the same for a tuning trial and final training.

    A model with a fixed front (`model.fixed`, e.g. ROCKET's random kernels) trains only the
    rest (`model.learned`): the front's features are computed once, here, not every epoch.
    """

    batches: object  # DataStreamer
    model: object  # torch.nn.Module
    optimizer: object
    schedule: object  # LRSchedule
    loss_fn: object
    fit: object = None  # the module trained: the model, or the part after its fixed front

    @property
    def front(self):
        return None if self.fit is self.model else self.model.fixed

    def inputs(self, x, lengths) -> tuple:
        """(x, lengths) as `fit` reads them: the fixed front's features when there is one."""
        if self.front is None:
            return x, lengths
        return front_features(self.front, x, lengths), None

    def predict(self, x, lengths=None):
        from tuner.training.loop import predict

        return predict(self.fit, *self.inputs(x, lengths))


def front_features(front, x, lengths, batch_size: int = 256):
    """The fixed front's output for every example, in batches, without gradients."""
    from tuner.training.loop import predict

    return predict(front, x, lengths, batch_size=batch_size)


def prepare(fit, features, targets) -> None:
    """Let a head that reads fixed features fit what it takes from the training examples
    alone (the features' standardization; a closed-form head, its weights):
    `fit.prepare(features, targets)`, when it has one."""
    if hasattr(fit, "prepare"):
        fit.prepare(features, targets)


def build_training(factory: str, config: dict, data: Splits, tensors: tuple, *, epochs: int,
                   seed: int, device, featurized: bool = False) -> TrainingParts:
    """Batches of `tensors` (x, y, lengths), model on `device`, optimizer, LR schedule, loss.
    `featurized`: x already holds the model's fixed-front features (shared across folds)."""
    from tuner.data.streamer import DataStreamer
    from tuner.models import build_model
    from tuner.training.loop import LRSchedule, make_optimizer
    from tuner.training.tasks import loss_function

    model = build_model(factory, config, data.input_shape, data.n_outputs)
    # a fixed front feeds a head fitted to the targets as they are (a closed-form linear
    # forecaster holds the anchored one exactly): only trained models are anchored
    if data.task == "forecasting" and config.get("anchor", "none") == "last" and \
            getattr(model, "fixed", None) is None:
        from tuner.models.layers import LastValueAnchor

        model = LastValueAnchor(model)
    model = fast_layout(model).to(device)
    fixed = getattr(model, "fixed", None)
    fit = model if fixed is None else model.learned
    x, y, lengths = tensors
    if fixed is not None:
        if not featurized:
            x, lengths = front_features(fixed, x, lengths), None
        prepare(fit, x, y)
    batches = DataStreamer(x, y, lengths, batch_size=config["batch_size"], seed=seed)
    optimizer = make_optimizer(fit, config)
    return TrainingParts(batches, model, optimizer, LRSchedule(optimizer, config, epochs),
                         loss_function(data.task), fit)


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


def fold_indices(y, folds: int, seed: int, classification: bool) -> list:
    """Validation indices of each of `folds` folds: stratified by class for classification
    (each class dealt round-robin after a seeded shuffle), plain shuffled slices otherwise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    fold_of = np.empty(len(y), dtype=np.int64)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if classification else [
        np.arange(len(y))]
    start = 0
    for idx in groups:
        idx = rng.permutation(idx)
        fold_of[idx] = (start + np.arange(len(idx))) % folds
        start += len(idx)  # the next class starts where this one ended: folds stay even
    return [np.flatnonzero(fold_of == f) for f in range(folds)]


def rolling_origin(n: int, block: int, folds: int, horizon: int = 1) -> list:
    """(training indices, validation indices) of `folds` rolling-origin folds over `n`
    chronological windows: the validation blocks are the last `folds` runs of `block` windows,
    the last one the plain validation split, and each fold trains on every window before its
    block whose targets end before the block's first target (`horizon - 1` windows apart).

        >>> [(int(t[-1]), int(v[0]), int(v[-1])) for t, v in rolling_origin(10, 2, 3)]
        [(3, 4, 5), (5, 6, 7), (7, 8, 9)]
    """
    import numpy as np

    out = []
    for k in range(folds, 0, -1):
        origin = n - k * block
        out.append((np.arange(max(0, origin - (horizon - 1))),
                    np.arange(origin, origin + block)))
    return out


def fold_splits(y, folds: int, seed: int, task: str, n_valid: int) -> list:
    """(training indices, validation indices) of each fold of train + valid (`y`, in that
    order): rolling-origin folds for a forecast (training only on the past), stratified or
    shuffled folds, each trained on the rest, otherwise."""
    import numpy as np

    if task == "forecasting":
        y = np.asarray(y)
        return rolling_origin(len(y), n_valid, folds, y.shape[1] if y.ndim > 1 else 1)
    everything = np.arange(len(y))
    return [(np.setdiff1d(everything, held), held)
            for held in fold_indices(y, folds, seed, task == "classification")]


class Trial:
    """The state of one trial's training; `run` drives it, `Trial.epoch` is one step.

    With `setup.folds` = k > 1 it holds k models, one per fold of train + valid
    (`fold_splits`), each trained one epoch per step; the metrics are those of their
    out-of-fold predictions, so a Hyperband scheduler still compares trials epoch by epoch, on
    every example instead of a few.
    """

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
        train, valid = device_tensors(data, self.device)
        if setup.folds > 1:
            self._build_folds(train, valid)
        else:
            parts = build_training(setup.factory, config, data, train,
                                   epochs=setup.max_epochs, seed=self.seed, device=self.device)
            x, y, lengths = valid
            self.folds = [parts]
            self.valid = [(*parts.inputs(x, lengths), y)]
        self.epoch = 0

    def _build_folds(self, train: tuple, valid: tuple) -> None:
        """One model per fold of train + valid; a fixed front's features are computed once,
        by the first fold's model (every fold's model is built from the same seed)."""
        import torch

        from tuner.data.streamer import DataStreamer
        from tuner.training.loop import seed_everything

        x, y, lengths = (None if a is None else torch.cat([a, b])
                         for a, b in zip(train, valid, strict=True))

        def rows(a, idx):
            return None if a is None else a[idx]

        self.folds, self.valid = [], []
        featurized = False
        for kept, held in fold_splits(y.cpu().numpy(), self.setup.folds, self.seed,
                                      self.data.task, len(valid[1])):
            held = torch.as_tensor(held, device=x.device)
            keep = torch.zeros(len(y), dtype=torch.bool, device=x.device)
            keep[torch.as_tensor(kept, device=x.device)] = True
            seed_everything(self.seed)  # every fold starts from the same model
            if self.folds:
                parts = build_training(self.setup.factory, self.config, self.data,
                                       (x[keep], y[keep], rows(lengths, keep)),
                                       epochs=self.setup.max_epochs, seed=self.seed,
                                       device=self.device, featurized=featurized)
            else:  # built on all rows: a fixed front then turns x into its features, once
                parts = build_training(self.setup.factory, self.config, self.data,
                                       (x, y, lengths), epochs=self.setup.max_epochs,
                                       seed=self.seed, device=self.device)
                if parts.front is not None:
                    x, lengths, featurized = parts.batches.x, None, True
                parts.batches = DataStreamer(x[keep], y[keep], rows(lengths, keep),
                                             batch_size=self.config["batch_size"],
                                             seed=self.seed)
                if featurized:
                    prepare(parts.fit, x[keep], y[keep])  # the fold's own training rows
            self.folds.append(parts)
            inputs = (x[held], None) if featurized else parts.inputs(x[held],
                                                                     rows(lengths, held))
            self.valid.append((*inputs, y[held]))

    @property
    def model(self):
        return self.folds[0].model

    def train_one_epoch(self) -> dict:
        import torch

        from tuner.training.loop import predict, train_epoch
        from tuner.training.tasks import evaluate

        lr = self.folds[0].schedule.lr
        start = time.perf_counter()
        losses, outputs, targets = [], [], []
        for parts, (x, lengths, y) in zip(self.folds, self.valid, strict=True):
            losses.append(train_epoch(parts.fit, parts.batches, parts.optimizer, parts.loss_fn))
            outputs.append(predict(parts.fit, x, lengths))
            targets.append(y)
        self.epoch += 1
        train_loss = sum(losses) / len(losses)
        if not math.isfinite(train_loss):
            return self.diverged(train_loss, lr, time.perf_counter() - start)
        metrics = evaluate(torch.cat(outputs), torch.cat(targets), self.data)
        if not math.isfinite(metrics["val_loss"]):
            return self.diverged(metrics["val_loss"], lr, time.perf_counter() - start)
        for parts, out, y in zip(self.folds, outputs, targets, strict=True):
            # each fold's schedule follows its own validation loss
            parts.schedule.step(evaluate(out, y, self.data)["val_loss"] if len(self.folds) > 1
                                else metrics["val_loss"])
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
        folds = [{"model": p.model.state_dict(), "optimizer": p.optimizer.state_dict(),
                  "schedule": p.schedule.state_dict(),
                  "batches_rng": p.batches.generator.get_state()} for p in self.folds]
        if len(folds) == 1:
            return {**folds[0], "epoch": self.epoch}
        return {"folds": folds, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        folds = state.get("folds", [state])
        if len(folds) != len(self.folds):
            raise ValueError(f"the checkpoint holds {len(folds)} fold model(s), this trial "
                             f"trains {len(self.folds)}")
        for parts, fold in zip(self.folds, folds, strict=True):
            parts.model.load_state_dict(fold["model"])
            parts.optimizer.load_state_dict(fold["optimizer"])
            parts.schedule.load_state_dict(fold["schedule"])
            parts.batches.generator.set_state(fold["batches_rng"])
        self.epoch = int(state["epoch"])


KEEP_CHECKPOINTS = 2  # the newest a trial keeps (the driver may not have seen the last yet)


def prune_checkpoints(latest, keep: int = KEEP_CHECKPOINTS) -> list[str]:
    """Delete the trial's checkpoints older than its `keep` newest (`latest`: the one just
    reported). Returns the names deleted.

    The trial prunes its own folder rather than have Ray Tune keep one per trial
    (`CheckpointConfig(num_to_keep=1)`): with that setting Tune saves its whole experiment state
    after every checkpoint of every trial, work that grows with the trials so far and made long
    searches of short trials slower at each trial. Tune now saves it on its own period, and
    a resume continues each trial from the newest checkpoint in its folder.
    """
    from pyarrow.fs import FileSelector, FileType

    if latest is None:
        return []
    fs, path = latest.filesystem, latest.path.rstrip("/")
    parent, name = path.rsplit("/", 1) if "/" in path else ("", path)
    try:
        newest = int(name.split("_")[1])
        found = fs.get_file_info(FileSelector(parent or "."))
    except (OSError, ValueError, IndexError):
        return []
    deleted = []
    for info in found:
        base = info.path.rstrip("/").rsplit("/", 1)[-1]
        if info.type != FileType.Directory or not base.startswith("checkpoint_"):
            continue
        try:
            index = int(base.split("_")[1])
        except (ValueError, IndexError):
            continue
        if index <= newest - keep:
            try:
                fs.delete_dir(info.path)
                deleted.append(base)
            except OSError:  # gone already (a second worker of a restored trial): nothing to do
                pass
    return sorted(deleted)


def load_trial_state(checkpoint) -> dict:
    """The training state a trial saved in `checkpoint` (a `ray.tune.Checkpoint`).

    Ray Tune saves its experiment state on a period, and each trial deletes its older
    checkpoints (`prune_checkpoints`): a driver killed in between leaves a state that can name
    a deleted checkpoint. On local storage the trial then continues from the newest
    checkpoint in its folder.
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
    for name, blob in setup.objects.items():
        from tuner.user_code import register_python_object, unpickle_python_object

        register_python_object(name, unpickle_python_object(blob, where="[model] factory"))
    active = setup.space.resolve(config)
    trial = Trial(active, data, setup)
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        trial.load_state_dict(load_trial_state(checkpoint))
    # the Ray node this trial runs on: on a cluster, results show where each epoch ran
    node = ray.get_runtime_context().get_node_id()
    from tuner.training.loop import trains

    # a closed-form model (ROCKET's ridge head) is whole after one epoch: it says so and ends
    closed_form = not trains(trial.folds[0].fit)
    while trial.epoch < setup.max_epochs:
        metrics = trial.train_one_epoch()
        if closed_form:
            metrics["converged"] = 1
        with tempfile.TemporaryDirectory() as d:
            torch.save(trial.state_dict(), os.path.join(d, CHECKPOINT_FILE))
            tune.report({**metrics, "node": node},
                        checkpoint=tune.Checkpoint.from_directory(d))
        prune_checkpoints(tune.get_checkpoint())
        if metrics["diverged"] or closed_form:
            return
