"""TrialRecord: what tuner knows about one trial (config, curve summary, how it ended)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from tuner.vocabulary import METRICS, Status, is_better


@dataclass
class TrialRecord:
    trial: str  # readable name, also the TensorBoard run name: trial_001
    trial_id: str  # Ray Tune's id
    config: dict
    status: Status = Status.RUNNING
    reason: str = ""
    epochs: int = 0
    best: dict = field(default_factory=dict)  # metric -> best value over epochs
    best_epoch: dict = field(default_factory=dict)  # metric -> epoch of that best value
    at_best: dict = field(default_factory=dict)  # all metrics at the experiment metric's best
    last: dict = field(default_factory=dict)
    compute_s: float = 0.0  # training time measured inside the trial

    def update(self, result: dict, metric: str) -> None:
        epoch = int(result.get("epoch", result.get("training_iteration", self.epochs + 1)))
        self.epochs = epoch
        self.compute_s += float(result.get("epoch_time_s", 0.0))
        metrics = {
            k: float(result[k])
            for k in (*METRICS, "lr")
            if isinstance(result.get(k), (int, float))
        }
        self.last = metrics
        for m in METRICS:  # the best value (and its epoch) of every metric reported
            if m not in metrics:
                continue
            tie = m == metric and metrics[m] == self.best.get(m) and metrics.get(
                "val_loss", math.inf) < self.at_best.get("val_loss", math.inf)
            # an equal score at a lower validation loss is a better epoch: accuracy on a small
            # validation split saturates early, and final training reuses this epoch count
            if is_better(m, metrics[m], self.best.get(m)) or tie:
                self.best[m] = metrics[m]
                self.best_epoch[m] = epoch
                if m == metric:
                    self.at_best = dict(metrics)
        if result.get("diverged"):
            self.status = Status.DIVERGED
            self.reason = str(result.get("reason", "loss became nan or inf"))

    def finish(self, max_epochs: int) -> None:
        if self.status == Status.RUNNING:
            self.status = Status.COMPLETED if self.epochs >= max_epochs else Status.STOPPED_EARLY

    def value(self, metric: str) -> float:
        v = self.best.get(metric)
        return v if v is not None and math.isfinite(v) else math.nan

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrialRecord:
        record = cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})
        record.status = Status(record.status)
        return record
