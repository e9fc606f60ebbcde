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
from dataclasses import dataclass, field

from tuner.data.splits import Splits
from tuner.spaces.space import SearchSpace
from tuner.training.build import build_training
from tuner.training.device import device_tensors


@dataclass(frozen=True)
class TrialSetup:
    """What every trial of an experiment shares (sent to workers once, with the data)."""

    factory: str
    space: SearchSpace
    max_epochs: int
    seed: int
    cpu: float = 1.0
    gpu: float = 0.0
    device: str = "auto"  # [resources] device: auto | cuda | mps | cpu
    # k > 1: every trial trains k models on folds of train + valid (stratified; for a forecast,
    # rolling-origin: each trains on the past of its validation block) and reports the metrics
    # of their out-of-fold predictions (cross-validation); 1: train, then valid
    folds: int = 1
    # a factory made in Python ("python:<file>"): its pickled bytes, unpickled in the worker
    objects: dict = field(default_factory=dict)


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
        self.device = pick_device(setup.gpu, setup.device)

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
        by the first fold's model (every fold's model is built from the same seed), unless the
        front is fitted to its training rows."""
        import torch

        from tuner.data.streamer import DataStreamer
        from tuner.training.loop import seed_everything

        x, y, lengths = (None if a is None else torch.cat([a, b])
                         for a, b in zip(train, valid, strict=True))

        def rows(a, idx):
            return None if a is None else a[idx]

        self.folds, self.valid = [], []
        featurized = False
        from tuner.models import build_model
        from tuner.models.layers import FitsTrainingRows, FixedFront
        from tuner.training.folds import fold_splits

        # a front fitted to its training rows (MiniRocket's biases) is fitted on each fold's
        # own: its features cannot be shared, or the held-out rows would shape them
        probe = build_model(self.setup.factory, self.config, self.data.input_shape,
                            self.data.n_outputs)
        per_fold = isinstance(probe, FixedFront) and isinstance(probe.fixed, FitsTrainingRows)
        del probe
        for kept, held in fold_splits(y.cpu().numpy(), self.setup.folds, self.seed,
                                      self.data.task, len(valid[1])):
            held = torch.as_tensor(held, device=x.device)
            keep = torch.zeros(len(y), dtype=torch.bool, device=x.device)
            keep[torch.as_tensor(kept, device=x.device)] = True
            seed_everything(self.seed)  # every fold starts from the same model
            if self.folds or per_fold:
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
                    parts.model.prepare_head(x[keep], y[keep])  # the fold's own training rows
                if isinstance(parts.model, FitsTrainingRows):
                    parts.model.fit_rows(x[keep], rows(lengths, keep))  # not the held-out ones
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


def run_trial(config: dict, *, data: Splits, setup: TrialSetup) -> None:
    """Ray Tune function trainable: `tune.with_parameters(run_trial, data=..., setup=...)`."""
    import ray
    import torch
    from ray import tune

    from tuner.raytune.checkpoints import CHECKPOINT_FILE, load_trial_state, prune_checkpoints

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
    from tuner.models.layers import TrainsByRounds
    from tuner.training.loop import trains

    # a closed-form model (ROCKET's ridge head) is whole after one epoch: it says so and ends
    fit = trial.folds[0].fit
    closed_form = not trains(fit) and not isinstance(fit, TrainsByRounds)
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
