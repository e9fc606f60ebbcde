"""Tasks: what a kind of target means for training, selection and the final evaluation.

classification  cross-entropy; accuracy, macro precision / recall / F1; stratified folds; an
                ensemble averages the seeds' class probabilities
regression      mean squared error on standardized targets; MAE and RMSE in original units;
                shuffled folds; an ensemble averages the seeds' predictions
forecasting     as regression, plus MASE: MAE over the naive (repeat the last value) forecast's
                in-sample MAE, so MASE < 1 means better than naive; rolling-origin folds (each
                trains only on the past); the naive forecast's own test figures beside the model's

Each is one object in TASKS (keyed by tuner.vocabulary.TASKS, which lists what each reports);
training, cross-validation and final training ask it instead of testing the task's name.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from tuner.data.splits import Splits


def loss_function(task: str) -> nn.Module:
    return TASKS[task].loss()


def classification_metrics(logits: torch.Tensor, y: torch.Tensor, n_classes: int) -> dict:
    """Cross-entropy, accuracy and macro precision / recall / F1 over the classes present."""
    losses = nn.functional.cross_entropy(logits.float(), y, reduction="none")
    loss = float(losses.mean())
    pred = logits.argmax(dim=1)
    acc = float((pred == y).float().mean())
    n = len(y)
    tp = torch.bincount(y[pred == y], minlength=n_classes).double()
    predicted = torch.bincount(pred, minlength=n_classes).double()
    actual = torch.bincount(y, minlength=n_classes).double()
    precision = torch.where(predicted > 0, tp / predicted.clamp(min=1), torch.zeros_like(tp))
    recall = torch.where(actual > 0, tp / actual.clamp(min=1), torch.zeros_like(tp))
    denom = precision + recall
    f1 = torch.where(
        denom > 0, 2 * precision * recall / denom.clamp(min=1e-12), torch.zeros_like(tp)
    )
    present = (actual > 0) | (predicted > 0)  # wrong guesses into an absent class still count
    return {
        "val_loss": loss,
        "accuracy": acc,
        "precision": float(precision[present].mean()),
        "recall": float(recall[present].mean()),
        "f1": float(f1[present].mean()),
        # standard errors over the examples: two trials closer than this are a tie
        "val_loss_se": standard_error(losses),
        "accuracy_se": accuracy_se(int(round(acc * n)), n),
    }


def accuracy_se(correct: int, n: int) -> float:
    """The uncertainty of an accuracy measured on n examples: the standard deviation of its
    Beta(correct + 1, wrong + 1) posterior. Unlike sqrt(p(1 - p) / n) it is not 0 for a perfect
    score: 54 of 54 right still leaves ~0.018, so such a trial ties with one at 53 of 54.

        >>> round(accuracy_se(54, 54), 4), round(accuracy_se(27, 54), 4)
        (0.0175, 0.0662)
    """
    a, b = correct + 1, n - correct + 1
    return math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))


def standard_error(values: torch.Tensor) -> float:
    """The standard error of the mean of per-example values (0 for a single example)."""
    n = values.numel()
    return float(values.double().std() / math.sqrt(n)) if n > 1 else 0.0


def regression_metrics(outputs: torch.Tensor, y: torch.Tensor, data: Splits) -> dict:
    """val_loss (MSE, scaled), MAE and RMSE in original units, and MASE when a naive MAE exists."""
    outputs = outputs.float().reshape(y.shape)
    losses = (outputs - y) ** 2
    loss = float(losses.mean())
    err = original_units(outputs, data) - original_units(y, data)
    per_example = err.abs().reshape(len(y), -1).mean(dim=1)
    mae = float(per_example.mean())
    out = {"val_loss": loss, "mae": mae, "rmse": math.sqrt(float((err**2).mean())),
           "val_loss_se": standard_error(losses.reshape(len(y), -1).mean(dim=1)),
           "mae_se": standard_error(per_example)}
    if data.naive_mae:
        out["mase"] = mae / data.naive_mae
        out["mase_se"] = out["mae_se"] / data.naive_mae
    return out


def original_units(t: torch.Tensor, data: Splits) -> torch.Tensor:
    """Undo the target's standardization (and its sqrt / log transform, if any)."""
    mean, std = data.target_scale
    t = t * std + mean
    if data.target_transform == "sqrt":
        return t.clamp(min=0) ** 2
    if data.target_transform == "log":
        return torch.expm1(t)
    return t


def evaluate(outputs: torch.Tensor, y: torch.Tensor, data: Splits) -> dict:
    """The task's metrics for model outputs on one split."""
    return TASKS[data.task].evaluate(outputs, y, data)


class Task:
    """One kind of target. Every hook has the regression default."""

    name = "regression"

    def loss(self) -> nn.Module:
        return nn.MSELoss()

    def evaluate(self, outputs: torch.Tensor, y: torch.Tensor, data: Splits) -> dict:
        """The metrics of model outputs on one split (with their standard errors)."""
        return regression_metrics(outputs, y, data)

    def folds(self, y, k: int, seed: int, n_valid: int) -> list:
        """(training indices, validation indices) of each of k folds of train + valid (`y`,
        in that order); `n_valid`: the validation split's size."""
        from tuner.training.folds import shuffled_folds

        return shuffled_folds(y, k, seed, stratified=False)

    def ensemble(self, outputs: list) -> torch.Tensor:
        """Several models' outputs combined into one: their mean prediction."""
        from tuner.models.ensemble import combine

        return combine(outputs, probabilities=False)

    def baseline(self, x: torch.Tensor, y: torch.Tensor) -> tuple[str, torch.Tensor] | None:
        """(what it is, its outputs) of a baseline final training tests beside the model on
        the same test rows, or None."""
        return None


class Classification(Task):
    name = "classification"

    def loss(self) -> nn.Module:
        return nn.CrossEntropyLoss()

    def evaluate(self, outputs, y, data) -> dict:
        return classification_metrics(outputs, y, data.n_outputs)

    def folds(self, y, k: int, seed: int, n_valid: int) -> list:
        from tuner.training.folds import shuffled_folds

        return shuffled_folds(y, k, seed, stratified=True)

    def ensemble(self, outputs: list) -> torch.Tensor:
        """The log of the models' mean class probabilities (read as logits by the metrics)."""
        from tuner.models.ensemble import combine

        return combine(outputs, probabilities=True)


class Forecasting(Task):
    name = "forecasting"

    def folds(self, y, k: int, seed: int, n_valid: int) -> list:
        """Rolling origins: each fold validates on a block of `n_valid` windows and trains
        only on the windows before it whose targets end before the block's first target."""
        import numpy as np

        from tuner.training.folds import rolling_origin

        y = np.asarray(y)
        return rolling_origin(len(y), n_valid, k, y.shape[1] if y.ndim > 1 else 1)

    def baseline(self, x, y):
        """The naive forecast: each window's last value (channel 0, the series) for every
        step ahead. MASE's scale is its error on the training part; the test period may be
        easier or harder, so this is the bar the model must clear there."""
        return "the last value repeated", x[:, -1, :1].expand_as(y).clone()


TASKS: dict[str, Task] = {t.name: t for t in (Classification(), Task(), Forecasting())}

