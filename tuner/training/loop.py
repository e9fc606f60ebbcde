"""The training loop's pieces, shared by tuning trials and final training.

Small named functions (make_optimizer, train_epoch, evaluate) rather than one long loop, so the
trial and `tuner train` compute exactly the same thing.
"""

from __future__ import annotations

import hashlib
import json
import math
import random

import numpy as np
import torch
from torch import nn

from tuner.data.streamer import DataStreamer


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def config_seed(seed: int, config: dict) -> int:
    """A per-trial seed from the experiment seed and the config (same config → same run)."""
    text = json.dumps({"seed": seed, "config": config}, sort_keys=True, default=str)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def pick_device(gpu: float, wanted: str = "auto") -> torch.device:
    """CUDA when the trial was given a GPU share and one is visible; else Apple's MPS when
    `wanted` is "auto" or "mps" and torch reports it available (Ray schedules no MPS share: a
    Mac's trials share its one GPU); else the CPU."""
    if gpu > 0 and torch.cuda.is_available():
        return torch.device("cuda")
    if wanted in ("auto", "mps") and mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def make_optimizer(model: nn.Module, config: dict) -> torch.optim.Optimizer:
    name, lr, wd = config["optimizer"], config["lr"], config.get("weight_decay", 0.0)
    # frozen parameters (a fine-tuned model's first blocks) are left out: never updated, and
    # never shrunk by weight decay either
    groups = getattr(model, "param_groups", None)  # parts learning at their own rate
    params = groups(config) if callable(groups) else None
    params = params or [p for p in model.parameters() if p.requires_grad]
    if not params:  # a closed-form head: nothing to update, but the schedule wants a group
        params = [torch.zeros(0, requires_grad=True)]
    if name in ("adam", "adamw"):
        cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        try:
            # the same update in one kernel per step instead of a loop over the parameters:
            # 10-20 % of a small CNN's epoch on the CPU (CPU support since torch 2.4)
            return cls(params, lr=lr, weight_decay=wd, fused=True)
        except (RuntimeError, ValueError, TypeError):
            return cls(params, lr=lr, weight_decay=wd)
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=lr, weight_decay=wd, momentum=config.get("momentum", 0.9), nesterov=True
        )
    raise ValueError(f"unknown optimizer {name!r}; choose adam, adamw or sgd")


class LRSchedule:
    """none | cosine (linear warm-up then cosine decay over the epochs) | plateau (halve on stall).

    Stepped once per epoch with the epoch's monitored loss.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, config: dict, epochs: int):
        self.kind = config.get("lr_schedule", "none")
        self.optimizer = optimizer
        if self.kind == "cosine":
            warm = int(config.get("warmup_epochs", 0))
            total = max(int(epochs), 1)

            def factor(e: int) -> float:  # e = epochs completed
                if e < warm:
                    return (e + 1) / (warm + 1)
                return 0.5 * (
                    1 + math.cos(math.pi * min(e - warm, total - warm) / max(total - warm, 1))
                )

            self.inner = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        elif self.kind == "plateau":
            self.inner = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode="min", factor=0.5, patience=2
            )
        elif self.kind == "none":
            self.inner = None
        else:
            raise ValueError(f"unknown lr_schedule {self.kind!r}; choose none, cosine or plateau")

    def step(self, monitored_loss: float) -> None:
        if all(p.numel() == 0 for g in self.optimizer.param_groups for p in g["params"]):
            return  # a closed-form model's placeholder: no step was taken, none to schedule
        if self.kind == "cosine":
            self.inner.step()
        elif self.kind == "plateau":
            self.inner.step(monitored_loss)

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def state_dict(self) -> dict:
        return self.inner.state_dict() if self.inner is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.inner is not None and state:
            self.inner.load_state_dict(state)


def forward(model: nn.Module, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Call the model, passing true sequence lengths only to models of padded sequences."""
    return model(x) if lengths is None else model(x, lengths)


def trains(model: nn.Module) -> bool:
    """Whether gradient descent has anything to change in `model` (a closed-form head, solved
    at `prepare`, has not: its trial ends after one epoch)."""
    return any(p.requires_grad for p in model.parameters())


def train_epoch(model: nn.Module, batches: DataStreamer, optimizer, loss_fn) -> float:
    """One pass over the training batches; the mean loss (nan/inf if training diverged).
    A model with nothing to train (a closed-form head) only has its training loss measured;
    one trained by rounds (boosted trees) adds its rounds on all the training rows first."""
    from tuner.models.layers import TrainsByRounds

    if isinstance(model, TrainsByRounds):
        x, y = batches.tensors[0], batches.tensors[1]
        model.boost(x, y)
        # its training loss in one batch: every call scores all its trees, whatever the rows
        batches = DataStreamer(x, y, batch_size=max(len(x), 1), shuffle=False)
    if not trains(model):
        return _mean_loss(model, batches, loss_fn)
    model.train()
    total = torch.zeros((), device=batches.x.device)
    count = 0
    for x, y, *rest in batches:
        lengths = rest[0] if rest else None
        optimizer.zero_grad(set_to_none=True)
        out = forward(model, x, lengths)
        loss = loss_fn(out.reshape(y.shape) if y.is_floating_point() else out, y)
        loss.backward()
        optimizer.step()
        total += loss.detach() * len(y)
        count += len(y)
    return float(total / max(count, 1))


@torch.no_grad()
def _mean_loss(model: nn.Module, batches: DataStreamer, loss_fn) -> float:
    model.eval()
    total, count = torch.zeros((), device=batches.x.device), 0
    for x, y, *rest in batches:
        out = forward(model, x, rest[0] if rest else None)
        total += loss_fn(out.reshape(y.shape) if y.is_floating_point() else out, y) * len(y)
        count += len(y)
    return float(total / max(count, 1))


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, lengths: torch.Tensor | None = None,
            batch_size: int = 1024) -> torch.Tensor:
    model.eval()
    outs = []
    for i in range(0, len(x), batch_size):
        sl = slice(i, i + batch_size)
        outs.append(forward(model, x[sl], None if lengths is None else lengths[sl]))
    return torch.cat(outs)
