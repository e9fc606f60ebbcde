"""TrialRecord, what tuner knows about one trial (config, curve summary, how it ended), and
trials.json, where the driver keeps one per trial."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from tuner.errors import UserError, parse_problem
from tuner.store.table import write_table
from tuner.vocabulary import METRICS, STATUSES, Status, is_better


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
    converged: bool = False  # ended itself before max_epochs: a closed-form model, whole at once
    node: str = ""  # the address of the Ray node it last ran on

    def update(self, result: dict, metric: str) -> None:
        epoch = int(result.get("epoch", result.get("training_iteration", self.epochs + 1)))
        self.epochs = epoch
        self.compute_s += float(result.get("epoch_time_s", 0.0))
        metrics = {
            k: float(result[k])
            for k in (*METRICS, *(f"{m}_se" for m in METRICS), "lr")
            if isinstance(result.get(k), (int, float))
        }
        self.last = metrics
        self.node = str(result.get("node_ip") or self.node)
        self.converged = bool(result.get("converged"))
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
            whole = self.epochs >= max_epochs or self.converged
            self.status = Status.COMPLETED if whole else Status.STOPPED_EARLY

    def value(self, metric: str) -> float:
        v = self.best.get(metric)
        return v if v is not None and math.isfinite(v) else math.nan

    def to_dict(self) -> dict:
        # shallow: the ledger is rewritten at every trial's end, and asdict's deep copy of
        # every record made that the driver's largest cost in long searches
        return {f: getattr(self, f) for f in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: dict) -> TrialRecord:
        record = cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})
        record.status = Status(record.status)
        return record


def load_records(exp: Path) -> list[TrialRecord]:
    """The trial records of an experiment folder ([] before the first trial)."""
    f = Path(exp) / "trials.json"
    if not f.exists():
        return []
    try:
        docs = json.loads(f.read_text())
    except (OSError, ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        reason = e.strerror if isinstance(e, OSError) else f"not JSON: {parse_problem(e)}"
        raise UserError(f"{f}: unreadable trial records ({reason}); {_RECORDS_FIX}") from None
    if not isinstance(docs, list):
        raise UserError(f"{f}: must hold a list of trial records, but holds "
                        f"{type(docs).__name__}; {_RECORDS_FIX}")
    return [_record(f, i, d) for i, d in enumerate(docs, 1)]


_RECORDS_FIX = "tuner wrote it: restore it, or run the experiment again with --overwrite"


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _record(f: Path, i: int, d) -> TrialRecord:
    """One record of trials.json, checked field by field (a hand-edited file says where)."""

    def bad(key: str, rule: str, got) -> UserError:
        return UserError(f"{f}: record {i}: {key} must be {rule}, but got {got!r}; "
                         f"{_RECORDS_FIX}")

    if not isinstance(d, dict):
        raise bad("each record", "a table", d)
    for key in ("trial", "trial_id"):
        if not isinstance(d.get(key), str):
            raise bad(key, "a string", d.get(key))
    if not isinstance(d.get("config"), dict):
        raise bad("config", "a table of hyperparameters", d.get("config"))
    if d.get("status", Status.RUNNING) not in STATUSES:
        raise bad("status", f"one of {', '.join(STATUSES)}", d.get("status"))
    for key in ("reason", "node"):
        if not isinstance(d.get(key, ""), str):
            raise bad(key, "a string", d.get(key))
    epochs = d.get("epochs", 0)
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise bad("epochs", "a non-negative integer", epochs)
    if not _is_number(d.get("compute_s", 0.0)):
        raise bad("compute_s", "a number", d.get("compute_s"))
    if not isinstance(d.get("converged", False), bool):
        raise bad("converged", "true or false", d.get("converged"))
    for key in ("best", "at_best", "last"):
        table = d.get(key, {})
        if not isinstance(table, dict) or not all(map(_is_number, table.values())):
            raise bad(key, "a table of metric values", table)
    table = d.get("best_epoch", {})
    if not isinstance(table, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in table.values()
    ):
        raise bad("best_epoch", "a table of epochs (integers from 1)", table)
    return TrialRecord.from_dict(d)


def save_records(exp: Path, records: list[TrialRecord], *, table: bool = True,
                 encoded: dict[str, str] | None = None) -> None:
    """trials.json (replaced atomically) and, with `table`, trials.csv beside it. `encoded`
    (trial_id -> line) keeps each record's line for the next save; the caller drops a
    record's entry when it changes it."""
    exp = Path(exp)
    tmp = exp / "trials.json.tmp"

    # one record per line, each by the C encoder (json's `indent` takes the pure-Python one,
    # which cost 60 ms a save at 300 trials)
    def line(r: TrialRecord) -> str:
        if encoded is None:
            return json.dumps(r.to_dict(), default=str)
        text = encoded.get(r.trial_id)
        if text is None:
            text = encoded[r.trial_id] = json.dumps(r.to_dict(), default=str)
        return text

    lines = ",\n".join(map(line, records))
    tmp.write_text(f"[\n{lines}\n]\n" if records else "[]\n")
    os.replace(tmp, exp / "trials.json")
    if table:
        write_table(exp / "trials.csv", records)
