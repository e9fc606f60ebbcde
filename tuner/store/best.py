"""The best trial: chosen from the records, written as best.toml or .json, read back to train."""

from __future__ import annotations

import json
import math
from pathlib import Path

from tuner.errors import UserError, parse_problem
from tuner.store.records import TrialRecord
from tuner.store.table import check_output
from tuner.store.toml import to_toml


def _loss(r: TrialRecord) -> float:
    v = r.at_best.get("val_loss", math.inf)
    return v if math.isfinite(v) else math.inf


def tied_with_leader(records: list[TrialRecord], metric: str, mode: str) -> list[TrialRecord]:
    """The leader on `metric` (ties on the value to the lower validation loss, then the earlier
    trial) and every scored trial within the leader's standard error (`<metric>_se`, which
    trials report over their validation examples) of it; [] when no trial has a result.
    Without a standard error, or for val_loss itself, only the leader."""
    # (position, record): the earlier trial wins a full tie; positions, not list.index,
    # which compared whole records and made this quadratic in the number of trials
    scored = [
        (i, r)
        for i, r in enumerate(records)
        if math.isfinite(r.value(metric)) and not r.status.failed
    ]
    if not scored:
        return []
    sign = 1 if mode == "max" else -1
    _, leader = max(scored, key=lambda ir: (sign * ir[1].value(metric), -_loss(ir[1]), -ir[0]))
    se = leader.at_best.get(f"{metric}_se", 0.0)
    if metric == "val_loss" or not (isinstance(se, float) and math.isfinite(se)):
        return [leader]
    return [leader] + [r for _, r in scored if r is not leader
                       and sign * (leader.value(metric) - r.value(metric)) <= se]


def best_record(records: list[TrialRecord], metric: str, mode: str) -> TrialRecord | None:
    """The trial with the best value of `metric` at any epoch.

    A difference smaller than the leader's standard error is a tie, not a win: on 40
    validation series one example moves accuracy by 0.025. Ties go to the lower validation
    loss at that epoch, then to the better value, then to the earlier trial.
    """
    tied = tied_with_leader(records, metric, mode)
    if not tied:
        return None
    sign = 1 if mode == "max" else -1
    position = {id(r): i for i, r in enumerate(records)}
    return min(tied, key=lambda r: (_loss(r), -sign * r.value(metric), position[id(r)]))


def best_document(exp_name: str, record: TrialRecord, metric: str, mode: str) -> dict:
    return {
        "experiment": exp_name,
        "trial": record.trial,
        "metric": metric,
        "mode": mode,
        "value": record.best[metric],
        "best_epoch": record.best_epoch.get(metric, record.epochs),
        "epochs": record.epochs,
        "status": str(record.status),
        "metrics": record.at_best or record.best,
        "config": record.config,
    }


def write_best(path: Path, doc: dict) -> None:
    """Write the best-config document as TOML or JSON, chosen by the file extension."""
    path = Path(path)
    check_output(path, (".toml", ".json"), "best.toml")
    if path.suffix == ".json":
        text = json.dumps(doc, indent=2) + "\n"
    else:
        text = to_toml(
            doc,
            f"Best trial of {doc['experiment']}: {doc['trial']}, {doc['metric']} "
            f"{doc['value']:.4g} at epoch {doc['best_epoch']}.\n"
            f"Reuse it: tuner train EXPERIMENT --config {path.name}",
        )
    try:
        path.write_text(text)
    except OSError as e:
        raise UserError(f"{path}: cannot write it ({e.strerror}); give another path") from None


def read_config_file(path: str | Path) -> dict:
    """A best file (TOML/JSON with a [config] table) or a plain table of hyperparameters."""
    import tomllib

    p = Path(path)
    if not p.is_file():
        raise UserError(
            f"{path}: no such config file; write one with `tuner best NAME -o best.toml`"
        )
    kind = "JSON" if p.suffix == ".json" else "TOML"
    try:
        text = p.read_text(encoding="utf-8")
        doc = json.loads(text) if p.suffix == ".json" else tomllib.loads(text)
    except OSError as e:
        raise UserError(f"{path}: cannot read it ({e.strerror})") from None
    except (ValueError, RecursionError) as e:  # parse errors, UnicodeDecodeError, deep nesting
        raise UserError(f"{path}: cannot parse it as {kind} ({parse_problem(e)}); fix it or "
                        f"write it again with `tuner best NAME -o {p.name}`") from None
    if not isinstance(doc, dict):
        raise UserError(f"{path}: must hold a table of hyperparameters, but holds "
                        f"{type(doc).__name__}")
    if "config" in doc and not isinstance(doc["config"], dict):
        raise UserError(f"{path}: config must be a table of hyperparameters ([config]), but "
                        f"got {doc['config']!r}")
    epoch = doc.get("best_epoch", 1)
    if not isinstance(epoch, int) or isinstance(epoch, bool) or not 1 <= epoch <= 100_000:
        raise UserError(f"{path}: best_epoch must be an integer between 1 and 100000, but got "
                        f"{epoch!r}; fix it, or give the epochs with --epochs N")
    return doc
