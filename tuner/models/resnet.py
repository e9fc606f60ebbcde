"""Residual CNN factory: a stem, stages of residual blocks (He et al., 2016), global average
pooling and a linear head.

Each block is conv 3×3 → batch norm → activation → conv 3×3 → batch norm, added to its input
(through a 1×1 projection when the width or resolution changes), then the activation. Stage k
has `width`·2^k channels and halves the resolution (from the second stage on), so deep nets
train as easily as shallow ones. The stem suits the images: "small" (a 3×3 conv at full
resolution, for digits and CIFAR-sized images) or "large" (a 7×7 conv of stride 2 and a max-pool,
as ImageNet ResNets start, for photos of 64 px and more).
"""

from __future__ import annotations

from torch import nn

from tuner.models import InfeasibleConfig
from tuner.models.layers import activation

STEMS = ("small", "large")


class Block(nn.Module):
    """A basic residual block: two 3×3 convolutions and a shortcut."""

    def __init__(self, cin: int, cout: int, stride: int, act: str):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.act1, self.act2 = activation(act), activation(act)
        self.shortcut = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.act1(self.bn1(self.conv1(x)))
        return self.act2(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, stem: nn.Sequential, stages: nn.Sequential, head: nn.Sequential):
        super().__init__()
        self.stem, self.stages, self.head = stem, stages, head

    def forward(self, x):
        return self.head(self.stages(self.stem(x)))


def build(config: dict, input_shape: tuple, n_outputs: int) -> nn.Module:
    """A residual network for (C, H, W) images."""
    if len(input_shape) == 2:
        input_shape = (1, *input_shape)
    if len(input_shape) != 3:
        raise InfeasibleConfig(f"the resnet factory needs images shaped C×H×W, but the data "
                               f"is {tuple(input_shape)}; use mlp for flat features")
    channels, h, w = (int(n) for n in input_shape)
    width, act = int(config["width"]), config["activation"]
    stem_kind = config.get("stem", "small")
    if stem_kind not in STEMS:
        raise ValueError(f"stem must be one of {list(STEMS)}, but got {stem_kind!r}")
    if stem_kind == "large":
        stem = nn.Sequential(nn.Conv2d(channels, width, 7, 2, 3, bias=False),
                             nn.BatchNorm2d(width), activation(act), nn.MaxPool2d(3, 2, 1))
        h, w = (h + 3) // 4, (w + 3) // 4
    else:
        stem = nn.Sequential(nn.Conv2d(channels, width, 3, 1, 1, bias=False),
                             nn.BatchNorm2d(width), activation(act))
    stages, cin = [], width
    for k in range(int(config["stages"])):
        cout = width * 2 ** k
        stride = 2 if k > 0 and min(h, w) >= 2 else 1
        h, w = (h + stride - 1) // stride, (w + stride - 1) // stride
        for b in range(int(config["blocks"])):
            stages.append(Block(cin, cout, stride if b == 0 else 1, act))
            cin = cout
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Dropout(config.get("dropout", 0.0)), nn.Linear(cin, n_outputs))
    return ResNet(stem, nn.Sequential(*stages), head)
