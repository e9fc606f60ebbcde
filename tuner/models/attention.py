"""GRU + self-attention factory: optional 1-D conv blocks extract local features (the
DeepConvLSTM recipe for sensor data), a GRU reads them, a Linear projects its outputs to
heads × head_dim, multi-head self-attention (padded steps masked as keys) is added back
(residual) and layer-normalized, then masked pooling (mean | max) and a linear head.

Config keys: hidden_size, gru_layers, bidirectional, heads, head_dim, pooling, dropout,
downsample (average every k steps first; default 1), conv_blocks (default 0) with
conv_filters_i and conv_kernel_i per block. The attention width is heads × head_dim, so it
always divides by the number of heads.
"""

from __future__ import annotations

import torch
from torch import nn

from tuner.models.conv1d import ConvBlock, run_blocks
from tuner.models.layers import (
    choose,
    downsample,
    factor_of,
    masked_pool,
    per_layer,
    run_recurrent,
    sequence_shape,
    step_mask,
    true_lengths,
)

POOLING = ("mean", "max")


class AttentionNet(nn.Module):
    def __init__(
        self, gru: nn.GRU, heads: int, head_dim: int, pooling: str, dropout: float, n_outputs: int,
        factor: int = 1,
        convs: list[ConvBlock] | None = None,
    ):
        super().__init__()
        width = heads * head_dim
        self.gru, self.pooling, self.factor = gru, pooling, factor
        self.convs = nn.ModuleList(convs or [])
        self.proj = nn.Linear(gru.hidden_size * (2 if gru.bidirectional else 1), width)
        self.attn = nn.MultiheadAttention(width, heads, dropout=dropout, batch_first=True)
        self.norm = nn.LayerNorm(width)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(width, n_outputs)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        full = lengths is None
        x, lengths = downsample(x, lengths, self.factor)
        lengths = true_lengths(x, lengths)
        mask = step_mask(lengths, x.shape[1])
        if self.convs:  # each keeps every step, so the mask still holds after them
            x = run_blocks(self.convs, x, None if full else mask)
        h = self.proj(run_recurrent(self.gru, x, None if full else lengths))
        a, _ = self.attn(h, h, h, key_padding_mask=None if full else ~mask, need_weights=False)
        h = self.norm(h + self.drop(a))
        return self.head(self.drop(masked_pool(h, mask, self.pooling)))


def build(config: dict, input_shape: tuple, n_outputs: int) -> nn.Module:
    """A GRU + self-attention net for (T, C) sequences; config e.g. {'heads': 2, ...}."""
    _, channels = sequence_shape("attention", input_shape)
    layers = int(config["gru_layers"])
    dropout = float(config.get("dropout", 0.0))
    blocks = int(config.get("conv_blocks", 0))
    convs = []
    for filters, kernel in zip(
        per_layer(config, "conv_filters", blocks), per_layer(config, "conv_kernel", blocks),
        strict=True,
    ):
        convs.append(ConvBlock(channels, int(filters), int(kernel), 1, causal=False,
                               batch_norm=True, act="relu", dropout=dropout))
        channels = int(filters)
    gru = nn.GRU(
        channels,
        int(config["hidden_size"]),
        num_layers=layers,
        batch_first=True,
        dropout=dropout if layers > 1 else 0.0,  # torch applies it between stacked layers only
        bidirectional=bool(config.get("bidirectional", False)),
    )
    return AttentionNet(
        gru,
        int(config["heads"]),
        int(config["head_dim"]),
        choose(config, "pooling", POOLING),
        dropout,
        n_outputs,
        factor_of(config),
        convs,
    )
