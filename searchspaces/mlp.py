"""MLP priors: depth, width per layer, activation, dropout, plus the shared training priors.

tuner space mlp
"""

from searchspaces import common
from tuner.spaces import Fixed, IntRange, PerLayer, SearchSpace


def space() -> SearchSpace:
    return SearchSpace(
        {
            "layers": IntRange(1, 3),
            # one width per hidden layer; units_3 exists only when layers >= 3
            "units": PerLayer(IntRange(32, 512, step=32), count="layers"),
            "activation": common.activation(),
            "dropout": common.dropout(0.5),
            # forecasting windows only: "last" forecasts the change from the window's last value
            # and reads the window relative to it, so a trend carries the model past the levels
            # it trained on; tuner sets it for a series it forecasts (tuner.auto)
            "anchor": Fixed("none"),
            **common.training(),
        },
        description="Multilayer perceptron for flat (tabular) inputs",
    )
