"""1-D convolution factory: dilated conv blocks over time → masked global pooling → dense head.

Block i is conv (dilation = dilation_growth ** i, WaveNet style) → [batch norm] → activation →
dropout. With `causal`, the padding is on the left only, so step t sees steps <= t; otherwise
'same' padding. There is no pooling between blocks: every block keeps all T steps, so each
sequence's valid region stays its first `length` steps. Padded steps are zeroed before every
block (a trimmed sequence sees zero padding at its end, too), batch norm takes its statistics
from valid steps only, and the global pooling (avg | max) ignores the padding.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from tuner.models.layers import (
    activation,
    choose,
    masked_pool,
    per_layer,
    sequence_shape,
    step_mask,
    true_lengths,
    zero_padding,
)

POOLING = ("avg", "max")


class ConvBlock(nn.Module):
    def __init__(
        self,
        channels: int,
        filters: int,
        kernel: int,
        dilation: int,
        *,
        causal: bool,
        batch_norm: bool,
        act: str,
        dropout: float,
    ):
        super().__init__()
        self.left = dilation * (kernel - 1) if causal else 0
        self.conv = nn.Conv1d(
            channels, filters, kernel, dilation=dilation, padding=0 if causal else "same"
        )
        self.norm = nn.BatchNorm1d(filters) if batch_norm else None
        self.act, self.drop = activation(act), nn.Dropout(dropout)

    def forward(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """(B, T, C) → (B, T, filters), zero on padded steps."""
        h = self.conv(F.pad(h.transpose(1, 2), (self.left, 0))).transpose(1, 2)
        if self.norm is not None:
            if mask is None:
                h = self.norm(h.transpose(1, 2)).transpose(1, 2)
            else:
                # statistics from the valid steps only, so the amount of padding can't skew them
                h = h.masked_scatter(mask[..., None], self.norm(h[mask]))
        h = self.drop(self.act(h))
        return h if mask is None else zero_padding(h, mask)


def run_blocks(blocks, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """(B, T, C) through conv blocks; padded steps (mask False) are zero before the first block,
    so a kernel at a sequence's end sees zeros as in a trimmed sequence, and after each."""
    h = x if mask is None else zero_padding(x, mask)
    for block in blocks:
        h = block(h, mask)
    return h


class Conv1dNet(nn.Module):
    def __init__(self, blocks: list[ConvBlock], head: nn.Sequential, pooling: str):
        super().__init__()
        self.blocks, self.head, self.pooling = nn.ModuleList(blocks), head, pooling

    def features(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Per-step features before pooling, (B, T, filters of the last block)."""
        mask = None if lengths is None else step_mask(true_lengths(x, lengths), x.shape[1])
        return run_blocks(self.blocks, x, mask)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        mask = step_mask(true_lengths(x, lengths), x.shape[1])
        return self.head(masked_pool(self.features(x, lengths), mask, self.pooling))


def build(config: dict, input_shape: tuple, n_outputs: int) -> nn.Module:
    """A dilated 1-D CNN for (T, C) sequences; config e.g. {'conv_blocks': 2, 'filters_1': 32}."""
    _, channels = sequence_shape("conv1d", input_shape)
    kernel, growth = int(config["kernel_size"]), int(config["dilation_growth"])
    act, dropout = config["activation"], float(config.get("dropout", 0.0))
    blocks = []
    for i, filters in enumerate(per_layer(config, "filters", int(config["conv_blocks"]))):
        blocks.append(
            ConvBlock(
                channels,
                int(filters),
                kernel,
                growth**i,
                causal=bool(config.get("causal", False)),
                batch_norm=bool(config.get("batch_norm", False)),
                act=act,
                dropout=dropout,
            )
        )
        channels = int(filters)
    units = int(config["dense_units"])
    head = nn.Sequential(
        nn.Dropout(dropout),
        nn.Linear(channels, units),
        activation(act),
        nn.Dropout(dropout),
        nn.Linear(units, n_outputs),
    )
    return Conv1dNet(blocks, head, choose(config, "global_pool", POOLING))
