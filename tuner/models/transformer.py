"""Transformer-encoder factory: Linear to d_model = heads × head_dim → positional encoding
(sinusoidal | learned) → `blocks` pre-norm encoder layers (padded steps masked as keys) →
masked mean pooling or a CLS token → linear head.

Config keys: heads, head_dim, blocks, ff_mult (feed-forward width = ff_mult × d_model), dropout,
positional, pooling (mean | cls), downsample (average every k steps before the embedding;
default 1). d_model is a product, so it always divides by the heads.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from tuner.models.layers import (
    choose,
    downsample,
    factor_of,
    masked_pool,
    sequence_shape,
    step_mask,
    true_lengths,
)

POSITIONAL = ("sinusoidal", "learned")
POOLING = ("mean", "cls")


def sinusoids(steps: int, width: int) -> torch.Tensor:
    """(steps, width) sine/cosine positions of 'Attention is all you need'."""
    pos = torch.arange(steps, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    table = torch.zeros(steps, width + width % 2)
    table[:, 0::2], table[:, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq)
    return table[:, :width]


class Positions(nn.Module):
    """Adds positions to (B, T, d); learned ones cover the `steps` of the data's padded length."""

    def __init__(self, kind: str, steps: int, width: int):
        super().__init__()
        self.kind, self.steps = kind, steps
        if kind == "learned":
            self.table = nn.Parameter(torch.randn(steps, width) * 0.02)
        else:
            # not saved with the model: it is a function of the shape alone
            self.register_buffer("table", sinusoids(steps, width), persistent=False)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        steps = h.shape[1]
        if steps > self.table.shape[0]:
            if self.kind == "learned":
                raise ValueError(
                    f"learned positions cover {self.steps} steps (the data's length when the "
                    f"model was built), but got a batch of {steps} steps"
                )
            self.table = sinusoids(steps, h.shape[2]).to(h.device)
        return h + self.table[:steps].to(h.dtype)


class TransformerNet(nn.Module):
    def __init__(self, channels: int, steps: int, config: dict, n_outputs: int):
        super().__init__()
        heads = int(config["heads"])
        self.d_model = heads * int(config["head_dim"])
        dropout = float(config.get("dropout", 0.0))
        self.pooling = choose(config, "pooling", POOLING)
        self.factor = factor_of(config)
        steps = -(-steps // self.factor)  # what the encoder sees after downsampling
        self.embed = nn.Linear(channels, self.d_model)
        self.positions = Positions(choose(config, "positional", POSITIONAL), steps, self.d_model)
        self.cls = (
            nn.Parameter(torch.randn(1, 1, self.d_model) * 0.02) if self.pooling == "cls" else None
        )
        layer = nn.TransformerEncoderLayer(
            self.d_model,
            heads,
            dim_feedforward=int(config["ff_mult"]) * self.d_model,
            dropout=dropout,
            activation="gelu",
            batch_first=True,
            # pre-norm trains without a long warm-up, which most sampled schedules lack
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(
            layer,
            int(config["blocks"]),
            norm=nn.LayerNorm(self.d_model),
            enable_nested_tensor=False,  # unused with pre-norm; False keeps torch from warning
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(self.d_model, n_outputs)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        x, lengths = downsample(x, lengths, self.factor)
        mask = step_mask(true_lengths(x, lengths), x.shape[1])
        # masked_fill, not a multiply: garbage (even NaN) in the padding must not reach attention
        h = self.positions(self.embed(x.masked_fill(~mask[..., None], 0.0)))
        padding = None if lengths is None else ~mask
        if self.cls is not None:
            # the CLS token has no position: the data's steps keep positions 0..T-1
            h = torch.cat([self.cls.expand(len(x), -1, -1), h], dim=1)
            if padding is not None:
                padding = torch.cat([padding.new_zeros(len(x), 1), padding], dim=1)
        h = self.encoder(h, src_key_padding_mask=padding)
        pooled = h[:, 0] if self.cls is not None else masked_pool(h, mask, "mean")
        return self.head(self.drop(pooled))


def build(config: dict, input_shape: tuple, n_outputs: int) -> nn.Module:
    """A transformer encoder for (T, C) sequences; config e.g. {'heads': 4, 'head_dim': 16}."""
    steps, channels = sequence_shape("transformer", input_shape)
    return TransformerNet(channels, steps, config, n_outputs)
