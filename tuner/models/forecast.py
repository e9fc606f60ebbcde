"""Forecasting factory: the model family is a hyperparameter, tuned with the rest.

`family = "mlp"` is a dense network over the flattened window (`layers` hidden layers of
`units` each); `family = "rnn"` a GRU or LSTM (`cell`) of `layers` stacked layers of `units`
read up to the window's latest step, whose final state carries the forecast. Which one wins
depends on the series: a dense net over the window is the strong simple baseline on short,
trending series; a recurrent net learns a cycle's phase from its shape. The search tries both
on the validation years instead of tuner guessing.

Config keys: family, layers, units, dropout, activation (mlp), cell (rnn), anchor (read by the
training loop, see searchspaces/mlp.py).
"""

from __future__ import annotations

from torch import nn

from tuner.models import mlp, rnn
from tuner.models.layers import choose

FAMILIES = ("mlp", "rnn")


def build(config: dict, input_shape: tuple, n_outputs: int) -> nn.Module:
    """A dense or recurrent net for (T, C) windows; config e.g. {'family': 'rnn', ...}."""
    family = choose(config, "family", FAMILIES)
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
