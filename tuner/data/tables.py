"""Tables from .csv / .parquet files or DataFrames: a target column and feature columns,
numeric ones standardized and string ones one-hot encoded on the training rows only."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tuner.data.files import MAX_INFERRED_CLASSES, TEXT_KEYS, _inferred, _supervised, _why
from tuner.data.options import str_option
from tuner.data.splits import Splits
from tuner.errors import UserError, did_you_mean


def read_table(at: str, path: Path):
    """The table a .csv or .parquet file holds, or one line saying why it cannot be read."""
    import pandas as pd

    parquet = path.suffix.lower() == ".parquet"
    try:
        table = pd.read_parquet(path) if parquet else pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise UserError(f"{at}: the file is empty; write a header row and data rows") from None
    except (OSError, ValueError, ImportError) as e:  # parse errors, bad encodings, bad files
        kind = "Parquet" if parquet else "CSV (UTF-8, comma-separated, one header row)"
        raise UserError(f"{at}: could not read it as {kind} ({_why(e)}); check the file") \
            from None
    return table


MAX_CATEGORIES = 30  # one-hot columns per categorical feature; rarer categories share "other"


class TableEncoder:
    """The feature columns as the model reads them, fitted on the training rows only.

    Numeric columns: a missing value is replaced by the training rows' median of its column,
    and each column missing some training values gets a 0/1 missing-indicator column beside
    it (that a value is missing can itself tell). String columns: one-hot encoded, the most
    frequent MAX_CATEGORIES categories of the training rows (the rest as "other"; a missing
    value is its own "missing" category when training rows have some); a category seen only
    in validation or test rows is all zeros. A column empty in every training row is dropped.
    Nothing about the validation or test rows enters the encoding.
    """

    def __init__(self, numbers, columns, names: list[str]):
        self.numbers, self.columns, self.names = numbers, columns, names

    def fit_transform(self, train: np.ndarray) -> tuple[np.ndarray, str]:
        blocks, said, dropped = [], [], []
        x = self.numbers
        if x.shape[1]:
            missing = np.isnan(x)
            empty = missing[train].all(axis=0)
            dropped += [n for n, e in zip(self.names, empty, strict=True) if e]
            keep = ~empty
            x, missing = x[:, keep], missing[:, keep]
            if missing.any():
                median = np.nanmedian(x[train], axis=0)
                x = np.where(missing, median, x)
                flagged = missing[train].any(axis=0)
                names = [n for n, k in zip(self.names, keep, strict=True) if k]
                cols = [n for n, f in zip(names, flagged, strict=True) if f]
                said.append(f"{int(missing.sum())} missing numeric value(s) filled with the "
                            f"training rows' median"
                            + (f", a missing-indicator column beside {', '.join(map(repr, cols))}"
                               if cols else ""))
                x = np.concatenate([x, missing[:, flagged].astype(np.float64)], axis=1)
            blocks.append(x)
        described, missed = [], 0
        for name in (self.columns.columns if self.columns is not None else []):
            values = self.columns[name].astype("string").to_numpy(dtype=object, na_value=None)
            present = [v for v in values[train] if v is not None]
            if not present:
                dropped.append(name)
                continue
            seen, counts = np.unique(present, return_counts=True)
            keep = list(seen[np.argsort(-counts, kind="stable")][:MAX_CATEGORIES])
            index = {v: i for i, v in enumerate(keep)}
            other = len(seen) > len(keep)
            absent = len(present) < len(train)  # training rows missing it: its own category
            rare = set(seen) - set(keep)
            block = np.zeros((len(values), len(keep) + other + absent))
            for row, v in enumerate(values):
                if v in index:
                    block[row, index[v]] = 1.0
                elif v in rare:
                    block[row, len(keep)] = 1.0
                elif v is None and absent:
                    block[row, -1] = 1.0
            if absent:
                missed += sum(v is None for v in values)
            blocks.append(block)
            capped = f", the {MAX_CATEGORIES} most frequent and other" if other else ""
            described.append(f"{name!r} ({len(seen)} categories{capped})")
        if described:
            said.append(f"one-hot encoded {', '.join(described)}, from the training rows only; "
                        f"a category they lack is all zeros"
                        + (f"; {missed} missing categor{'y' if missed == 1 else 'ies'} read as "
                           f"'missing'" if missed else ""))
        if dropped:
            said.append(f"dropped {', '.join(map(repr, dropped))}: empty in every training row")
        x = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(self.numbers), 0))
        if not x.shape[1]:
            raise UserError(f"every feature column is empty in the training rows "
                            f"({', '.join(map(repr, dropped))}); fill them or add columns")
        return x, "; ".join(said)


# a string column is free text (reviews, descriptions), not categories, when its values are
# long (a median of TEXT_WORDS words or more) or nearly all distinct sentences
TEXT_WORDS, DISTINCT_SENTENCES = 6, 0.5


def free_text(col) -> str | None:
    """Why a string column reads as free text (reviews, descriptions: tokenized, the text
    family's input) rather than categories (one-hot encoded), or None."""
    values = col.dropna().astype(str)
    if len(values) == 0:
        return None
    words = float(values.str.split().str.len().median())
    distinct = values.nunique() / len(values)
    if words >= TEXT_WORDS:
        return f"a median of {words:g} words a value"
    if words >= 3 and distinct >= DISTINCT_SENTENCES and values.nunique() > MAX_CATEGORIES:
        return f"{values.nunique()} distinct values of {words:g} words or so"
    return None


def numeric_column(col) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)


