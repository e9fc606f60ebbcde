"""Forecasting: one series → windows of past values (x) and the values that follow (y).

The series is split chronologically BEFORE windowing, so every window's targets lie inside its
own split; inputs of a valid or test window may reach back into earlier values (the past, not
leakage). Scaling uses the training part only.

    >>> s = make_forecast_splits(np.arange(10.0), name="toy", split=(0.6, 0.2, 0.2), window=3,
    ...                          horizon=1, where="[data]")
    >>> len(s.x_train), len(s.x_valid), len(s.x_test), s.x_train.shape[1:], s.y_train.shape[1:]
    (3, 2, 2, (3, 1), (1,))
"""

from __future__ import annotations

import numpy as np

from tuner.data.options import check_options, int_option
from tuner.data.splits import Splits
from tuner.errors import UserError

OPTIONS = ("window", "horizon", "transform")
# variance-stabilizing transforms of a non-negative series (counts, sunspots, passengers):
# the model learns on the transformed scale, metrics are computed back in original units
TRANSFORMS = {
    "none": (lambda v: v, lambda t: t),
    "sqrt": (np.sqrt, lambda t: np.square(np.clip(t, 0, None))),
    "log": (np.log1p, np.expm1),
}


def transform_option(where: str, options: dict) -> str | None:
    """[data] transform, or None when the file leaves it to tuner (see stabilizing_transform)."""
    t = options.get("transform")
    if t is not None and t not in TRANSFORMS:
        raise UserError(f"{where} transform: must be one of {', '.join(TRANSFORMS)}, "
                        f"but got {t!r}")
    return t


def chronological_bounds(n: int, split) -> tuple[int, int]:
    """(end of train, end of valid) for n values split by the fractions in `split`."""
    n_train = int(round(n * split[0]))
    n_valid = int(round(n * split[1]))
    return n_train, n_train + n_valid


def dominant_period(train: np.ndarray, longest: int) -> int | None:
    """The lag (2 .. longest) with the highest autocorrelation peak of the series' changes (so
    a trend does not hide a cycle), if one stands out of a white series' noise band."""
    x = np.diff(np.asarray(train, dtype=np.float64))
    x = x - x.mean()
    if len(x) <= 8 or x.std() == 0:
        return None
    acf = np.correlate(x, x, "full")[len(x) - 1:] / (x.var() * len(x))
    lags = np.arange(2, min(len(acf) - 1, longest))
    peaks = [k for k in lags if acf[k] > acf[k - 1] and acf[k] >= acf[k + 1] and
             acf[k] > 2 / np.sqrt(len(x))]
    return int(max(peaks, key=lambda k: acf[k])) if peaks else None


