"""Statistical forecasters as members of the forecast family: exponential smoothing and ARIMA.

Hyndman & Athanasopoulos, "Forecasting: principles and practice" (3rd ed.), ch. 8-9. A short
seasonal series with a clean cycle is where these beat a net trained on a hundred windows, so
the forecast family offers them beside its linear, dense and recurrent members and the search
picks on the validation part, as for the others.

`fit_rows` rebuilds the training series from its windows (consecutive windows overlap in all
but one value) and fits, by maximum likelihood (statsmodels' state-space models), each
candidate of its kind, keeping the one of lowest AIC:

- `ets`: exponential smoothing of the level; with a damped trend; and with a damped trend and
  a seasonal state when the training part's autocorrelation shows a cycle of 2 to 24 steps
  and the window holds two of them.
- `arima`: ARIMA(p, d, q), p ≤ 3, d ≤ 1, q ≤ 1 (the order search auto-ARIMA runs, on fewer
  orders), and AR(period) when a cycle shows.

Forecasting one window, the fitted parameters (smoothing weights, AR and MA coefficients) are
kept and the states are filtered over the window's values alone: ETS concentrates its initial
states out of the window (the cycle's phase comes from the window, not from the training
series' start), ARIMA starts from its stationary or diffuse state. So a forecast reads only its
window, as the nets do, and nothing trains afterwards: a trial is one epoch. A window the
filter cannot read (a singular state) gets the naive forecast, its last value repeated.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from tuner.models.layers import FitsTrainingRows

KINDS = ("ets", "arima")
MAX_SEASON = 24  # longer cycles: a seasonal state per step makes the filter slow and fragile
ARIMA_ORDERS = [(p, d, q) for d in (0, 1) for p in (0, 1, 2, 3) for q in (0, 1) if p or q]


def series_of_windows(x: np.ndarray) -> np.ndarray:
    """The series consecutive windows (N, T) were cut from: the first window, then each later
    window's last value. Windows that are not consecutive (shuffled, or cut with gaps) are
    refused: no series can be rebuilt from them."""
    if len(x) > 1 and not np.allclose(x[1:, :-1], x[:-1, 1:], equal_nan=True):
        raise ValueError("the statistical forecasters fit the series the training windows "
                         "were cut from, but these windows are not consecutive")
    return np.concatenate([x[0], x[1:, -1]]).astype(np.float64)


def _ets(values: np.ndarray, spec: dict):
    from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

    return ExponentialSmoothing(values, trend=spec["trend"], damped_trend=spec["trend"],
                                seasonal=spec["seasonal"] or None,
                                initialization_method="concentrated")


def arima(values: np.ndarray, order) -> object:
    """statsmodels' ARIMA(p, d, q) of `values`, with a constant unless it differences."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    order = tuple(order)
    return SARIMAX(values, order=order, trend="c" if order[1] == 0 else "n")


def _arima(values: np.ndarray, spec: dict):
    return arima(values, spec["order"])


def candidates(kind: str, period: int | None, steps: int, n: int) -> list[dict]:
    """The specs `kind` compares by AIC on a training series of n values, windows of `steps`."""
    seasonal = bool(period) and 2 <= period <= MAX_SEASON and steps >= 2 * period \
        and n >= 3 * period
    if kind == "ets":
        specs = [{"trend": False, "seasonal": 0}, {"trend": True, "seasonal": 0}]
        return specs + ([{"trend": True, "seasonal": period}] if seasonal else [])
    specs = [{"order": o} for o in ARIMA_ORDERS]
    return specs + ([{"order": (period, 0, 0)}] if seasonal and period > 3 else [])


def describe(kind: str, spec: dict) -> str:
    if kind == "arima":
        return "ARIMA({}, {}, {})".format(*spec["order"])
    parts = ["ETS", "damped trend" if spec["trend"] else "level"]
    if spec["seasonal"]:
        parts.append(f"cycle of {spec['seasonal']}")
    return " ".join(parts[:1]) + " " + ", ".join(parts[1:])


class StateSpaceForecaster(FitsTrainingRows, nn.Module):
    """(B, T, 1) windows → (B, horizon) forecasts of the `kind` model fitted at `fit_rows`."""

    def __init__(self, kind: str, steps: int, horizon: int):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, but got {kind!r}")
        self.kind, self.steps, self.horizon = kind, int(steps), int(horizon)
        self.spec: dict = {}
        self.params: np.ndarray | None = None

    def _model(self, values: np.ndarray, spec: dict):
        return (_ets if self.kind == "ets" else _arima)(values, spec)

    @torch.no_grad()
    def fit_rows(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> None:
        from tuner.data.forecast import dominant_period, longest_period

        s = series_of_windows(x[..., 0].double().cpu().numpy())
        period = dominant_period(s, longest_period(len(s), self.horizon))
        best, aic = None, np.inf
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter on short series
            for spec in candidates(self.kind, period, self.steps, len(s)):
                try:
                    fitted = self._model(s, spec).fit(disp=False)
                except (ValueError, np.linalg.LinAlgError):
                    continue
                if np.isfinite(fitted.aic) and fitted.aic < aic:
                    best, aic = (spec, np.asarray(fitted.params, dtype=np.float64)), fitted.aic
        if best is None:
            raise ValueError(f"no {self.kind} model could be fitted to the training series of "
                             f"{len(s)} values")
        self.spec, self.params = best

    @property
    def chosen(self) -> str:
        """The fitted model, in words (e.g. 'ETS damped trend, cycle of 12')."""
        return describe(self.kind, self.spec) if self.spec else f"{self.kind} (not fitted)"

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if self.params is None:
            raise RuntimeError(f"the {self.kind} forecaster is not fitted: call fit_rows with "
                               f"the training windows first")
        windows = x[..., 0].detach().double().cpu().numpy()
        out = np.empty((len(windows), self.horizon))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i, w in enumerate(windows):
                try:
                    f = np.asarray(self._model(w, self.spec).filter(self.params)
                                   .forecast(self.horizon))
                except (ValueError, np.linalg.LinAlgError):
                    f = np.full(self.horizon, np.nan)
                out[i] = f if np.isfinite(f).all() else w[-1]
        return torch.as_tensor(out, dtype=x.dtype, device=x.device)

    # -- what a saved model carries ---------------------------------------------------------

    def get_extra_state(self) -> dict:
        if self.params is None:
            return {}
        code = (list(self.spec["order"]) if self.kind == "arima"
                else [int(self.spec["trend"]), int(self.spec["seasonal"])])
        return {"spec": torch.tensor(code), "params": torch.from_numpy(self.params)}

    def set_extra_state(self, state: dict) -> None:
        if not state:
            self.spec, self.params = {}, None
            return
        code = [int(v) for v in state["spec"].tolist()]
        self.spec = ({"order": tuple(code)} if self.kind == "arima"
                     else {"trend": bool(code[0]), "seasonal": code[1]})
        self.params = state["params"].double().numpy()
