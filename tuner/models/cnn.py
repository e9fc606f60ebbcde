"""CNN factory: conv blocks (conv → [batch norm] → activation → 2×2 max-pool) → dense head.

Pooling is skipped once the feature map is smaller than 2×2, so a deep config on small images
(8×8 digits with 4+ blocks) still builds; `model.pools` records how many pools were used.
"""

from __future__ import annotations

from torch import nn

from tuner.models import InfeasibleConfig
from tuner.models.layers import activation, per_layer


class CNN(nn.Module):
    def __init__(self, features: nn.Sequential, head: nn.Sequential, pools: int):
        super().__init__()
        self.features, self.head, self.pools = features, head, pools

    def forward(self, x):
        return self.head(self.features(x))


def build(config: dict, input_shape: tuple, n_outputs: int) -> nn.Module:
    """A CNN for (C, H, W) inputs (a 2-D (H, W) input is treated as one channel)."""
    if len(input_shape) == 2:
        input_shape = (1, *input_shape)
    if len(input_shape) != 3:
        raise InfeasibleConfig(
            f"the cnn factory needs images shaped C×H×W, but the data is {input_shape}; "
            f"use the mlp factory for flat features"
        )
    channels, h, w = input_shape
    k = int(config["kernel_size"])
    act = config["activation"]
    blocks: list[nn.Module] = []
    pools = 0
    for filters in per_layer(config, "filters", int(config["conv_blocks"])):
        blocks.append(nn.Conv2d(channels, filters, k, padding=k // 2))
        if config.get("batch_norm", False):
            blocks.append(nn.BatchNorm2d(filters))
        blocks.append(activation(act))
        if h >= 2 and w >= 2:
            blocks.append(nn.MaxPool2d(2))
            h, w, pools = h // 2, w // 2, pools + 1
        channels = filters
    head = nn.Sequential(
        nn.Flatten(),
        nn.Dropout(config.get("dropout", 0.0)),
        nn.Linear(channels * h * w, int(config["dense_units"])),
        activation(act),
        nn.Dropout(config.get("dropout", 0.0)),
        nn.Linear(int(config["dense_units"]), n_outputs),
    )
    return CNN(nn.Sequential(*blocks), head, pools)
