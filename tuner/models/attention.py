"""GRU + self-attention factory: a GRU reads each sequence, a Linear projects its outputs to
heads × head_dim, multi-head self-attention (padded steps masked as keys) is added back
(residual) and layer-normalized, then masked pooling (mean | max) and a linear head.

Config keys: hidden_size, gru_layers, bidirectional, heads, head_dim, pooling, dropout,
downsample (average every k steps before the GRU; default 1). The attention width is
heads × head_dim, so it always divides by the number of heads.
"""

from __future__ import annotations

import torch
from torch import nn

from tuner.models.layers import (
    choose,
    downsample,
    factor_of,
    masked_pool,
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
    ):
        super().__init__()
        width = heads * head_dim
        self.gru, self.pooling, self.factor = gru, pooling, factor
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
        h = self.proj(run_recurrent(self.gru, x, None if full else lengths))
        a, _ = self.attn(h, h, h, key_padding_mask=None if full else ~mask, need_weights=False)
        h = self.norm(h + self.drop(a))
        return self.head(self.drop(masked_pool(h, mask, self.pooling)))


def build(config: dict, input_shape: tuple, n_outputs: int) -> nn.Module:
    """A GRU + self-attention net for (T, C) sequences; config e.g. {'heads': 2, ...}."""
    _, channels = sequence_shape("attention", input_shape)
    layers = int(config["gru_layers"])
    dropout = float(config.get("dropout", 0.0))
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
    )
