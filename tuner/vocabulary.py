"""tuner's vocabulary: the metrics trials report and how a trial ends. No torch, no Ray.

Every other list of these words (the modes `--metric` accepts, what a task reports, what a
record keeps the best of, the TensorBoard tags, what a diverged trial reports, the statuses a
trials.json may hold) is derived from the two tables here, so adding a metric is one line.

>>> TASK_METRICS["regression"]
('val_loss', 'mae', 'rmse', 'train_loss')
>>> MODES["recall"], Status("stopped early").failed, f"{Status.ERRORED:>8}"
('max', False, ' errored')
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

TASKS = ("classification", "regression", "forecasting")
_SUPERVISED = TASKS
_CLASSES = ("classification",)
_NUMBERS = ("regression", "forecasting")


@dataclass(frozen=True)
class Metric:
    name: str
    mode: str  # "min" or "max": the better direction
    tasks: tuple[str, ...]  # the tasks whose trials report it after every epoch
    tag: str  # its TensorBoard tag
    about: str  # one line for a user

    @property
    def worst(self) -> float:
        """What a diverged trial reports: a value every searcher can still rank, last."""
        return 0.0 if self.mode == "max" else math.inf


# In the order a task's metrics are listed (the validation loss first, the training loss last).
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("val_loss", "min", _SUPERVISED, "loss/val",
           "the training loss on the validation split"),
    Metric("accuracy", "max", _CLASSES, "metrics/accuracy", "share of correct labels"),
    Metric("f1", "max", _CLASSES, "metrics/f1", "macro F1: the mean of the per-class F1 scores"),
    Metric("precision", "max", _CLASSES, "metrics/precision", "macro precision"),
    Metric("recall", "max", _CLASSES, "metrics/recall", "macro recall"),
    Metric("mae", "min", _NUMBERS, "metrics/mae", "mean absolute error, in the target's units"),
    Metric("rmse", "min", _NUMBERS, "metrics/rmse", "root mean squared error, in its units"),
    Metric("mase", "min", ("forecasting",), "metrics/mase",
           "MAE over the naive forecast's in-sample MAE: below 1 beats naive"),
    Metric("train_loss", "min", _SUPERVISED, "loss/train",
           "the mean training loss of the epoch"),
)}

MODES: dict[str, str] = {name: m.mode for name, m in METRICS.items()}
TASK_METRICS: dict[str, tuple[str, ...]] = {
    task: tuple(name for name, m in METRICS.items() if task in m.tasks) for task in TASKS
}


def higher_is_better(metric: str) -> bool:
    return MODES.get(metric) == "max"


def is_better(metric: str, new: float, old: float | None) -> bool:
    if old is None or not math.isfinite(old):
        return math.isfinite(new)
    return new > old if higher_is_better(metric) else new < old


def diverged_metrics(task: str) -> dict[str, float]:
    """Every metric `task` reports, at its worst: what a trial whose loss became NaN reports."""
    return {name: METRICS[name].worst for name in TASK_METRICS[task]}


class Status(enum.StrEnum):
    """How a trial stands. A `str`, so it compares, prints and serializes as its text.

    Listed in the order reports count them: the good endings first, the failures last.
    """

    COMPLETED = "completed"  # trained all max_epochs
    STOPPED_EARLY = "stopped early"  # the scheduler stopped it: ended normally
    RUNNING = "running"  # running, paused, or unfinished when the driver stopped
    DIVERGED = "diverged"  # its loss became NaN or inf; reported to the searcher as the worst
    ERRORED = "errored"  # it raised, or its worker or node died

    @property
    def ended(self) -> bool:
        return self is not Status.RUNNING

    @property
    def failed(self) -> bool:
        """Ended without a usable result: never the best trial, never warm-starts a search."""
        return self in (Status.DIVERGED, Status.ERRORED)

    @property
    def ray_status(self) -> str | None:
        """Ray Tune's status for a trial that ended this way (None while running)."""
        return {Status.RUNNING: None, Status.ERRORED: "ERROR"}.get(self, "TERMINATED")


STATUSES: tuple[Status, ...] = tuple(Status)
