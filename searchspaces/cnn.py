"""CNN priors: conv blocks with filters per block, kernel size, dense head, plus training priors.

Each block is conv → batch norm → activation → 2×2 max-pool (while the map is at least 2×2).

    tuner space cnn
"""

from searchspaces import common
from tuner.spaces import Choice, IntRange, PerLayer, SearchSpace


def space() -> SearchSpace:
    return SearchSpace(
        {
            "conv_blocks": IntRange(1, 3),
            "filters": PerLayer(IntRange(16, 96, step=16), count="conv_blocks"),
            "kernel_size": Choice([3, 5]),
            "batch_norm": Choice([True, False]),
            "dense_units": IntRange(32, 256, step=32),
            "activation": common.activation(),
            "dropout": common.dropout(0.5),
            **common.augmentation(),
            **common.training(),
        },
        description="Convolutional network for images (C×H×W)",
    )