def longest_period(n_train: int, horizon: int) -> int:
    """The longest cycle worth looking for: a quarter of the training values, at least 4."""
    return max(4, (n_train - horizon) // 4)


def seasonal_window(train: np.ndarray, horizon: int = 1) -> tuple[int, str]:
    """A window of past values for a series whose file leaves it out, and why: two cycles of
    the dominant period in the training part's autocorrelation (of its changes, so a trend does
    not hide the cycle), between 4 and a quarter of the training values.

        >>> t = np.arange(120.0)
        >>> seasonal_window(np.sin(2 * np.pi * t / 12) + 0.05 * t)[0]
        24
    """
    hi = longest_period(len(train), horizon)
    return window_for(dominant_period(train, hi), hi)


def window_for(period: int | None, hi: int) -> tuple[int, str]:
    """(two cycles of `period`, at most `hi`; 12 when no cycle stands out, and why)."""
    if period is None:
        window = int(min(hi, 12))
        return window, (f"window {window}: no cycle stands out in the training part's "
                        f"autocorrelation; set [data] window to choose")
    window = int(min(hi, max(4, 2 * period)))
    return window, (f"window {window}: two cycles of the period of {period} steps that "
                    f"dominates the training part's autocorrelation")


def stabilizing_transform(train: np.ndarray, period: int | None) -> tuple[str, str | None]:
    """A variance-stabilizing transform for a non-negative series, and why: how the spread of
    its segments (one period long) grows with their level, spread ~ level^b on the training
    part. b near 1 (multiplicative seasonality, growth) → log; near 0.5 (counts) → sqrt."""
    v = np.asarray(train, dtype=np.float64)
    w = max(4, period or 12)
    n = len(v) // w
    if v.min() < 0 or n < 4:
        return "none", None
    seg = v[: n * w].reshape(n, w)
    # spread around each segment's own straight line, so a trend is not read as spread
    steps = np.arange(w) - (w - 1) / 2
    slope = seg @ steps / (steps @ steps)
    level = seg.mean(axis=1)
    spread = (seg - level[:, None] - slope[:, None] * steps).std(axis=1)
    ok = (level > 0) & (spread > 0)
    if ok.sum() < 4 or np.log(level[ok]).std() < 1e-3:  # one level: nothing to relate to
        return "none", None
    b = float(np.polyfit(np.log(level[ok]), np.log(spread[ok]), 1)[0])
    if b >= 0.75 and v.min() > 0:
        t = "log"
    elif b >= 0.25:
        t = "sqrt"
    else:
        return "none", None
    return t, (f"transform {t}: the spread of {w}-step segments grows as level^{b:.2f} over the "
               f"training part; set [data] transform = \"none\" to keep the raw scale")


def _checked_series(values, where: str) -> np.ndarray:
    """The series as float64, or one line when it is not one-dimensional or not finite."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise UserError(f"{where}: a series must be one-dimensional, but got shape {v.shape}")
    bad = np.flatnonzero(~np.isfinite(v))
    if len(bad):
        raise UserError(f"{where}: the series has {len(bad)} NaN or infinite value(s) (first at "
                        f"position {bad[0]}); fill or drop them")
    return v


def _check_room(where: str, n: int, end_train: int, end_valid: int, window: int,
                horizon: int) -> None:
    """One line when a split is too short for its windows: train windows need `window`
    inputs of their own; later splits borrow their inputs from the past."""
    sizes = {"train": end_train, "valid": end_valid - end_train, "test": n - end_valid}
    need = {"train": window + horizon, "valid": horizon, "test": horizon}
    for part in ("train", "valid", "test"):
        if sizes[part] < need[part]:
            what = f"window {window} + horizon {horizon}" if part == "train" else \
                f"horizon {horizon}"
            raise UserError(
                f"{where}: the {part} split has {sizes[part]} of the series' {n} values, too few "
                f"for {what} (needs at least {need[part]}); lower [data] window or horizon, "
                f"change [data] split, or use a longer series"
            )


def make_forecast_splits(values, *, name: str, split, window: int | None, horizon: int,
                         where: str,
                         notes: str = "", transform: str | None = "none") -> Splits:
    """Splits of (window past values → horizon next values), split in time, scaled on train.

    x is float32 (N, window, 1) and y float32 (N, horizon), both scaled with the training
    part's mean and std (`target_scale`); `naive_mae` is the in-sample MAE of the one-step
    naive forecast over the training part, in original units (the MASE denominator).
    """
    v = _checked_series(values, where)
    n = len(v)
    end_train, end_valid = chronological_bounds(n, split)
    if window is None or transform is None:  # from the training part's own cycle
        hi = longest_period(end_train, horizon)
        period = dominant_period(v[:end_train], hi)
        if window is None:
            window, why = window_for(period, hi)
            notes = "; ".join(t for t in (notes, why) if t)
        if transform is None:
            transform, why = stabilizing_transform(v[:end_train], period)
            notes = "; ".join(t for t in (notes, why) if t)
    _check_room(where, n, end_train, end_valid, window, horizon)
    if transform != "none" and v.min() < 0:
        raise UserError(f"{where} transform: {transform} needs a non-negative series, but its "
                        f"minimum is {v.min():g}; use transform = \"none\"")
    naive = float(np.abs(np.diff(v[:end_train])).mean())  # in original units
    tv = TRANSFORMS[transform][0](v)
    train = tv[:end_train]
    mean, std = float(train.mean()), float(train.std())
    std = std if std > 0 else 1.0  # a constant series: scaling by 1 keeps it finite
    scaled = ((tv - mean) / std).astype(np.float32)

    def windows(first: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        # targets start at t = first .. stop - horizon, inputs are the `window` values before t
        starts = np.arange(first, stop - horizon + 1)
        x = np.stack([scaled[t - window : t] for t in starts])[:, :, None]
        y = np.stack([scaled[t : t + horizon] for t in starts])
        return x, y

    x_tr, y_tr = windows(window, end_train)
    x_va, y_va = windows(end_train, end_valid)
    x_te, y_te = windows(end_valid, n)
    where_split = (f"chronological split: values 0-{end_train - 1} train, "
                   f"{end_train}-{end_valid - 1} valid, {end_valid}-{n - 1} test")
    return Splits(
        name, "forecasting", x_tr, y_tr, x_va, y_va, x_te, y_te,
        target_scale=(mean, std),
        target_transform=transform,
        naive_mae=naive if naive > 0 else None,
        notes="; ".join(t for t in (notes, where_split) if t),
    )


def _options(where: str, options: dict, source: str) -> tuple[int, int]:
    check_options(where, options, OPTIONS, source)
    window = None if options.get("window") is None else int_option(
        where, options, "window", None, 1, 100_000)  # None: from the series' own cycle
    horizon = int_option(where, options, "horizon", 1, 1, 100_000)
    return window, horizon


def load_sunspots(*, split, seed: int, where: str, **options) -> Splits:
    """Yearly sunspot numbers 1700-2008 (309 values) from statsmodels."""
    from statsmodels.datasets import sunspots

    window, horizon = _options(where, options, "sunspots")
    values = sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()
    return make_forecast_splits(values, name="sunspots", split=split, window=window,
                                horizon=horizon, where=where,
                                transform=transform_option(where, options),
                                notes="yearly sunspot numbers 1700-2008")


def load_airline(*, split, seed: int, where: str, **options) -> Splits:
    """Monthly airline passengers 1949-1960 (144 values), from aeon."""
    from aeon.datasets import load_airline as aeon_airline

    window, horizon = _options(where, options, "airline")
    values = np.asarray(aeon_airline(), dtype=np.float64)
    return make_forecast_splits(values, name="airline", split=split, window=window,
                                horizon=horizon, where=where,
                                transform=transform_option(where, options),
                                notes="monthly airline passengers 1949-1960")
