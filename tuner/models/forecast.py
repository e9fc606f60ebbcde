"""Forecasting factory: the model family is a hyperparameter, tuned with the rest.

`family = "linear"` is the autoregressive model: one linear layer over the window, solved in
closed form by ridge regression with its penalty picked by leave-one-out error (ROCKET's ridge
head over the window itself, so the trial is one epoch and its seeds agree); `family = "mlp"`
is a dense network over the flattened window (`layers` hidden layers of `units` each);
`family = "rnn"` a GRU or LSTM (`cell`) of `layers` stacked layers of `units` read up to the
window's latest step, whose final state carries the forecast; `family = "ets"` and `"arima"`
are the statistical forecasters (`tuner.models.statistical`: exponential smoothing and ARIMA
fitted by maximum likelihood to the training series, filtered over each window). Which one
wins depends on the series: the linear model is hard to beat on short or nearly random-walk
series, a dense net over the window is the strong simple nonlinear baseline, a recurrent net
learns a cycle's phase from its shape, and a short seasonal series with a clean cycle is
exponential smoothing's. The search tries them all on the validation part instead of tuner
guessing.

Config keys: family, layers, units, dropout (mlp and rnn), activation (mlp), cell (rnn),
anchor (`wrap`: the trained nets read the window relative to its last value).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from tuner.models import InfeasibleConfig, mlp, rnn
from tuner.models.layers import FixedFront, anchor_last, choose, sequence_shape
from tuner.models.rocket import Head
from tuner.models.statistical import KINDS, StateSpaceForecaster

FAMILIES = ("linear", "mlp", "rnn", *KINDS)
# trained on the change from the window's last value when the config says anchor = "last"
wrap = anchor_last


class LinearAR(FixedFront):
    """The window, flattened (`fixed`), then a ridge regression solved at `prepare` (`learned`).

    Not anchored on the last value: a linear model with free weights holds the anchored one
    exactly (last + w·(x - last) = w'·x), so only the ridge penalty's pull differs."""

    def __init__(self, width: int, n_outputs: int):
        super().__init__()
        self.fixed = nn.Flatten()
        self.learned = Head(width, n_outputs, 0.0, ridge=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.learned(self.fixed(x))


def build(config: dict, input_shape: tuple, n_outputs: int) -> nn.Module:
    """A linear, dense or recurrent model of (T, C) windows; config e.g. {'family': 'rnn'}."""
    family = choose(config, "family", FAMILIES)
    if family == "linear":
        return LinearAR(math.prod(input_shape), n_outputs)
    if family in KINDS:
        steps, channels = sequence_shape("forecast", input_shape)
        if channels != 1:
            raise InfeasibleConfig(f"the {family} forecaster reads one series, but the windows "
                                   f"have {channels} channels; use family linear, mlp or rnn")
        return StateSpaceForecaster(family, steps, n_outputs)
    layers, units = int(config["layers"]), int(config["units"])
    dropout = float(config.get("dropout", 0.0))
    if family == "mlp":
        return mlp.build({"layers": layers, "activation": config["activation"],
                          "dropout": dropout, **{f"units_{i}": units
                                                 for i in range(1, layers + 1)}},
                         input_shape, n_outputs)
    return rnn.build({"cell": config["cell"], "hidden_size": units, "layers": layers,
                      "dropout": dropout, "bidirectional": False, "pooling": "last"},
                     input_shape, n_outputs)
