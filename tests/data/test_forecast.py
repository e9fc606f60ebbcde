"""Forecasting sources: chronological split before windowing, train-only scaling, naive MAE."""

import numpy as np
import pytest

from tuner.data import load_data
from tuner.data.forecast import make_forecast_splits
from tuner.errors import UserError

WHERE = "exp.toml: [data]"
SPLIT = (0.7, 0.15, 0.15)


def make(values, split=(0.6, 0.2, 0.2), window=3, horizon=1):
    return make_forecast_splits(np.asarray(values, dtype=float), name="toy", split=split,
                                window=window, horizon=horizon, where=WHERE)


def unscale(s, a):
    mean, std = s.target_scale
    return a.astype(np.float64) * std + mean


def close(a, b):
    return np.allclose(a, b, atol=1e-5)


def raw_series(source):
    if source == "sunspots":
        from statsmodels.datasets import sunspots

        return sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(dtype=float)
    from aeon.datasets import load_airline

    return np.asarray(load_airline(), dtype=float)


def test_windows_by_hand():
    # 10 values, split 6 / 2 / 2: train targets 3..5, valid targets 6..7, test targets 8..9
    s = make(np.arange(10), window=3, horizon=1)
    assert close(unscale(s, s.x_train[:, :, 0]), [[0, 1, 2], [1, 2, 3], [2, 3, 4]])
    assert close(unscale(s, s.y_train), [[3], [4], [5]])
    # inputs of later splits reach back into the past; their targets stay inside the split
    assert close(unscale(s, s.x_valid[:, :, 0]), [[3, 4, 5], [4, 5, 6]])
    assert close(unscale(s, s.y_valid), [[6], [7]])
    assert close(unscale(s, s.x_test[:, :, 0]), [[5, 6, 7], [6, 7, 8]])
    assert close(unscale(s, s.y_test), [[8], [9]])
    assert s.notes == "chronological split: values 0-5 train, 6-7 valid, 8-9 test"


def test_windows_with_a_horizon_by_hand():
    s = make(np.arange(10), window=3, horizon=2)
    assert close(unscale(s, s.x_train[:, :, 0]), [[0, 1, 2], [1, 2, 3]])
    assert close(unscale(s, s.y_train), [[3, 4], [4, 5]])
    assert close(unscale(s, s.y_valid), [[6, 7]])
    assert close(unscale(s, s.y_test), [[8, 9]])


def test_scaling_and_naive_mae_by_hand():
    values = [1.0, 3.0, 2.0, 6.0, 4.0, 5.0, 100.0, 200.0, 300.0, 400.0]
    s = make(values, window=2)
    train = np.array(values[:6])
    assert s.target_scale == pytest.approx((train.mean(), train.std()))
    assert s.target_scale[0] == pytest.approx(21 / 6)
    # |3-1| + |2-3| + |6-2| + |4-6| + |5-4| = 10 over 5 steps
    assert s.naive_mae == pytest.approx(2.0)


@pytest.mark.parametrize("source", ["sunspots", "airline"])
@pytest.mark.parametrize(("window", "horizon"), [(12, 1), (5, 3)])
def test_shapes_and_counts(source, window, horizon):
    s = load_data(source, split=SPLIT, seed=0, where=WHERE, window=window, horizon=horizon)
    n = len(raw_series(source))
    end_train, end_valid = round(n * 0.7), round(n * 0.7) + round(n * 0.15)
    assert s.task == "forecasting" and s.name == source
    assert s.x_train.dtype == s.y_train.dtype == np.float32
    assert s.x_train.shape == (end_train - window - horizon + 1, window, 1)
    assert s.y_train.shape == (end_train - window - horizon + 1, horizon)
    assert s.x_valid.shape == (end_valid - end_train - horizon + 1, window, 1)
    assert s.x_test.shape == (n - end_valid - horizon + 1, window, 1)
    assert s.y_test.shape[1] == horizon == s.n_outputs
    assert s.input_shape == (window, 1)


@pytest.mark.parametrize("source", ["sunspots", "airline"])
def test_no_leakage_and_train_only_statistics(source):
    values = raw_series(source)
    n = len(values)
    s = load_data(source, split=SPLIT, seed=0, where=WHERE, window=10, horizon=2,
                  transform="none")
    # the same windowing on the positions 0..n-1 gives every target's index
    idx = make(np.arange(n), split=SPLIT, window=10, horizon=2)
    targets = {p: np.rint(unscale(idx, getattr(idx, f"y_{p}"))).astype(int)
               for p in ("train", "valid", "test")}
    assert targets["train"].max() < targets["valid"].min()
    assert targets["valid"].max() < targets["test"].min()
    assert targets["test"].max() == n - 1
    # the real series' windows hold the values at those indices
    for p in ("train", "valid", "test"):
        assert np.allclose(unscale(s, getattr(s, f"y_{p}")), values[targets[p]], atol=1e-3)
    end_train = round(n * 0.7)
    train = values[:end_train]
    assert s.target_scale == pytest.approx((train.mean(), train.std()))
    naive = sum(abs(train[i] - train[i - 1]) for i in range(1, end_train)) / (end_train - 1)
    assert s.naive_mae == pytest.approx(naive)
    assert np.allclose(s.x_train.reshape(-1).mean(), 0, atol=0.1)


