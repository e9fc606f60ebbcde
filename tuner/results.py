"""Results on disk: the trials ledger, the best config, the results table (no Ray import).

<storage>/<name>/
    experiment.json   the validated experiment (so best / train / status need no file)
    trials.json       one record per trial: config, best metrics, epochs, status
    trials.csv        the same as a table with config/<param> columns
    best.toml         the best trial's config and metrics
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

from tuner.errors import UserError, did_you_mean, parse_problem
from tuner.tracking.records import TrialRecord
from tuner.vocabulary import STATUSES, Status


def storage_root(storage: str | None = None) -> Path:
    """--storage, else $TUNER_STORAGE, else ./results: a folder (or one that can be made)."""
    env = os.environ.get("TUNER_STORAGE")
    label = "--storage" if storage else "$TUNER_STORAGE" if env else "storage root"
    raw = storage or env or "results"
    root = _expand(raw, label).resolve()
    # the nearest existing part must be a folder, or results could never be written there
    for part in (root, *root.parents):
        if part.exists():
            if not part.is_dir():
                at = "is a file" if part == root else f"lies under {part}, which is a file"
                raise UserError(f"{label} {raw}: {at}, not a folder; give a folder path")
            break
    return root


def _expand(raw: str, label: str) -> Path:
    try:
        return Path(raw).expanduser()
    except RuntimeError:  # ~user for a user this machine does not know
        raise UserError(f"{label} {raw}: cannot expand {raw.split('/')[0]!r}: no such user's "
                        f"home folder; give the full path") from None


def find_experiment(name_or_dir: str, storage: str | None = None) -> Path:
    """The folder of an experiment by name (under the storage root) or by path."""
    p = _expand(name_or_dir, "experiment")
    if p.is_dir() and (p / "experiment.json").exists():
        return p.resolve()
    root = storage_root(storage)
    q = root / name_or_dir
    if (q / "experiment.json").exists():
        return q
    known = (
        sorted(d.name for d in root.glob("*") if (d / "experiment.json").exists())
        if root.is_dir()
        else []
    )
    listing = f"; experiments here: {', '.join(known)}" if known else "; none found there yet"
    raise UserError(
        f"{name_or_dir}: no experiment of that name under {root}"
        f"{did_you_mean(name_or_dir, known)}{listing} (use --storage DIR to look elsewhere)"
    )


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
    if not isinstance(d.get("reason", ""), str):
        raise bad("reason", "a string", d.get("reason"))
    epochs = d.get("epochs", 0)
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise bad("epochs", "a non-negative integer", epochs)
    if not _is_number(d.get("compute_s", 0.0)):
        raise bad("compute_s", "a number", d.get("compute_s"))
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


def save_records(exp: Path, records: list[TrialRecord]) -> None:
    exp = Path(exp)
    tmp = exp / "trials.json.tmp"
    tmp.write_text(json.dumps([r.to_dict() for r in records], indent=1, default=str))
    os.replace(tmp, exp / "trials.json")
    write_table(exp / "trials.csv", records)


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
    import pandas as pd

    header, rows = table(records)
    frame = pd.DataFrame(rows, columns=header)
    for c in frame.columns:  # a choice of mixed types (e.g. 'none' or 0.1) is stored as text
        if frame[c].dtype == object and frame[c].map(type).nunique() > 1:
            frame[c] = frame[c].map(lambda v: None if v is None or v != v else str(v))
    frame.to_parquet(path, index=False)


def best_record(records: list[TrialRecord], metric: str, mode: str) -> TrialRecord | None:
    """The trial with the best value of `metric` at any epoch.

    Ties (common for accuracy on a small validation split) go to the lower validation loss at
    that epoch, then to the earlier trial.
    """
    scored = [
        r
        for r in records
        if math.isfinite(r.value(metric)) and not r.status.failed
    ]
    if not scored:
        return None
    sign = 1 if mode == "max" else -1

    def key(r: TrialRecord):
        loss = r.at_best.get("val_loss", math.inf)
        return (
            sign * r.value(metric),
            -loss if math.isfinite(loss) else -math.inf,
            -records.index(r),
        )

    return max(scored, key=key)


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


def _toml_value(v) -> str:
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    return json.dumps(str(v), ensure_ascii=False)


def to_toml(doc: dict, comment: str = "") -> str:
    """TOML for a dict of scalars and one level of tables (all best files need)."""
    lines = [f"# {line}" for line in comment.splitlines()]
    tables = {k: v for k, v in doc.items() if isinstance(v, dict)}
    for k, v in doc.items():
        if not isinstance(v, dict):
            lines.append(f"{k} = {_toml_value(v)}")
    for k, t in tables.items():
        lines += ["", f"[{k}]"] + [f"{kk} = {_toml_value(vv)}" for kk, vv in t.items()]
    return "\n".join(lines) + "\n"


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
