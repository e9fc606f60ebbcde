"""MLP factory: flatten → [Linear → activation → dropout] × layers → Linear head."""

from __future__ import annotations

import math

from torch import nn

from tuner.models.layers import activation, anchor_last, per_layer

# on forecasting windows: the change from the last value when the config says anchor = "last"
wrap = anchor_last


def build(config: dict, input_shape: tuple, n_outputs: int) -> nn.Module:
    """An MLP for inputs of any shape (flattened); config e.g. {'layers': 1, 'units_1': 64}."""
    width = math.prod(input_shape)
    layers: list[nn.Module] = [nn.Flatten()]
    for units in per_layer(config, "units", int(config["layers"])):
        layers += [nn.Linear(width, units), activation(config["activation"])]
        if config.get("dropout", 0) > 0:
            layers.append(nn.Dropout(config["dropout"]))
        width = units
    layers.append(nn.Linear(width, n_outputs))
    return nn.Sequential(*layers)