def test_sunspots_known_values():
    s = load_data("sunspots", split=SPLIT, seed=0, where=WHERE, window=3, transform="none")
    # yearly sunspots start 1700: 5, 11, 16, then 23
    assert np.allclose(unscale(s, s.x_train[0, :, 0]), [5, 11, 16])
    assert unscale(s, s.y_train[0]) == pytest.approx([23])
    assert s.notes.startswith("yearly sunspot numbers 1700-2008; chronological split: ")


def test_seed_does_not_change_a_chronological_split():
    a = load_data("airline", split=SPLIT, seed=0, where=WHERE, window=4)
    b = load_data("airline", split=SPLIT, seed=9, where=WHERE, window=4)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)


@pytest.mark.parametrize(
    ("source", "options", "message"),
    [
        ("airline", {"window": 0}, f"{WHERE} window: must be an integer between 1 and 100000, but got 0"),
        ("airline", {"window": 3, "horizon": 2.5}, f"{WHERE} horizon: must be an integer between 1 and 100000, but got 2.5"),
        ("airline", {"window": 3, "dataset": "x"}, f"{WHERE} dataset: not used by data source 'airline'; it takes: window, horizon, transform"),
        ("sunspots", {"window": 300}, f"{WHERE}: the train split has 216 of the series' 309 values, too few for window 300 + horizon 1 (needs at least 301); lower [data] window or horizon, change [data] split, or use a longer series"),
        ("airline", {"window": 3, "horizon": 30}, f"{WHERE}: the valid split has 22 of the series' 144 values, too few for horizon 30 (needs at least 30); lower [data] window or horizon, change [data] split, or use a longer series"),
    ],
)
def test_bad_options_give_one_line_messages(source, options, message):
    with pytest.raises(UserError) as e:
        load_data(source, split=SPLIT, seed=0, where=WHERE, **options)
    assert str(e.value) == message


def test_bad_series_messages():
    with pytest.raises(UserError) as e:
        make([1.0, 2.0, np.nan, 4.0, np.inf, 6.0, 7.0, 8.0, 9.0, 10.0])
    assert str(e.value) == (f"{WHERE}: the series has 2 NaN or infinite value(s) (first at "
                            f"position 2); fill or drop them")
    with pytest.raises(UserError) as e:
        make(np.arange(10), split=(0.8, 0.1, 0.1), window=2, horizon=2)
    assert str(e.value) == (f"{WHERE}: the valid split has 1 of the series' 10 values, too few "
                            f"for horizon 2 (needs at least 2); lower [data] window or horizon, "
                            f"change [data] split, or use a longer series")


@pytest.mark.parametrize("transform", ["sqrt", "log"])
def test_transformed_series_reports_metrics_in_original_units(transform):
    import torch

    from tuner.data.forecast import TRANSFORMS
    from tuner.training.tasks import evaluate

    values = np.arange(1.0, 41.0) ** 2
    s = make_forecast_splits(values, name="toy", split=(0.6, 0.2, 0.2), window=4, horizon=1,
                             where="exp.toml: [data]", transform=transform)
    assert s.target_transform == transform
    forward, _ = TRANSFORMS[transform]
    mean, std = s.target_scale
    assert mean == pytest.approx(forward(values[:24]).mean())
    # a perfect forecast has zero error; one off by +1 in original units has MAE 1
    y = torch.as_tensor(s.y_test)
    assert evaluate(y, y, s)["mae"] == pytest.approx(0, abs=1e-3)
    truth = values[32:]
    shifted = (torch.as_tensor(forward(truth + 1.0)).float() - mean) / std
    m = evaluate(shifted.reshape(y.shape), y, s)
    assert m["mae"] == pytest.approx(1.0, rel=1e-3)
    assert m["mase"] == pytest.approx(1.0 / np.abs(np.diff(values[:24])).mean(), rel=1e-3)


def test_transform_needs_a_non_negative_series():
    with pytest.raises(UserError, match="transform: sqrt needs a non-negative series, but its "
                                        "minimum is -1"):
        make_forecast_splits(np.arange(-1.0, 39.0), name="toy", split=(0.6, 0.2, 0.2), window=4,
                             horizon=1, where="exp.toml: [data]", transform="sqrt")


def test_a_series_without_a_window_gets_two_of_its_cycles():
    from tuner.data import load_data

    data = load_data("airline", split=(0.7, 0.15, 0.15), seed=0)
    assert data.input_shape == (24, 1)
    assert "window 24: two cycles of the period of 12 steps" in data.summary()


def test_a_series_whose_spread_grows_with_its_level_gets_a_stabilizing_transform():
    from tuner.data.forecast import stabilizing_transform

    t = np.arange(240.0)
    level = 100 * np.exp(0.01 * t)
    season = np.sin(2 * np.pi * t / 12)
    assert stabilizing_transform(level * (1 + 0.2 * season), 12)[0] == "log"  # multiplicative
    assert stabilizing_transform(level + 20 * season, 12) == ("none", None)  # additive
    assert stabilizing_transform(season, 12) == ("none", None)  # negative values: left alone
