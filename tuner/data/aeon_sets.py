"""Time-series classification sets bundled with aeon (UCR/UEA archive); no network needed.

The archive's own TRAIN/TEST split is kept; `valid` (default 0.2) of TRAIN is carved out,
stratified and seeded, for validation. x is float32 (N, T, channels); variable-length sets are
zero-padded to the longest series (train and test) and carry their true lengths. Channels are
standardized with the training part's real (not padding) time steps; with `normalize =
"series"` each series is first z-normalized on its own (the UCR archive's convention).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from tuner.data.arrays import class_labels, feature_stats, standardize, valid_steps
from tuner.data.options import check_options, fraction_option, str_option
from tuner.data.splits import Splits, stratified_holdout
from tuner.errors import UserError, did_you_mean


def _data_root() -> Path:
    import aeon.datasets

    return Path(aeon.datasets.__file__).parent / "data"


def _is_classification(train_file: Path) -> bool:
    with open(train_file, encoding="utf-8", errors="replace") as f:
        for line in f:
            words = line.strip().lower().split()
            if words[:1] == ["@data"]:
                return False
            if words[:2] == ["@classlabel", "true"]:
                return True
    return False


@functools.lru_cache(maxsize=1)
def _bundled() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(classification, other) set names with <name>/<name>_TRAIN.ts and _TEST.ts in aeon."""
    found: dict[bool, list[str]] = {True: [], False: []}
    root = _data_root()
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        train, test = d / f"{d.name}_TRAIN.ts", d / f"{d.name}_TEST.ts"
        if train.is_file() and test.is_file():
            found[_is_classification(train)].append(d.name)
    return tuple(found[True]), tuple(found[False])


def bundled_sets() -> list[str]:
    """Names of the classification sets bundled with aeon, e.g. 'BasicMotions'."""
    return list(_bundled()[0])


def _check_name(where: str, name: str | None) -> str:
    names, others = _bundled()
    listing = f"bundled classification sets: {', '.join(names)}"
    if name is None:
        raise UserError(f'{where} dataset: required for data source \'aeon\', e.g. dataset = '
                        f'"JapaneseVowels"; {listing}')
    if name in names:
        return name
    if name in others:
        raise UserError(f"{where} dataset: {name!r} is a regression set, and data source 'aeon' "
                        f"loads classification sets; {listing}")
    from aeon.datasets.tsc_datasets import tsc_zenodo

    if name in tsc_zenodo:
        raise UserError(f"{where} dataset: {name!r} is in the UCR/UEA archive but not bundled "
                        f"with aeon, and there is no network to download it; {listing}")
    raise UserError(f"{where} dataset: unknown set {name!r}{did_you_mean(name, names)}; "
                    f"{listing} (no others: there is no network to download them)")


def _read(where: str, name: str, part: str) -> tuple[list[np.ndarray], np.ndarray]:
    """Series as (T_i, C) float64 arrays and the label strings of the archive's TRAIN or TEST."""
    from aeon.datasets import load_classification

    try:
        # extract_path = the bundled folder: aeon reads it there and never downloads
        x, y = load_classification(name, split=part, extract_path=str(_data_root()))
    except (OSError, ValueError) as e:
        raise UserError(f"{where} dataset: could not read aeon's bundled {name!r} ({part} split: "
                        f"{type(e).__name__}: {e}); reinstall aeon") from None
    series = [np.asarray(s, dtype=np.float64).T for s in x]
    bad = sum(int((~np.isfinite(s)).sum()) for s in series)
    if bad:
        raise UserError(f"{where} dataset: {name!r} has {bad} missing value(s) in its {part} "
                        f"split; choose a set without missing values")
    return series, np.asarray(y).astype(str)


NORMALIZE = ("channel", "series")


def per_series(x: np.ndarray, lengths: np.ndarray | None) -> np.ndarray:
    """Each series' channels z-normalized over its own real steps (no statistic crosses series,
    so none crosses splits); a constant channel becomes 0."""
    mask = valid_steps(x, lengths)
    m = (np.ones(x.shape[:2], dtype=bool) if mask is None else mask)[..., None]
    count = m.sum(axis=1, keepdims=True).clip(min=1)
    mean = (x * m).sum(axis=1, keepdims=True) / count
    std = np.sqrt((((x - mean) * m) ** 2).sum(axis=1, keepdims=True) / count)
    return np.where(m, (x - mean) / np.where(std > 0, std, 1.0), 0.0)


def _pad(series: list[np.ndarray], t: int) -> np.ndarray:
    x = np.zeros((len(series), t, series[0].shape[1]), dtype=np.float64)
    for i, s in enumerate(series):
        x[i, : len(s)] = s
    return x


def load(*, split, seed: int, where: str, **options) -> Splits:
    """Splits of a bundled aeon set, e.g. dataset = "JapaneseVowels" (9 classes, 12 channels)."""
    check_options(where, options, ("dataset", "valid", "normalize"), "aeon")
    name = _check_name(where, str_option(where, options, "dataset"))
    valid = fraction_option(where, options, "valid", 0.2)
    normalize = str_option(where, options, "normalize", "channel")  # "" is no choice
    if normalize not in NORMALIZE:
        raise UserError(f"{where} normalize: must be one of {', '.join(NORMALIZE)}, but got "
                        f"{normalize!r}; \"series\" z-normalizes each series on its own (the "
                        f"UCR convention), \"channel\" standardizes channels with train's "
                        f"statistics")
    s_train, l_train = _read(where, name, "train")
    s_test, l_test = _read(where, name, "test")
    lengths = np.array([len(s) for s in s_train + s_test], dtype=np.int64)
    x = _pad(s_train + s_test, int(lengths.max()))
    if lengths.min() == lengths.max():
        lengths = None
    classes, y = class_labels(np.concatenate([l_train, l_test]))
    n = len(s_train)
    _check_holdout(where, name, y[:n], classes, valid)
    keep, hold = stratified_holdout(y[:n], valid, seed, where=f"{where} valid")
    test = np.arange(n, len(y))
    if normalize == "series":
        x = per_series(x, lengths)
    mean, std = feature_stats(x[keep], None if lengths is None else lengths[keep])
    x = standardize(x, lengths, mean, std)
    ln = (lambda idx: None) if lengths is None else (lambda idx: lengths[idx])
    return Splits(
        name, "classification", x[keep], y[keep], x[hold], y[hold], x[test], y[test],
        classes=classes, lengths_train=ln(keep), lengths_valid=ln(hold), lengths_test=ln(test),
        notes=f"UEA/UCR archive split; validation = {valid * 100:g}% of train ({len(hold)} of "
              f"{n} series, stratified)",
    )


def _check_holdout(where: str, name: str, y: np.ndarray, classes: list[str], valid: float) -> None:
    """stratified_holdout's rule, checked first so the message names the label."""
    for c, n in zip(*np.unique(y, return_counts=True), strict=True):
        if n - max(1, int(round(n * valid))) < 1:
            raise UserError(f"{where} valid: class {classes[c]!r} of {name} has only {n} training "
                            f"example(s), too few to keep one for training after carving out "
                            f"{valid} for validation; lower [data] valid")
