"""What every image model does first: pixels as stored (8-bit or float) to standardized floats,
and, in training mode only, the augmentation its config chose, on the batch's own device.

    ImageInput(net, channels, pixels, config)(x) == net(standardize(augment(scale(x))))

Augmentation is one random affine warp per image (shift, zoom, rotation, horizontal flip) in a
single `grid_sample` call, then colour jitter (brightness, contrast, saturation) on colour
images. `model.eval()` turns it off like dropout: validation, test and predictions see the
images as they are. The statistics are buffers, saved with the model's weights.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

# config keys of the augmentation priors (searchspaces/common.py: augmentation) and their
# "off" values
AUGMENT_OFF = {"aug_crop": "none", "aug_flip": False, "aug_rotate": 0, "aug_jitter": 0.0}
SHIFT = 0.125  # "pad": a random crop after padding by an eighth of the side (4 px of 32)
ZOOM = (0.6, 1.0)  # "resized": the crop keeps 60-100 % of the side, then is scaled back


def augmenting(config: dict) -> bool:
    return any(config.get(k, off) != off for k, off in AUGMENT_OFF.items())


class Augment(nn.Module):
    """Random shift or zoom, flip, rotation and colour jitter of a batch (N, C, H, W) in
    [0, 1]-like units; the identity in eval mode or when every prior is off."""

    def __init__(self, config: dict):
        super().__init__()
        self.crop = str(config.get("aug_crop", "none"))
        self.flip = bool(config.get("aug_flip", False))
        self.rotate = float(config.get("aug_rotate", 0))
        self.jitter = float(config.get("aug_jitter", 0.0))

    def extra_repr(self) -> str:
        return (f"crop={self.crop}, flip={self.flip}, rotate={self.rotate}, "
                f"jitter={self.jitter}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        if self.crop != "none" or self.flip or self.rotate:
            x = self._warp(x)
        if self.jitter and x.shape[1] == 3:
            x = self._colour(x)
        return x

    def _warp(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        dev, dt = x.device, x.dtype

        def u(lo: float, hi: float) -> torch.Tensor:
            return torch.rand(n, device=dev, dtype=dt) * (hi - lo) + lo

        angle = u(-self.rotate, self.rotate) * (math.pi / 180) if self.rotate else \
            torch.zeros(n, device=dev, dtype=dt)
        zoom = u(*ZOOM) if self.crop == "resized" else torch.ones(n, device=dev, dtype=dt)
        # the crop's centre moves at most as far as keeps it inside the (padded) image
        room = (1 - zoom) if self.crop == "resized" else torch.full_like(zoom, 2 * SHIFT)
        room = room if self.crop != "none" else torch.zeros_like(zoom)
        tx, ty = u(-1, 1) * room, u(-1, 1) * room
        flip = torch.where(torch.rand(n, device=dev) < 0.5, -1.0, 1.0).to(dt) if self.flip \
            else torch.ones(n, device=dev, dtype=dt)
        cos, sin = torch.cos(angle) * zoom, torch.sin(angle) * zoom
        theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1),
                             torch.stack([sin * flip, cos, ty], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                             align_corners=False)

    def _colour(self, x: torch.Tensor) -> torch.Tensor:
        n, j = x.shape[0], self.jitter
        shape = (n, 1, 1, 1)

        def u() -> torch.Tensor:
            return (torch.rand(shape, device=x.device, dtype=x.dtype) * 2 - 1) * j + 1

        grey = (0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
        x = x * u()  # brightness
        mean = grey.mean(dim=(2, 3), keepdim=True)
        x = (x - mean) * u() + mean  # contrast
        s = u()
        return x * s + grey * (1 - s)  # saturation


class ImageInput(nn.Module):
    """`net` behind the pixels' scaling, augmentation (training only) and per-channel
    standardization. `pixels` = (scale, mean per channel, std per channel) or None."""

    def __init__(self, net: nn.Module, channels: int, pixels=None, config: dict | None = None):
        super().__init__()
        scale, mean, std = pixels if pixels is not None else (1.0, (0.0,) * channels,
                                                              (1.0,) * channels)
        stats = getattr(net, "input_stats", None)  # a pretrained net: its weights' statistics
        if stats is not None:
            mean, std = stats if channels == 3 else ((sum(stats[0]) / 3,), (sum(stats[1]) / 3,))
        self.register_buffer("pixel_scale", torch.tensor(float(scale)))
        self.register_buffer("pixel_mean", torch.tensor(mean, dtype=torch.float32)
                             .view(1, -1, 1, 1))
        self.register_buffer("pixel_std", torch.tensor(std, dtype=torch.float32)
                             .view(1, -1, 1, 1))
        self.augment = Augment(config or {})
        self.net = net

    def param_groups(self, config: dict):
        hook = getattr(self.net, "param_groups", None)
        return None if hook is None else hook(config)

    def forward(self, x: torch.Tensor, *rest) -> torch.Tensor:
        x = x.float() * self.pixel_scale
        x = self.augment(x)
        return self.net((x - self.pixel_mean) / self.pixel_std, *rest)


def needs_input_layer(input_shape: tuple, pixels, config: dict) -> bool:
    """Images with statistics to apply or augmentation to do (data sets that arrive already
    scaled, like the bundled 8×8 digits without augmentation, go to the net as they are)."""
    return len(input_shape) == 3 and (pixels is not None or augmenting(config))


def with_input_layer(model: nn.Module, input_shape: tuple, pixels, config: dict) -> nn.Module:
    """The model behind an ImageInput when the data or the model (a pretrained net, with its
    weights' statistics) calls for one, else the model."""
    wants = len(input_shape) == 3 and getattr(model, "input_stats", None) is not None
    if not wants and not needs_input_layer(input_shape, pixels, config):
        return model
    return ImageInput(model, int(input_shape[0]), pixels, config)


def unwrapped_state(state: dict) -> dict:
    """A saved state_dict without its ImageInput: the net's own weights."""
    if "pixel_scale" not in state:
        return state
    return {k[len("net."):]: v for k, v in state.items() if k.startswith("net.")}
