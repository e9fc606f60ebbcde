"""The reference: the strong off-the-shelf model a user would reach for instead of tuning,
fitted by `tuner train` on the same train + valid rows as the final model and tested once on
the same test rows, so the tuned model's figure always stands beside the one it must beat.

    a table          scikit-learn's HistGradientBoostingClassifier / Regressor, defaults
    small images     the same on the pixels (at most 3 072 values: 32×32 colour, 55×55 grey)
    labelled series  aeon's MiniRocket classifier / regressor (10 000 kernels, ridge head)
    texts            TF-IDF of the tokens and token pairs + logistic regression (C = 10)
    forecasts        the best on the validation part of statsmodels' exponential smoothing
                     (level; damped trend; with the series' cycle when one stands out), the
                     ARIMA(p,d,q) of a small grid with the lowest AIC, and an AR over one
                     cycle, refitted on train + valid; from each test window's origin it
                     forecasts the horizon from the values before it (as the model does)
    photos           none yet: the line says so

Each reads the arrays the model reads (standardized on the training rows, which neither a
tree nor a ridge head minds) and its random parts take the experiment's seed. What it needs
but cannot have (a package, enough rows) is a reason, never an error: the tuned model is
saved and printed either way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

# the forecast family's statistical members use the same order grid, cycle cap and ARIMA
from tuner.models.statistical import ARIMA_ORDERS, MAX_SEASON, arima

MIN_ROWS = 10  # fewer training rows: no reference (nothing to fit a default to)
MIN_STEPS = 9  # MiniRocket's kernels span 9 steps
MAX_PIXELS = 3072  # larger images: trees on raw pixels are slow and weak (no reference yet)


class NoReference(Exception):
    """A reference that could not be fitted on this data: its message says why."""


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
        if isinstance(outputs, tuple):  # the forecasters name the one validation chose
            kind, outputs = outputs
    except ImportError as e:
        package = (e.name or "").split(".")[0] or "a package"
        return Reference(kind, absent=f"no reference: {kind} needs {package} (pip install "
                                      f"{_PACKAGES.get(package, package)})")
    except NoReference as e:
        return Reference(kind, absent=f"no reference: {e}")
    return Reference(kind, outputs, time.perf_counter() - start)


_PACKAGES = {"sklearn": "scikit-learn", "aeon": "aeon"}


def _chosen(data) -> tuple[str, object]:
    """(the reference's name, the function fitting it), or (why there is none, None)."""
    if data.task == "forecasting":
        if data.x_train.shape[-1] != 1:
            return "no reference: the statistical forecasters read one series, not several", \
                None
        return "statsmodels", _forecast
    if getattr(data, "vocab_size", 0):
        return "TF-IDF 1-2 grams + logistic regression", _text
    shape = tuple(data.input_shape)
    end = "Classifier" if data.task == "classification" else "Regressor"
    several = data.task != "classification" and data.n_outputs > 1
    if len(shape) == 2:
        name = f"MiniRocket{end}"
        if shape[0] < MIN_STEPS:
            return (f"no reference: aeon's {name} needs series of at least {MIN_STEPS} steps, "
                    f"these have {shape[0]}"), None
        if several:
            return f"no reference: aeon's {name} predicts one target, this data has several", \
                None
        return f"aeon {name}", _series
    name = f"HistGradientBoosting{end}"
    if len(shape) == 1:
        if several:
            return f"no reference: {name} predicts one target, this data has several", None
        return f"scikit-learn {name}", _table
    if int(np.prod(shape)) <= MAX_PIXELS and not several:
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


# ----------------------------------------------------------------------------- forecasts

def series_of(data) -> tuple[np.ndarray, int, int]:
    """(the scaled series the windows were cut from, end of train, end of valid): windows are
    consecutive, each target block starting where the one before did plus one."""
    parts = [np.concatenate([y[:, 0], y[-1, 1:]])
             for y in (data.y_train, data.y_valid, data.y_test)]
    first = data.x_train[0, :, 0]
    s = np.concatenate([first, *parts]).astype(np.float64)
    end_train = len(first) + len(parts[0])
    return s, end_train, end_train + len(parts[1])


def _arima_by_aic(train: np.ndarray) -> tuple[int, int, int]:
    """The order (p, d, q) of the small grid with the lowest AIC on the training part (the
    order search auto-ARIMA runs, on fewer orders)."""
    best, order = np.inf, (1, 1, 1)
    for o in ARIMA_ORDERS:
        try:
            aic = _arima(o)(train).fit(disp=False).aic
        except (ValueError, np.linalg.LinAlgError):
            continue
        if np.isfinite(aic) and aic < best:
            best, order = aic, o
    return order


def _arima(order: tuple[int, int, int]):
    return lambda v: arima(v, order)


def _candidates(train: np.ndarray, period: int | None) -> list[tuple[str, object]]:
    """(name, model maker) of each statsmodels state-space candidate for this series."""
    from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

    order = _arima_by_aic(train)
    found = [("ETS level", lambda v: ExponentialSmoothing(v)),
             ("ETS damped trend", lambda v: ExponentialSmoothing(v, trend=True,
                                                                  damped_trend=True)),
             (f"ARIMA{order}".replace(" ", ""), _arima(order))]
    if period and 2 <= period <= MAX_SEASON and len(train) >= 3 * period:
        found += [(f"ETS damped trend, cycle of {period}",
                   lambda v: ExponentialSmoothing(v, trend=True, damped_trend=True,
                                                  seasonal=period)),
                  (f"AR({period})", _arima((period, 0, 0)))]
    return found


def _rolled(fitted, series: np.ndarray, first: int, stop: int, h: int) -> np.ndarray:
    """From each origin t in [first, stop - h], the h values after t - 1 forecast with the
    fitted parameters from the values before t: (origins, h)."""
    res = fitted.apply(series[:stop]) if stop != fitted.nobs else fitted
    if h == 1:
        pred = res.get_prediction(start=first, end=stop - 1).predicted_mean
        return np.asarray(pred).reshape(-1, 1)
    rows = [np.asarray(res.get_prediction(start=t, end=t + h - 1, dynamic=True).predicted_mean)
            for t in range(first, stop - h + 1)]
    return np.stack(rows)


def _forecast(x, y, x_test, data, seed):
    """The candidate with the lowest validation MAE, refitted on train + valid, rolled over
    the test windows: ('statsmodels NAME (chosen on valid)', outputs (N, horizon))."""
    import warnings

    import statsmodels.tsa.statespace.exponential_smoothing  # noqa: F401 - imported before the
    import torch  # filter below: statsmodels adds an "always" filter for its warnings on import

    from tuner.data.forecast import dominant_period, longest_period

    s, end_train, end_valid = series_of(data)
    h = data.y_train.shape[1]
    period = dominant_period(s[:end_train], longest_period(end_train, h))
    scores, makers = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on short series
        candidates = _candidates(s[:end_train], period)
        for name, make in candidates:
            try:
                fitted = make(s[:end_train]).fit(disp=False)
                pred = _rolled(fitted, s, end_train, end_valid, h)
            except (ValueError, np.linalg.LinAlgError):
                continue
            truth = np.stack([s[t:t + h] for t in range(end_train, end_valid - h + 1)])
            err = float(np.abs(pred - truth).mean())
            if np.isfinite(err):
                scores[name], makers[name] = err, make
        if not scores:
            raise NoReference(f"none of {', '.join(n for n, _ in candidates)} could be fitted "
                              f"to the training part")
        best = min(scores, key=scores.get)
        fitted = makers[best](s[:end_valid]).fit(disp=False)
        pred = _rolled(fitted, s, end_valid, len(s), h)
    return (f"statsmodels {best} (lowest validation MAE of {len(scores)})",
            torch.as_tensor(pred, dtype=torch.float32))
