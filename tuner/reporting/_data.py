"""An experiment folder as the report reads it: spec, space, records and learning curves."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

from tuner.errors import UserError
from tuner.experiment import SAVED, ExperimentSpec, load_saved
from tuner.spaces import Choice, Fixed, IntRange, Prior, SearchSpace, Uniform
from tuner.store import TrialRecord, load_records
from tuner.vocabulary import STATUSES, Status

Curve = list[tuple[int, float]]  # (epoch, metric), epochs increasing


@dataclass
class Experiment:
    dir: Path
    spec: ExperimentSpec
    space: SearchSpace
    records: list[TrialRecord]
    ranked: list[TrialRecord]  # every trial with a finite metric, best first
    full: list[TrialRecord]  # the ranked trials that ran the whole budget (status completed)
    curves: dict[str, Curve]  # trial name -> its metric per epoch
    params: list[str]  # tunable hyperparameters some trial has, in the space's order

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def metric(self) -> str:
        return self.spec.search.metric

    @property
    def mode(self) -> str:
        return self.spec.search.mode

    @property
    def max_epochs(self) -> int:
        return self.spec.search.max_epochs

    def count(self, status: Status) -> int:
        return sum(r.status == status for r in self.records)


def load(exp_dir: Path) -> Experiment:
    """Read an experiment folder; fewer than 2 full-budget trials is a UserError."""
    exp_dir = Path(exp_dir)
    if not (exp_dir / SAVED).is_file():
        raise UserError(f"{exp_dir}: not an experiment folder (no {SAVED}); give the folder "
                        f"`tuner run` wrote, e.g. results/digits_cnn")
    spec = load_saved(exp_dir)
    space = spec.space()
    records = load_records(exp_dir)
    metric, epochs = spec.search.metric, spec.search.max_epochs
    sign = 1 if spec.search.mode == "max" else -1
    scored = [r for r in records
              if math.isfinite(r.value(metric)) and not r.status.failed]
    # ties (accuracy saturates on small validation splits) go to the lower validation loss
    ranked = sorted(scored, key=lambda r: (-sign * r.value(metric),
                                           r.at_best.get("val_loss", math.inf)))
    full = [r for r in ranked if r.status == Status.COMPLETED and r.epochs >= epochs]
    if len(full) < 2:
        counts = ", ".join(f"{sum(r.status == s for r in records)} {s}"
                           for s in STATUSES if any(r.status == s for r in records))
        raise UserError(
            f"{exp_dir}: {len(full)} of {len(records)} trials ran the full {epochs} epochs "
            f"({counts or 'no trials yet'}); a report compares finished trials and needs at "
            f"least 2: finish the search (tuner resume {exp_dir}) or run more trials "
            f"(tuner run {spec.path} --samples N)")
    params = [n for n, p in space.priors.items()
              if not isinstance(p, Fixed) and any(n in r.config for r in records)]
    curves = {r.trial: read_curve(exp_dir / r.trial, metric) for r in records}
    return Experiment(exp_dir, spec, space, records, ranked, full, curves, params)


def read_curve(trial_dir: Path, metric: str) -> Curve:
    """The metric per epoch from Ray's progress.csv, else its result.json (one JSON a line)."""
    rows = _csv_rows(trial_dir / "progress.csv")
    if not any(metric in row for row in rows):
        rows = _json_rows(trial_dir / "result.json")
    points: dict[int, float] = {}
    for i, row in enumerate(rows, 1):
        value = _number(row.get(metric))
        epoch = _number(row.get("epoch", row.get("training_iteration")))
        if value is not None and math.isfinite(value):
            # a trial restored from a checkpoint reports its epochs again: the last one counts
            points[int(epoch) if epoch is not None else i] = value
    return sorted(points.items())


def _csv_rows(path: Path) -> list[dict]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except (OSError, csv.Error, ValueError):  # missing, or cut short by a killed trial
        return []


def _json_rows(path: Path) -> list[dict]:
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError):
        return []
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _number(v) -> float | None:
    if isinstance(v, bool):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


# -- priors seen as axes ----------------------------------------------------------------------
def is_log(p: Prior) -> bool:
    return getattr(p, "log", False)


def is_numeric(p: Prior) -> bool:
    """A range with an order and room inside (a choice is a set of categories)."""
    return isinstance(p, Uniform) or (isinstance(p, IntRange) and p.low < p.high)


def position(p: Prior, v) -> float:
    """Where v sits on p's axis, 0..1 (log scale for log priors); nan when it is not there."""
    if isinstance(p, Choice):
        i = choice_index(p, v)
        if i is None:
            return math.nan
        return 0.5 if len(p.options) == 1 else i / (len(p.options) - 1)
    if isinstance(p, Fixed) or (isinstance(p, IntRange) and p.low == p.high):
        return 0.5
    if not _is_number(v):
        return math.nan
    lo, hi = float(p.low), float(p.high)
    if is_log(p):
        return (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo)) if v > 0 else math.nan
    return (v - lo) / (hi - lo)


def choice_index(p: Choice, v) -> int | None:
    """The option v is (1 and 1.0 alike, but True is not 1), or None."""
    for i, o in enumerate(p.options):
        if o == v and (type(o) is type(v) or (_is_number(o) and _is_number(v))):
            return i
    return None


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def value_at(p: Prior, pos: float) -> float:
    """The inverse of `position` for a numeric prior."""
    lo, hi = float(p.low), float(p.high)
    if is_log(p):
        return math.exp(math.log(lo) + pos * (math.log(hi) - math.log(lo)))
    return lo + pos * (hi - lo)


def fmt(v) -> str:
    """A hyperparameter value for people: floats to 3 significant digits."""
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)
