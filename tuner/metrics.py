"""Metric names, their better direction, and which task reports which (no torch import)."""

import math

MODES = {
    "val_loss": "min",
    "train_loss": "min",
    "accuracy": "max",
    "f1": "max",
    "precision": "max",
    "recall": "max",
    "mae": "min",
    "rmse": "min",
    "mase": "min",
}

# what a trial reports after each epoch, per task (val_loss: the training loss on valid)
TASK_METRICS = {
    "classification": ("val_loss", "accuracy", "f1", "precision", "recall", "train_loss"),
    "regression": ("val_loss", "mae", "rmse", "train_loss"),
    "forecasting": ("val_loss", "mae", "rmse", "mase", "train_loss"),
}


def higher_is_better(metric: str) -> bool:
    return MODES.get(metric) == "max"


def is_better(metric: str, new: float, old: float | None) -> bool:
    if old is None or not math.isfinite(old):
        return math.isfinite(new)
    return new > old if higher_is_better(metric) else new < old
