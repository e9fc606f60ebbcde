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

from tuner.errors import UserError, did_you_mean
from tuner.tracking.records import TrialRecord


def storage_root(storage: str | None = None) -> Path:
    """--storage, else $TUNER_STORAGE, else ./results."""
    return Path(storage or os.environ.get("TUNER_STORAGE") or "results").expanduser().resolve()


def find_experiment(name_or_dir: str, storage: str | None = None) -> Path:
    """The folder of an experiment by name (under the storage root) or by path."""
    p = Path(name_or_dir).expanduser()
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
    f = Path(exp) / "trials.json"
    if not f.exists():
        return []
    return [TrialRecord.from_dict(d) for d in json.loads(f.read_text())]


def save_records(exp: Path, records: list[TrialRecord]) -> None:
    exp = Path(exp)
    tmp = exp / "trials.json.tmp"
    tmp.write_text(json.dumps([r.to_dict() for r in records], indent=1, default=str))
    os.replace(tmp, exp / "trials.json")
    write_table(exp / "trials.csv", records)


def write_table(path: Path, records: list[TrialRecord]) -> None:
    """One row per trial: trial, status, epochs, best_<metric>, last_<metric>, config/<param>."""
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
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in records:
            row = {
                "trial": r.trial,
                "status": r.status,
                "epochs": r.epochs,
                "reason": r.reason,
                "compute_s": round(r.compute_s, 3),
                **{f"best_{m}": v for m, v in r.best.items()},
                **{f"last_{m}": v for m, v in r.last.items()},
                **{f"config/{p}": v for p, v in r.config.items()},
            }
            w.writerow([row.get(h, "") for h in header])
    os.replace(tmp, path)


def best_record(records: list[TrialRecord], metric: str, mode: str) -> TrialRecord | None:
    """The trial with the best value of `metric` at any epoch.

    Ties (common for accuracy on a small validation split) go to the lower validation loss at
    that epoch, then to the earlier trial.
    """
    scored = [
        r
        for r in records
        if math.isfinite(r.value(metric)) and r.status not in ("diverged", "errored")
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
        "status": record.status,
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
    if path.suffix == ".json":
        text = json.dumps(doc, indent=2) + "\n"
    elif path.suffix == ".toml":
        text = to_toml(
            doc,
            f"Best trial of {doc['experiment']}: {doc['trial']}, {doc['metric']} "
            f"{doc['value']:.4g} at epoch {doc['best_epoch']}.\n"
            f"Reuse it: tuner train EXPERIMENT --config {path.name}",
        )
    else:
        raise UserError(f"{path}: unknown extension {path.suffix!r}; write .toml or .json")
    if path.is_dir():
        raise UserError(f"{path}: is a directory; give a file name such as best.toml")
    if not path.parent.exists():
        raise UserError(f"{path}: folder {path.parent} does not exist; create it first")
    path.write_text(text)


def read_config_file(path: str | Path) -> dict:
    """A best file (TOML/JSON with a [config] table) or a plain table of hyperparameters."""
    import tomllib

    p = Path(path)
    if not p.is_file():
        raise UserError(
            f"{path}: no such config file; write one with `tuner best NAME -o best.toml`"
        )
    try:
        text = p.read_text()
        doc = json.loads(text) if p.suffix == ".json" else tomllib.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise UserError(
            f"{path}: cannot parse it as {'JSON' if p.suffix == '.json' else 'TOML'} ({e})"
        ) from None
    if not isinstance(doc, dict):
        raise UserError(f"{path}: must hold a table of hyperparameters")
    return doc
