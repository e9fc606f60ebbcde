"""Pretrained backbone factory: an ImageNet-trained ResNet-18, ResNet-50 or MobileNetV2, its
first stages frozen, a new head: the course's transfer-learning lesson as a family.

The networks are written here with torchvision's layer names, so the standard published
weight files (torchvision's, on download.pytorch.org) load into them unchanged, without
torchvision itself (whose wheel must match the installed torch build exactly; a mismatch
fails at import, `operator torchvision::nms does not exist`). Weights are looked up where
torch keeps hub downloads (`torch.hub.get_dir()/checkpoints`, i.e. $TORCH_HOME/hub) and
downloaded there when missing; `tuner run` fetches or finds them before Ray starts
(`tuner.models.weights`).

From the trial's config:
- `backbone`: resnet18 | resnet50 | mobilenet_v2; `pretrained`: ImageNet weights or not.
- `freeze` (0-5): the first stages frozen (stem, then four stages; 5 = the whole backbone, a
  feature extractor). Frozen parameters are left out of the optimizer; frozen batch norms keep
  ImageNet's statistics.
- `head`: "linear", or "mlp" (`head_units`, the dropout between); `backbone_lr`: the learning
  rate of the unfrozen backbone layers, as a fraction of `lr` (the head's).
- `input_size`: images are resized to it (bilinear) inside the model; the input layer
  standardizes with ImageNet's mean and std, and grey images are repeated to three channels.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from tuner.models import InfeasibleConfig

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
STAGES = 5  # stem + four stages; freeze = 5 freezes them all


# ---------------------------------------------------------------- ResNet (torchvision names)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, width: int, stride: int, downsample: nn.Module | None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int, downsample: nn.Module | None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)  # stride here: v1.5
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNetBackbone(nn.Module):
    """torchvision's ResNet: conv1, bn1, relu, maxpool, layer1-4, avgpool, fc."""

    def __init__(self, block, layers: list[int]):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (n, width) in enumerate(zip(layers, (64, 128, 256, 512), strict=True)):
            stride = 1 if i == 0 else 2
            down = None
            if stride != 1 or cin != width * block.expansion:
                down = nn.Sequential(nn.Conv2d(cin, width * block.expansion, 1, stride,
                                               bias=False),
                                     nn.BatchNorm2d(width * block.expansion))
            blocks = [block(cin, width, stride, down)]
            cin = width * block.expansion
            blocks += [block(cin, width, 1, None) for _ in range(n - 1)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, 1000)
        self.features_out = cin

    def stages(self) -> list[nn.Module]:
        return [nn.Sequential(self.conv1, self.bn1, self.relu, self.maxpool), self.layer1,
                self.layer2, self.layer3, self.layer4]

# ---------------------------------------------------------------- MobileNetV2 (torchvision names)


def _conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups,
                                   bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = [] if expand == 1 else [_conv_bn(cin, hidden, 1)]
        layers += [_conv_bn(hidden, hidden, 3, stride, groups=hidden),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2Backbone(nn.Module):
    """torchvision's MobileNetV2 (width 1.0): features.0-18, classifier.1."""

    SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1))
    # features indices where each of the five freezable stages starts
    STAGE_STARTS = (0, 2, 4, 7, 14, 19)

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = [_conv_bn(3, 32, 3, 2)]
        cin = 32
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(_conv_bn(cin, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))
        self.features_out = 1280

    def stages(self) -> list[nn.Module]:
        s = self.STAGE_STARTS
        return [self.features[s[i]:s[i + 1]] for i in range(STAGES)]

ARCHITECTURES = {
    "resnet18": lambda: ResNetBackbone(BasicBlock, [2, 2, 2, 2]),
    "resnet50": lambda: ResNetBackbone(Bottleneck, [3, 4, 6, 3]),
    "mobilenet_v2": MobileNetV2Backbone,
}


# ---------------------------------------------------------------- the model


class Pretrained(nn.Module):
    """A backbone's stages (the first `frozen` frozen), global pooling, a new head."""

    input_stats = (IMAGENET_MEAN, IMAGENET_STD)  # what the input layer standardizes with

    def __init__(self, body: nn.Module, head: nn.Sequential, frozen: int, input_size: int):
        super().__init__()
        self.body, self.head = body, head
        self.frozen, self.input_size = int(frozen), int(input_size)
        self._stages = body.stages()
        for stage in self._stages[: self.frozen]:
            stage.requires_grad_(False)
        self.train()

    def train(self, mode: bool = True):
        super().train(mode)
        for stage in self._stages[: self.frozen]:  # frozen batch norms keep ImageNet's stats
            stage.train(False)
        return self

    def forward(self, x):
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear",
                              align_corners=False)
        for stage in self._stages:
            x = stage(x)
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    def param_groups(self, config: dict) -> list[dict]:
        """The head at `lr`, the unfrozen backbone at `lr × backbone_lr`."""
        body = [p for p in self.body.parameters() if p.requires_grad]
        groups = [{"params": list(self.head.parameters())}]
        if body:
            groups.append({"params": body, "lr": config["lr"] * config.get("backbone_lr", 1.0)})
        return groups


def build(config: dict, input_shape: tuple, n_outputs: int) -> nn.Module:
    if len(input_shape) != 3 or input_shape[0] not in (1, 3):
        raise InfeasibleConfig(f"the backbone factory needs grey or RGB images shaped C×H×W, "
                               f"but the data is {tuple(input_shape)}; use cnn or resnet")
    from tuner.models.weights import load_weights

    name = config["backbone"]
    if name not in ARCHITECTURES:
        raise ValueError(f"backbone must be one of {sorted(ARCHITECTURES)}, but got {name!r}")
    body = ARCHITECTURES[name]()
    if config.get("pretrained", True):
        body.load_state_dict(load_weights(name))
    frozen = int(config.get("freeze", 0))
    if not 0 <= frozen <= STAGES:
        raise ValueError(f"freeze must be 0-{STAGES}, but got {frozen}")
    features = body.features_out
    if config.get("head", "linear") == "mlp":
        units = int(config.get("head_units", 256))
        head = nn.Sequential(nn.Dropout(config.get("dropout", 0.0)), nn.Linear(features, units),
                             nn.ReLU(), nn.Dropout(config.get("dropout", 0.0)),
                             nn.Linear(units, n_outputs))
    else:
        head = nn.Sequential(nn.Dropout(config.get("dropout", 0.0)),
                             nn.Linear(features, n_outputs))
    # the ImageNet classifier is not used: drop it so it is neither saved nor moved
    if hasattr(body, "fc"):
        body.fc = nn.Identity()
    else:
        body.classifier = nn.Identity()
    return Pretrained(body, head, frozen, int(config.get("input_size", 224)))
