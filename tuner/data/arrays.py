"""What every data source does to arrays: labels to class indices, per-channel statistics
over the real steps of padded sequences, standardization, enough examples of each class."""

from __future__ import annotations

import numpy as np

from tuner.errors import UserError


def class_labels(values) -> tuple[list[str], np.ndarray]:
    """(classes, int64 indices): labels as strings, sorted numerically when all are numbers.

        >>> class_labels(["10", "2", "1", "2"])
        (['1', '2', '10'], array([2, 1, 0, 1]))
    """
    strs = np.asarray(values).astype(str)
    uniq, inverse = np.unique(strs, return_inverse=True)
    try:
        order = sorted(range(len(uniq)), key=lambda i: (float(uniq[i]), uniq[i]))
    except ValueError:  # not all numbers: plain string order, which np.unique already gives
        order = list(range(len(uniq)))
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[order] = np.arange(len(uniq))
    return [str(uniq[i]) for i in order], rank[inverse.ravel()]


def valid_steps(x: np.ndarray, lengths: np.ndarray | None) -> np.ndarray | None:
    """(N, T) mask of the real (not padding) time steps of (N, T, C) sequences, or None."""
    if lengths is None:
        return None
    return np.arange(x.shape[1])[None, :] < np.asarray(lengths)[:, None]


def feature_stats(x: np.ndarray, lengths: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of the last axis (features or channels) over rows and real time steps."""
    mask = valid_steps(x, lengths)
    flat = x.reshape(-1, x.shape[-1]) if mask is None else x[mask]
    flat = flat.astype(np.float64)
    mean, std = flat.mean(axis=0), flat.std(axis=0)
    std[std == 0] = 1.0  # a constant feature: dividing by 1 keeps it finite
    return mean, std


def standardize(x: np.ndarray, lengths: np.ndarray | None, mean: np.ndarray, std: np.ndarray
                ) -> np.ndarray:
    """float32 (x - mean) / std over the last axis; padding (beyond `lengths`) stays 0."""
    out = ((x.astype(np.float64) - mean) / std).astype(np.float32)
    mask = valid_steps(x, lengths)
    if mask is not None:
        out[~mask] = 0.0
    return out


def check_class_counts(where: str, y: np.ndarray, classes: list[str], split, fix: str) -> None:
    """The stratified split's rule, checked first so the message names the label, not its index."""
    f_train, f_valid, _ = split
    for c, n in zip(*np.unique(y, return_counts=True), strict=True):
        n_train, n_valid = int(round(n * f_train)), int(round(n * f_valid))
        if n_train < 1 or n_valid < 1 or n - n_train - n_valid < 1:
            raise UserError(
                f"{where}: class {classes[c]!r} has {n} example(s), too few for the split "
                f"{list(split)}; every class needs at least one example in each of train, valid "
                f"and test; {fix}"
            )


# ---------------------------------------------------------------- the loader