def check_column(where: str, key: str, name: str, raw: str, table) -> None:
    if name not in table.columns:
        raise UserError(f"{where} {key}: no column {name!r} in {raw}"
                        f"{did_you_mean(name, table.columns)}; columns: "
                        f"{', '.join(table.columns)}")


def _missing_rows(at: str, what: str, mask: np.ndarray, columns: list[str] | None = None,
                  kind: str = "missing or infinite", fix: str = "fill or drop them") -> None:
    """Reject missing or infinite values: how many, and the first (column and data row)."""
    if not mask.any():
        return
    first = np.argwhere(mask)[0]
    col = f"column {columns[first[1]]!r}, " if columns is not None else ""
    raise UserError(f"{at}: {int(mask.sum())} {kind} value(s) in {what} (first: "
                    f"{col}data row {first[0] + 1}); {fix}")


def from_table(where, at, raw, name, table, options, task, split, seed) -> Splits:
    import pandas as pd

    target = str_option(where, options, "target")
    if target is None:
        raise UserError(f"{where} target: required for a table: the column to predict, e.g. "
                        f'target = "{table.columns[-1]}"; columns in {raw}: '
                        f"{', '.join(table.columns)}")
    check_column(where, "target", target, raw, table)
    features = [c for c in table.columns if c != target]
    if not features:
        raise UserError(f"{at}: no feature columns besides the target {target!r}; add input "
                        f"columns")
    numbers = [c for c in features if numeric_column(table[c])]
    categories = [c for c in features if not numeric_column(table[c])]
    named = str_option(where, options, "text")
    if named is not None:
        check_column(where, "text", named, raw, table)
        if named == target:
            raise UserError(f"{where} text: {named!r} is the target column; name the column "
                            f"that holds the texts")
        texts = {named: "named by [data] text"}
    else:
        texts = {c: why for c in categories if (why := free_text(table[c]))}
    if len(texts) > 1:
        shown = ", ".join(f"{c!r} ({why})" for c, why in texts.items())
        raise UserError(f"{where} text: {len(texts)} columns read as free text ({shown}); name "
                        f"the one to classify by, e.g. text = {next(iter(texts))!r}")
    elif not texts and any(k in options for k in TEXT_KEYS):
        raise UserError(f"{where}: tokenizer, vocab and length are for text, and no column of "
                        f"{raw} reads as free text; name it with text = \"COLUMN\"")
    if texts:
        (column, why), = texts.items()
        return _text_table(where, at, name, table, column, why, target, task, split, seed,
                           options)
    x = table[numbers].to_numpy(dtype=np.float64, na_value=np.nan)
    _missing_rows(at, "feature columns", np.isinf(x), numbers, "infinite",
                  "replace them (a missing value may stay empty: it is filled)")
    if categories or np.isnan(x).any():  # fitted on the training rows, once the split is known
        x = TableEncoder(x, table[categories] if categories else None, numbers)
    col = table[target]
    numeric = numeric_column(col) and not pd.api.types.is_bool_dtype(col)
    missing = col.isna().to_numpy()
    if numeric:
        missing = missing | ~np.isfinite(col.to_numpy(dtype=np.float64, na_value=np.nan))
    _missing_rows(at, f"the target column {target!r}", missing)
    integer = pd.api.types.is_integer_dtype(col)
    if not numeric:
        y = col.astype(str).to_numpy(dtype=str)
    else:
        y = col.to_numpy(dtype=np.int64 if integer else np.float64)
    notes = ""
    if task is None:
        n = int(col.nunique())
        if not numeric:
            task, why = "classification", f"{n} distinct values"
        elif integer and n <= MAX_INFERRED_CLASSES:
            task, why = "classification", f"{n} distinct integers"
        elif integer:
            task, why = "regression", f"{n} distinct integers, more than {MAX_INFERRED_CLASSES}"
        else:
            task, why = "regression", "real numbers"
        notes = _inferred(task, f"target {target!r}: {why}")
    return _supervised(at, name, x, y, None, task, split, seed, label=f"target {target!r}",
                       notes=notes)


def _text_table(where, at, name, table, column, why, target, task, split, seed, options):
    """Splits of a table whose `column` holds the texts to classify by `target` (the other
    feature columns are left out, and the data line says so)."""
    from tuner.data.text import text_splits

    y = table[target]
    missing = y.isna().to_numpy()
    _missing_rows(at, f"the target column {target!r}", missing)
    others = [c for c in table.columns if c not in (column, target)]
    notes = f"text column {column!r} ({why}), target {target!r}"
    if others:
        notes += f"; left out column(s) {', '.join(map(repr, others))}: the text alone is read"
    labels = y.to_numpy()
    if labels.dtype.kind == "f":
        from tuner.data.files import _integer_labels

        labels = _integer_labels(at, f"target {target!r}", labels)
    elif labels.dtype.kind == "O":
        labels = y.astype(str).to_numpy(dtype=str)
    texts = table[column].to_numpy(dtype=object)
    return text_splits(at, name, texts, labels, task, split, seed, options, where, notes=notes)
