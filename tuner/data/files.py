"""User data from a file named by [data] path (relative to the current directory).

    .npz             arrays X and y, optional lengths (true lengths of padded sequences);
                     X is (N, features), (N, T, channels), or images (N, H, W), (N, H, W, C)
                     or (N, C, H, W) (`layout` names the axes when the shape cannot tell)
    a folder         photos, one sub-folder per class (or train/ [valid/] test/ folders of
                     them): see tuner.data.images
    .csv / .parquet  a table: `target` names the column to predict, every other column is a
                     numeric feature; with `window` it is a time series to forecast instead
                     (`value_column`, optional `time_column` to sort by)

Classification is split stratified, regression at random (both seeded), series in time order.
Tabular features and sequence channels are standardized with training statistics; images keep
their pixels (8-bit stays 8-bit) and the model's first layer standardizes each channel;
regression targets are standardized on train (`target_scale` undoes it).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from tuner.data.arrays import (
    check_class_counts,
    class_labels,
    feature_stats,
    standardize,
    valid_steps,
)
from tuner.data.options import check_options, str_option
from tuner.data.splits import Splits, stratified_split
from tuner.errors import UserError, did_you_mean

EXTENSIONS = (".npz", ".csv", ".parquet")
# an integer target with at most this many distinct values is taken for class labels
MAX_INFERRED_CLASSES = 20
NPZ_ARRAYS = ("X", "y", "lengths")
X_SHAPES = "(N, features), (N, T, channels), or images (N, H, W), (N, H, W, C), (N, C, H, W)"
TEXT_KEYS = ("tokenizer", "vocab", "length")
OPTIONS = ("path", "task", "target", "window", "horizon", "time_column", "value_column",
           "transform", "layout", "size", "text", *TEXT_KEYS)
# the keys each kind of file takes; the others are rejected, never ignored
KIND_OPTIONS = {
    ".npz arrays": ("path", "task", "layout"),
    "a folder of images": ("path", "task", "size"),
    "a folder of texts": ("path", "task", *TEXT_KEYS),
    "a table": ("path", "task", "target", "text", *TEXT_KEYS),
    "a time series": ("path", "task", "window", "horizon", "time_column", "value_column",
                      "transform"),
}
KIND_HINTS = {
    ".npz arrays": "X and y are read from the file",
    "a folder of images": "the class folders are the labels",
    "a folder of texts": "the class folders are the labels",
    "a table": "set window to forecast a series instead",
    "a time series": "window is set; name the series column with value_column",
}


# ---------------------------------------------------------------- helpers shared with aeon


def load(*, split, seed: int, where: str, **options) -> Splits:
    """Splits from the file at [data] path: .npz arrays, a .csv / .parquet table or series."""
    check_options(where, options, OPTIONS, "file")
    raw = str_option(where, options, "path")
    if raw is None:
        raise UserError(f'{where} path: required for data source \'file\', e.g. path = '
                        f'"data/train.csv" (relative paths are relative to the current directory)')
    path = _existing(where, raw)
    at = f"{where} path: {raw}"
    task = str_option(where, options, "task")
    if task is not None and task not in ("classification", "regression", "forecasting"):
        raise UserError(f"{where} task: must be 'classification', 'regression' or 'forecasting', "
                        f"but got {task!r}")
    if path.is_dir():
        from tuner.data.text import is_text_folder, load_text_folder

        if is_text_folder(path):
            _only(where, options, "a folder of texts")
            return load_text_folder(path=path, raw=raw, split=split, seed=seed, where=where,
                                    options=options, task=task)
        _only(where, options, "a folder of images")
        if task not in (None, "classification"):
            raise UserError(f"{where} task: a folder of images is read as classes (one "
                            f"sub-folder each), but task = {task!r}; drop task")
        from tuner.data.images import load_folder

        return load_folder(path=path, raw=raw, split=split, seed=seed, where=where,
                           options=options)
    if path.suffix.lower() == ".npz":
        _only(where, options, ".npz arrays")
        return from_arrays(*_read_npz(at, path), at=at, name=path.name, task=task, split=split,
                           seed=seed, layout=str_option(where, options, "layout"))
    from tuner.data.tables import read_table

    return from_frame(read_table(at, path), where=where, at=at, raw=raw, name=path.name,
                      options=options, task=task, split=split, seed=seed)


def from_arrays(x, y, lengths=None, *, at: str, name: str, task: str | None, split,
                seed: int, layout: str | None = None) -> Splits:
    """Splits from arrays X, y (and lengths) as an .npz holds them, checked the same way;
    images in any of their usual layouts become (N, C, H, W)."""
    from tuner.data.layouts import layout_of, to_nchw

    x, y, lengths = check_arrays(at, np.asarray(x), np.asarray(y),
                                 None if lengths is None else np.asarray(lengths))
    found, rule = layout_of(x, lengths, layout, at)
    notes = ""
    if found and found != "NTC":
        x = to_nchw(x, found)
        shape = "×".join(map(str, x.shape[1:]))
        notes = (f"X read as images {shape} (C×H×W) in layout {found}: {rule}; "
                 f"[data] layout overrides")
    if found == "NTC" and layout is None and lengths is None:
        notes = f"X read as series: {rule}; [data] layout = \"NHW\" reads grey images"
    return _supervised(at, name, x, y, lengths, task, split, seed, label="y", layout_note=notes)


def from_frame(table, *, where: str, at: str, raw: str, name: str, options: dict,
               task: str | None, split, seed: int) -> Splits:
    """Splits from a table (a pandas DataFrame as a .csv / .parquet file reads): features and a
    target column, or with `window` a series to forecast."""
    table = table.rename(columns=str)  # a copy: the caller's DataFrame keeps its names
    if len(table) == 0:
        raise UserError(f"{at}: no data rows (columns: {', '.join(table.columns)}); add rows")
    series = "window" in options or task == "forecasting"
    if not series:
        _only(where, options, "a table")
        from tuner.data.tables import from_table

        return from_table(where, at, raw, name, table, options, task, split, seed)
    _only(where, options, "a time series")
    if task not in (None, "forecasting"):
        raise UserError(f"{where} task: window is set, which makes {raw} a series to forecast, "
                        f"but task = {task!r}; drop window to read a table, or drop task")
    from tuner.data.series_file import from_series

    return from_series(where, at, raw, name, table, options, split)


def _only(where: str, options: dict, kind: str) -> None:
    allowed = KIND_OPTIONS[kind]
    for k in sorted(options):
        if k not in allowed:
            raise UserError(f"{where} {k}: not used for {kind} (it takes: {', '.join(allowed)}); "
                            f"{KIND_HINTS[kind]}")


def _existing(where: str, raw: str) -> Path:
    if not raw.strip():
        raise UserError(f"{where} path: is empty; name your data file, e.g. path = "
                        f"\"data/train.csv\"")
    try:
        path = Path(raw).expanduser()
        path.exists()
    except (RuntimeError, ValueError, OSError) as e:  # ~unknown_user, a NUL byte, too long
        raise UserError(f"{where} path: {raw!r} is not a usable file path ({_why(e)}); check "
                        f"the path") from None
    if not path.exists():
        raise UserError(f"{where} path: {raw}: no such file (relative paths are relative to the "
                        f"current directory, {Path.cwd()}); check the path")
    if path.is_dir():
        return path  # a folder of images (one sub-folder per class)
    if path.suffix.lower() not in EXTENSIONS:
        ext = repr(path.suffix) if path.suffix else "no extension"
        raise UserError(f"{where} path: {raw}: unsupported file type ({ext}); use .npz (arrays X "
                        f"and y), .csv or .parquet")
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        raise UserError(f"{where} path: {raw}: cannot be opened ({_why(e)}); check that you may "
                        f"read it") from None
    return path


def _why(e: Exception) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:160]}"


# ---------------------------------------------------------------- .npz


def _read_npz(at: str, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    fix = "save it with np.savez(path, X=inputs, y=targets)"
    if not zipfile.is_zipfile(path):
        raise UserError(f"{at}: not an .npz archive (no zip header); {fix}")
    arrays = {}
    try:
        with np.load(path, allow_pickle=False) as z:
            names = list(z.files)
            for k in names:
                try:
                    arrays[k] = z[k]
                except ValueError:
                    raise UserError(
                        f"{at}: array {k!r} holds Python objects, which are never unpickled; "
                        f"save strings as a string array, e.g. y=np.array(labels, dtype=str)"
                    ) from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise UserError(f"{at}: could not read it as .npz ({_why(e)}); {fix}") from None
    for k in ("X", "y"):
        if k not in arrays:
            has = ", ".join(sorted(arrays)) or "no arrays"
            raise UserError(f"{at}: missing array {k!r} (it holds: {has}); {fix}")
    for k in sorted(arrays):
        if k not in NPZ_ARRAYS:
            raise UserError(f"{at}: unexpected array {k!r}{did_you_mean(k, NPZ_ARRAYS)}; an .npz "
                            f"holds X, y and optionally lengths")
    return arrays["X"], arrays["y"], arrays.get("lengths")


def check_arrays(at: str, x: np.ndarray, y: np.ndarray, lengths: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """X, y and lengths checked for shape, agreement and finite values (y flattened)."""
    if x.dtype.kind not in "biuf":
        raise UserError(f"{at}: X must hold numbers, but has dtype {x.dtype}; convert it, e.g. "
                        f"X.astype(np.float32)")
    if x.ndim not in (2, 3, 4):
        raise UserError(f"{at}: X has shape {x.shape} ({x.ndim} dimension(s)); expected "
                        f"{X_SHAPES}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise UserError(f"{at}: y has shape {y.shape}; expected (N,): one label or value per row")
    if len(x) != len(y):
        raise UserError(f"{at}: X has {len(x)} rows but y has {len(y)}; they must match one to "
                        f"one")
    if lengths is not None:
        lengths = _check_lengths(at, x, lengths)
    mask = valid_steps(x, lengths)
    _check_finite(at, "X", x if mask is None else x[mask], None if mask is None else
                  np.argwhere(mask))
    return x, y, lengths


def _check_lengths(at: str, x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    if x.ndim != 3:
        raise UserError(f"{at}: lengths is only for padded sequences (N, T, channels), but X has "
                        f"shape {x.shape}; drop lengths")
    if lengths.shape != (len(x),):
        raise UserError(f"{at}: lengths has shape {lengths.shape}; expected ({len(x)},): one "
                        f"true length per row of X")
    if lengths.dtype.kind not in "iu":
        raise UserError(f"{at}: lengths must be integers, but has dtype {lengths.dtype}")
    t = x.shape[1]
    bad = np.flatnonzero((lengths < 1) | (lengths > t))
    if len(bad):
        raise UserError(f"{at}: lengths must be between 1 and {t} (X's time axis), but "
                        f"{len(bad)} are not (first: lengths[{bad[0]}] = {lengths[bad[0]]})")
    return lengths.astype(np.int64)


def _check_finite(at: str, name: str, a: np.ndarray, positions: np.ndarray | None = None
                  ) -> None:
    if a.dtype.kind != "f":
        return
    bad = ~np.isfinite(a)
    if bad.any():
        first = np.argwhere(bad)[0]
        if positions is not None:  # `a` is a masked selection: map back to X's own index
            first = np.concatenate([positions[first[0]], first[1:]])
        index = ", ".join(str(int(i)) for i in first)
        raise UserError(f"{at}: {name} has {int(bad.sum())} NaN or infinite value(s) (first at "
                        f"{name}[{index}]); fill or drop them before saving")


def _inferred(task: str, why: str) -> str:
    return f"task inferred: {task} ({why}); set [data] task to override"


def _integer_labels(at: str, label: str, y: np.ndarray) -> np.ndarray:
    """Float class labels as int64, when they are all whole numbers."""
    _check_finite(at, label, y)
    frac = y[y != np.round(y)]
    if len(frac):
        raise UserError(f"{at}: {label} holds non-integer numbers (e.g. {float(frac[0])!r}), "
                        f"which cannot be class labels; save integer or string labels, or set "
                        f"task = 'regression'")
    return y.astype(np.int64)


def _supervised(at: str, name: str, x: np.ndarray, y: np.ndarray, lengths, task: str | None,
                split, seed: int, *, label: str, notes: str = "", layout_note: str = ""
                ) -> Splits:
    """Classification or regression splits from checked arrays (npz or table)."""
    if task == "forecasting":
        raise UserError(f"{at}: task 'forecasting' needs a .csv or .parquet series and window; "
                        f"use task = 'classification' or 'regression' for arrays")
    kind = y.dtype.kind
    if kind not in "biuUSf":
        raise UserError(f"{at}: {label} must hold integers or strings (class labels) or floats "
                        f"(regression targets), but has dtype {y.dtype}")
    if task is None:  # npz: the dtype decides
        task = "regression" if kind == "f" else "classification"
        what = "real numbers" if kind == "f" else f"{len(np.unique(y))} distinct labels"
        notes = _inferred(task, f"{label}: {what}")
    if task == "classification":
        classes, y_idx = class_labels(_integer_labels(at, label, y) if kind == "f" else y)
        check_class_counts(at, y_idx, classes, split, "add examples, drop the class or change "
                           "[data] split")
        parts = stratified_split(y_idx, split, seed, where=at)
        targets, scale = y_idx, (0.0, 1.0)
    else:
        if kind in "US":
            raise UserError(f"{at}: {label} holds strings (e.g. {str(y[0])!r}), which cannot be "
                            f"regression targets; set task = 'classification' or encode them")
        targets = y.astype(np.float64)
        _check_finite(at, label, targets)
        parts = _random_split(at, len(y), split, seed)
        mean, std = float(targets[parts[0]].mean()), float(targets[parts[0]].std())
        std = std if std > 0 else 1.0
        targets = ((targets - mean) / std).astype(np.float32)[:, None]
        classes, scale = [], (mean, std)
    tr, va, te = parts
    from tuner.data.tables import TableEncoder

    if isinstance(x, TableEncoder):
        try:
            x, encoded = x.fit_transform(tr)
        except UserError as e:
            raise UserError(f"{at}: {e}") from None
        notes = "; ".join(t for t in (notes, encoded) if t)
    pixels = None
    if x.ndim in (2, 3):
        mean_x, std_x = feature_stats(x[tr], None if lengths is None else lengths[tr])
        x = standardize(x, lengths, mean_x, std_x)
    else:  # images, standardized per channel on train: 8-bit ones by the model's first layer
        from tuner.data.layouts import fit_pixels

        x, pixels, how = fit_pixels(x, tr)
        layout_note = "; ".join(t for t in (layout_note, how) if t)
    notes = "; ".join(t for t in (layout_note, notes) if t)
    ln = (lambda idx: None) if lengths is None else (lambda idx: lengths[idx])
    return Splits(
        name, task, x[tr], targets[tr], x[va], targets[va], x[te], targets[te],
        classes=classes, lengths_train=ln(tr), lengths_valid=ln(va), lengths_test=ln(te),
        target_scale=scale, notes=notes, pixels=pixels,
    )


def _random_split(at: str, n: int, split, seed: int) -> tuple[np.ndarray, ...]:
    n_train, n_valid = int(round(n * split[0])), int(round(n * split[1]))
    n_test = n - n_train - n_valid
    if min(n_train, n_valid, n_test) < 1:
        raise UserError(f"{at}: {n} row(s) are too few for the split {list(split)} ({n_train} "
                        f"train / {n_valid} valid / {n_test} test); every split needs at least "
                        f"one row; add rows or change [data] split")
    order = np.random.default_rng(seed).permutation(n)
    return order[:n_train], order[n_train : n_train + n_valid], order[n_train + n_valid :]
