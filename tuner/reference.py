"""The reference: the strong off-the-shelf model a user would reach for instead of tuning,
fitted by `tuner train` on the same train + valid rows as the final model and tested once on
the same test rows, so the tuned model's figure always stands beside the one it must beat.

    a table          scikit-learn's HistGradientBoostingClassifier / Regressor, defaults
    small images     the same on the pixels (at most 3 072 values: 32×32 colour, 55×55 grey)
    labelled series  aeon's MiniRocket classifier / regressor (10 000 kernels, ridge head)
    texts            TF-IDF of the tokens and token pairs + logistic regression (C = 10)
    photos, and      none yet: the line says so (forecasts keep the naive forecast beside
    forecasts        the model)

Each reads the arrays the model reads (standardized on the training rows, which neither a
tree nor a ridge head minds) and its random parts take the experiment's seed. What it needs
but cannot have (a package, enough rows) is a reason, never an error: the tuned model is
saved and printed either way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

MIN_ROWS = 10  # fewer training rows: no reference (nothing to fit a default to)
MIN_STEPS = 9  # MiniRocket's kernels span 9 steps
MAX_PIXELS = 3072  # larger images: trees on raw pixels are slow and weak (no reference yet)


@dataclass
class Reference:
    """A fitted reference's test outputs (read by the task's metrics like a model's), its
    name and fit + predict time; or, with `outputs` None, why there is none."""

    name: str
    outputs: object = None  # torch.Tensor
    seconds: float = 0.0
    absent: str = ""


def fit_reference(data, seed: int) -> Reference:
    """The reference for this data: fitted on train + valid, its outputs on test."""
    x = np.concatenate([data.x_train, data.x_valid])
    y = np.concatenate([data.y_train, data.y_valid])
    kind, make = _chosen(data)
    if make is None:
        return Reference(kind, absent=kind)
    if len(y) < MIN_ROWS:
        return Reference(kind, absent=f"{len(y)} training rows are too few to fit {kind}")
    start = time.perf_counter()
    try:
        outputs = make(x, y, data.x_test, data, seed)
    except ImportError as e:
        package = (e.name or "").split(".")[0] or "a package"
        return Reference(kind, absent=f"no reference: {kind} needs {package} (pip install "
                                      f"{_PACKAGES.get(package, package)})")
    return Reference(kind, outputs, time.perf_counter() - start)


_PACKAGES = {"sklearn": "scikit-learn", "aeon": "aeon"}


def _chosen(data) -> tuple[str, object]:
    """(the reference's name, the function fitting it), or (why there is none, None)."""
    if data.task == "forecasting":
        return ("no reference for forecasts yet: the naive forecast stands beside the model",
                None)
    if getattr(data, "vocab_size", 0):
        return "TF-IDF 1-2 grams + logistic regression", _text
    shape = tuple(data.input_shape)
    if len(shape) == 1:
        name = ("HistGradientBoostingClassifier" if data.task == "classification" else
                "HistGradientBoostingRegressor")
        if data.task != "classification" and data.n_outputs > 1:
            return f"no reference: {name} predicts one target, this data has several", None
        return f"scikit-learn {name}", _table
    if len(shape) == 2:
        name = "MiniRocketClassifier" if data.task == "classification" else \
            "MiniRocketRegressor"
        if shape[0] < MIN_STEPS:
            return (f"no reference: aeon's {name} needs series of at least {MIN_STEPS} steps, "
                    f"these have {shape[0]}"), None
        if data.task != "classification" and data.n_outputs > 1:
            return f"no reference: aeon's {name} predicts one target, this data has several", \
                None
        return f"aeon {name}", _series
    name = ("HistGradientBoostingClassifier" if data.task == "classification" else
            "HistGradientBoostingRegressor")
    if int(np.prod(shape)) <= MAX_PIXELS and (data.task == "classification"
                                             or data.n_outputs == 1):
        return f"scikit-learn {name} on the pixels", _table
    return (f"no reference for images of {'×'.join(map(str, shape))} yet (trees on more than "
            f"{MAX_PIXELS} raw pixels are slow and weak)"), None


def _as_outputs(data, predicted: np.ndarray, classes=None):
    """Predictions as the model's outputs: log class probabilities (columns in the data's
    class order), or the targets (N, 1)."""
    import torch

    if data.task == "classification":
        probs = np.full((len(predicted), data.n_outputs), 1e-12)
        probs[:, np.asarray(classes, dtype=int)] = np.clip(predicted, 1e-12, None)
        return torch.as_tensor(np.log(probs), dtype=torch.float32)
    return torch.as_tensor(np.asarray(predicted, dtype=np.float32).reshape(-1, 1))


def _table(x, y, x_test, data, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    x, x_test = x.reshape(len(x), -1), x_test.reshape(len(x_test), -1)  # images: the pixels
    if data.task == "classification":
        model = HistGradientBoostingClassifier(random_state=seed).fit(x, y)
        return _as_outputs(data, model.predict_proba(x_test), model.classes_)
    model = HistGradientBoostingRegressor(random_state=seed).fit(x, np.ravel(y))
    return _as_outputs(data, model.predict(x_test))


def _series(x, y, x_test, data, seed):
    """MiniRocket on (N, channels, steps): the padded series as the models read them."""
    if data.task == "classification":
        from aeon.classification.convolution_based import MiniRocketClassifier

        model = MiniRocketClassifier(random_state=seed)
    else:
        from aeon.regression.convolution_based import MiniRocketRegressor

        model = MiniRocketRegressor(random_state=seed)
    x, x_test = (np.ascontiguousarray(a.transpose(0, 2, 1), dtype=np.float64)
                 for a in (x, x_test))
    if data.task == "classification":
        model.fit(x, y)
        return _as_outputs(data, _one_hot(model.predict(x_test), data.n_outputs),
                           range(data.n_outputs))
    model.fit(x, np.ravel(y))
    return _as_outputs(data, model.predict(x_test))


def _one_hot(labels, n: int) -> np.ndarray:
    """A ridge classifier's predicted classes as probabilities of 1."""
    out = np.zeros((len(labels), n))
    out[np.arange(len(labels)), np.asarray(labels, dtype=int)] = 1.0
    return out


def _text(x, y, x_test, data, seed):
    """TF-IDF of the token ids and id pairs (padding left out) + logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def grams(ids):
        words = [str(i) for i in ids if i]
        return words + [f"{a}_{b}" for a, b in zip(words, words[1:], strict=False)]

    vec = TfidfVectorizer(analyzer=grams, sublinear_tf=True)
    model = LogisticRegression(C=10.0, max_iter=2000, random_state=seed)
    model.fit(vec.fit_transform(list(x)), y)
    return _as_outputs(data, model.predict_proba(vec.transform(list(x_test))), model.classes_)
