"""Cross-validation folds over train + valid: stratified or shuffled, or rolling origins for a
forecast (each fold trains only on the windows before its validation block)."""

from __future__ import annotations


def fold_indices(y, folds: int, seed: int, classification: bool) -> list:
    """Validation indices of each of `folds` folds: stratified by class for classification
    (each class dealt round-robin after a seeded shuffle), plain shuffled slices otherwise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    fold_of = np.empty(len(y), dtype=np.int64)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if classification else [
        np.arange(len(y))]
    start = 0
    for idx in groups:
        idx = rng.permutation(idx)
        fold_of[idx] = (start + np.arange(len(idx))) % folds
        start += len(idx)  # the next class starts where this one ended: folds stay even
    return [np.flatnonzero(fold_of == f) for f in range(folds)]


def rolling_origin(n: int, block: int, folds: int, horizon: int = 1) -> list:
    """(training indices, validation indices) of `folds` rolling-origin folds over `n`
    chronological windows: the validation blocks are the last `folds` runs of `block` windows,
    the last one the plain validation split, and each fold trains on every window before its
    block whose targets end before the block's first target (`horizon - 1` windows apart).

        >>> [(int(t[-1]), int(v[0]), int(v[-1])) for t, v in rolling_origin(10, 2, 3)]
        [(3, 4, 5), (5, 6, 7), (7, 8, 9)]
    """
    import numpy as np

    out = []
    for k in range(folds, 0, -1):
        origin = n - k * block
        out.append((np.arange(max(0, origin - (horizon - 1))),
                    np.arange(origin, origin + block)))
    return out


def shuffled_folds(y, folds: int, seed: int, *, stratified: bool) -> list:
    """(training indices, validation indices) of each fold: every example validated once,
    each fold trained on the rest."""
    import numpy as np

    everything = np.arange(len(y))
    return [(np.setdiff1d(everything, held), held)
            for held in fold_indices(y, folds, seed, stratified)]


def fold_splits(y, folds: int, seed: int, task: str, n_valid: int) -> list:
    """(training indices, validation indices) of each fold of train + valid (`y`, in that
    order), as the task splits them: rolling-origin folds for a forecast (training only on
    the past), stratified or shuffled folds, each trained on the rest, otherwise."""
    from tuner.training.tasks import TASKS

    return TASKS[task].folds(y, folds, seed, n_valid)
