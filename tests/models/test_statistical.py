"""The forecast family's statistical members: ETS and ARIMA fitted to the training series.

.venv/bin/python -m pytest tests/models/test_statistical.py -q
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from tuner.models import InfeasibleConfig, build_model
from tuner.models.statistical import StateSpaceForecaster, series_of_windows


def windows(series: np.ndarray, width: int, horizon: int = 1) -> tuple:
    x = np.stack([series[i:i + width] for i in range(len(series) - width - horizon + 1)])
    y = np.stack([series[i + width:i + width + horizon]
                  for i in range(len(series) - width - horizon + 1)])
    return torch.tensor(x[..., None], dtype=torch.float32), torch.tensor(y, dtype=torch.float32)


def seasonal(n: int = 160, seed: int = 0) -> np.ndarray:
    t = np.arange(n)
    noise = np.random.default_rng(seed).normal(0, 0.1, n)
    return 0.02 * t + np.sin(2 * np.pi * t / 12) + noise


def test_the_series_is_rebuilt_from_consecutive_windows_only():
    s = np.arange(10.0)
    x, _ = windows(s, 4)
    assert series_of_windows(x[..., 0].numpy()).tolist() == s[:9].tolist()
    with pytest.raises(ValueError, match="these windows are not consecutive"):
        series_of_windows(x[[0, 2, 1], :, 0].numpy())


@pytest.mark.parametrize("horizon", [1, 3])
def test_ets_finds_the_cycle_and_beats_the_seasonal_naive_forecast(horizon):
    s = seasonal()
    x, y = windows(s, 24, horizon)
    train, valid = slice(0, 110), slice(110, None)
    model = build_model("forecast", {"family": "ets"}, (24, 1), horizon)
    model.fit_rows(x[train])
    assert model.chosen == "ETS damped trend, cycle of 12"
    pred = model(x[valid])
    assert pred.shape == y[valid].shape
    seasonal_naive = torch.stack([x[valid][:, 24 - 12 + k, 0] for k in range(horizon)], 1)
    ets_mae = (pred - y[valid]).abs().mean()
    assert ets_mae < 0.7 * (seasonal_naive - y[valid]).abs().mean()  # it misses the trend
    assert not any(p.requires_grad for p in model.parameters())  # one epoch: nothing trains


def test_arima_picks_an_order_by_aic_and_forecasts_an_ar_series():
    g = np.random.default_rng(1)
    s = np.zeros(300)
    for t in range(2, 300):
        s[t] = 0.6 * s[t - 1] - 0.3 * s[t - 2] + g.normal()
    x, y = windows(s, 12)
    model = StateSpaceForecaster("arima", 12, 1)
    model.fit_rows(x[:200])
    assert model.chosen.startswith("ARIMA(")
    mae = (model(x[200:]) - y[200:]).abs().mean()
    naive = (x[200:, -1] - y[200:]).abs().mean()
    assert mae < 0.85 * naive


def test_a_saved_forecaster_loads_with_weights_only_and_forecasts_the_same():
    x, _ = windows(seasonal(), 24)
    model = build_model("forecast", {"family": "ets"}, (24, 1), 1)
    model.fit_rows(x[:100])
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    loaded = build_model("forecast", {"family": "ets"}, (24, 1), 1)
    loaded.load_state_dict(torch.load(buf, weights_only=True))
    assert loaded.chosen == model.chosen
    torch.testing.assert_close(loaded(x[100:]), model(x[100:]))


def test_a_statistical_forecaster_reads_one_series_and_is_fitted_first():
    with pytest.raises(InfeasibleConfig, match="the arima forecaster reads one series, but "
                                               "the windows have 3 channels; use family "
                                               "linear, mlp or rnn"):
        build_model("forecast", {"family": "arima"}, (24, 3), 1)
    with pytest.raises(RuntimeError, match="the ets forecaster is not fitted: call fit_rows"):
        build_model("forecast", {"family": "ets"}, (24, 1), 1)(torch.zeros(2, 24, 1))
