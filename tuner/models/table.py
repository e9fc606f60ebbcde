"""Tables: a dense network or gradient-boosted trees, the family a hyperparameter.

`family = "mlp"`: `layers` hidden layers of `units` each (`tuner.models.mlp`); `family =
"trees"`: boosted trees (`tuner.models.trees`), an epoch adding `rounds` rounds. The search
picks on the validation part (see `searchspaces/table.py`).
"""

from __future__ import annotations

from torch import nn

from tuner.models import mlp, trees
from tuner.models.layers import choose

FAMILIES = ("mlp", "trees")


def build(config: dict, input_shape: tuple, n_outputs: int) -> nn.Module:
    """A dense net or boosted trees over flat features; config e.g. {'family': 'trees'}."""
    if choose(config, "family", FAMILIES) == "trees":
        return trees.build(config, input_shape, n_outputs)
    layers = int(config["layers"])
    return mlp.build({"layers": layers, "activation": config["activation"],
                      "dropout": float(config.get("dropout", 0.0)),
                      **{f"units_{i}": int(config["units"]) for i in range(1, layers + 1)}},
                     input_shape, n_outputs)
