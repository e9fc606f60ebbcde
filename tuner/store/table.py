"""The results table: one row per trial (trials.csv, `tuner results -o` .csv or .parquet)."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import TYPE_CHECKING

from tuner.errors import UserError

if TYPE_CHECKING:
    from tuner.store.records import TrialRecord

def table(records: list[TrialRecord]) -> tuple[list[str], list[dict]]:
    """(header, rows): one row per trial: trial, status, epochs, reason, compute_s,
    best_<metric>, last_<metric>, config/<param> (blank where a trial lacks it)."""
    params = sorted({k for r in records for k in r.config})
    metrics = sorted({k for r in records for k in (*r.best, *r.last)})
    header = [
        "trial",
        "status",
        "epochs",
        "reason",
        "compute_s",
        *(f"best_{m}" for m in metrics if any(m in r.best for r in records)),
        *(f"last_{m}" for m in metrics),
        *(f"config/{p}" for p in params),
    ]
    rows = [{
        "trial": r.trial,
        "status": str(r.status),
        "epochs": r.epochs,
        "reason": r.reason,
        "compute_s": round(r.compute_s, 3),
        **{f"best_{m}": v for m, v in r.best.items()},
        **{f"last_{m}": v for m, v in r.last.items()},
        **{f"config/{p}": v for p, v in r.config.items()},
    } for r in records]
    return header, rows


def write_table(path: Path, records: list[TrialRecord]) -> None:
    """trials.csv: `table(records)` as CSV, replaced atomically."""
    header, rows = table(records)
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for row in rows:
            w.writerow([row.get(h, "") for h in header])
    os.replace(tmp, path)


def check_output(path: Path, kinds: tuple[str, ...], example: str) -> None:
    """UserError unless `path` is a new or existing file of one of `kinds` in a folder."""
    if path.suffix not in kinds:
        raise UserError(f"{path}: unknown extension {path.suffix!r}; write "
                        f"{' or '.join(kinds)}")
    if path.is_dir():
        raise UserError(f"{path}: is a directory; give a file name such as {example}")
    if not path.parent.exists():
        raise UserError(f"{path}: folder {path.parent} does not exist; create it first")
    if not path.parent.is_dir():
        raise UserError(f"{path}: {path.parent} is a file, not a folder; give another path")


def export_table(path: Path, records: list[TrialRecord]) -> None:
    """`tuner results -o`: .csv, or .parquet (typed columns, missing values as nulls)."""
    check_output(path, (".csv", ".parquet"), "trials.csv")
    if path.suffix == ".csv":
        write_table(path, records)
        return
    frame(records).to_parquet(path, index=False)


def frame(records: list[TrialRecord]):
    """The trials as a pandas DataFrame, one row each (the columns of `table`)."""
    import pandas as pd

    header, rows = table(records)
    out = pd.DataFrame(rows, columns=header)
    for c in out.columns:  # a choice of mixed types (e.g. 'none' or 0.1) is stored as text
        if out[c].dtype == object and out[c].map(type).nunique() > 1:
            out[c] = out[c].map(lambda v: None if v is None or v != v else str(v))
    return out
