"""Random convolution kernels (ROCKET) with a trained linear head, for (T, C) sequences.

Dempster, Petitjean & Webb (2020), "ROCKET: exceptionally fast and accurate time series
classification using random convolutional kernels". Thousands of fixed, random 1-D kernels
(length 7, 9 or 11; weights N(0, 1) centred; bias U(-1, 1); dilation exponential in the series
length; half of them padded) each give two features of a series: the proportion of positive
values (PPV) and the maximum. Only the head learns: standardized features → dropout → linear.
On small labelled sets (tens to hundreds of series) this beats deep nets that have far more
parameters than examples, and it trains in seconds.

Here every kernel with the same dilation is one padded convolution (shorter kernels sit centred
in 11 taps), so a whole transform is a few dozen `conv1d` calls; an unpadded kernel's features
skip the positions where it would overhang the series, and padded steps of variable-length
batches count for no kernel. Kernels come from the torch seed at build time: the trial's seed,
so each trial and each final-training seed draws its own.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from tuner.models.layers import sequence_shape, step_mask, true_lengths, zero_padding

TAPS = 11  # the longest kernel; shorter ones are zero-padded to it, centred
LENGTHS = (7, 9, 11)


class RandomKernels(nn.Module):
    """(B, T, C) → (B, 2 × kernels): PPV and max of each random kernel (nothing trainable)."""

    def __init__(self, steps: int, channels: int, kernels: int, *, generator: torch.Generator):
        super().__init__()
        g = generator
        length = torch.tensor(LENGTHS)[torch.randint(len(LENGTHS), (kernels,), generator=g)]
        weight = torch.randn(kernels, channels, TAPS, generator=g)
        # a random subset of channels per kernel, 2^U(0, log2(C + 1)) of them (ROCKET for MTS)
        if channels > 1:
            n_used = (2 ** (torch.rand(kernels, generator=g) * math.log2(channels + 1))).floor()
            n_used = n_used.clamp(1, channels).long()
            rank = torch.rand(kernels, channels, generator=g).argsort(dim=1).argsort(dim=1)
            weight = weight * (rank < n_used[:, None])[..., None]
        taps = torch.arange(TAPS)
        inside = (taps[None, :] - TAPS // 2).abs() <= (length[:, None] - 1) // 2  # centred
        weight = weight * inside[:, None, :]
        used = weight.abs().sum(dim=2, keepdim=True) > 0
        mean = weight.sum(dim=2, keepdim=True) / length[:, None, None]
        weight = (weight - mean) * inside[:, None, :] * used
        bias = torch.rand(kernels, generator=g) * 2 - 1
        # dilation 2^U(0, A), A = log2((T - 1) / (length - 1)): the kernel spans up to T steps
        top = torch.log2(torch.tensor(max(steps - 1, 1), dtype=torch.float) / (length - 1))
        dilation = (2 ** (torch.rand(kernels, generator=g) * top.clamp(min=0))).floor().long()
        padded = torch.rand(kernels, generator=g) < 0.5
        order = dilation.argsort(stable=True)  # kernels of one dilation side by side
        dilation, length, padded = dilation[order], length[order], padded[order]
        # flat buffers, so a saved model loads into a fresh one whatever the seed drew
        self.register_buffer("weight", weight[order].contiguous())
        self.register_buffer("bias", bias[order].contiguous())
        self.register_buffer("dilation", dilation)
        # steps an unpadded kernel overhangs at each end (0 for padded kernels)
        self.register_buffer("edge", torch.where(padded, 0, (length - 1) // 2 * dilation))
        self.kernels = kernels

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        b, t, _ = x.shape
        full = true_lengths(x, lengths)
        if lengths is not None:  # kernels overhanging a series' end read zeros, as at its start
            x = zero_padding(x, step_mask(full, t))
        h = x.transpose(1, 2)  # (B, C, T)
        pos = torch.arange(t, device=x.device)
        ppv, peak = [], []
        dilations, counts = torch.unique_consecutive(self.dilation.cpu(), return_counts=True)
        start = 0
        for d, n in zip(dilations.tolist(), counts.tolist(), strict=True):
            sl = slice(start, start + n)
            start += n
            w, bias, edge = self.weight[sl], self.bias[sl], self.edge[sl]
            out = nn.functional.conv1d(h, w, bias, padding=TAPS // 2 * d, dilation=d)
            # valid outputs: inside the series, and off the edges for an unpadded kernel (unless
            # the series is too short for it, when it reads the padding like a padded one)
            lo = edge[None, :]
            hi = full[:, None] - edge[None, :]
            short = hi <= lo
            lo = torch.where(short, 0, lo)
            hi = torch.where(short, full[:, None], hi)
            valid = (pos[None, None, :] >= lo[..., None]) & (pos[None, None, :] < hi[..., None])
            count = valid.sum(dim=2).clamp(min=1)
            ppv.append(((out > 0) & valid).sum(dim=2) / count)
            peak.append(out.masked_fill(~valid, float("-inf")).amax(dim=2))
        return torch.cat([torch.cat(ppv, dim=1).to(x.dtype), torch.cat(peak, dim=1)], dim=1)


class Head(nn.Module):
    """Standardized features → dropout → linear. `prepare` fits the standardization on the
    training examples' features (train only, never validation or test)."""

    def __init__(self, features: int, n_outputs: int, dropout: float):
        super().__init__()
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("std", torch.ones(features))
        self.drop = nn.Dropout(dropout)
        self.linear = nn.Linear(features, n_outputs)

    @torch.no_grad()
    def prepare(self, features: torch.Tensor) -> None:
        self.mean.copy_(features.mean(dim=0))
        # a constant feature (a kernel never positive) divides by 1 and stays 0
        std = features.std(dim=0) if len(features) > 1 else torch.ones_like(self.std)
        self.std.copy_(torch.where(std > 1e-8, std, torch.ones_like(std)))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.linear(self.drop((f - self.mean) / self.std))


class Rocket(nn.Module):
    """`fixed` (the kernels) then `learned` (the head): training computes the kernels'
    features once and fits the head alone."""

    def __init__(self, transform: RandomKernels, n_outputs: int, dropout: float):
        super().__init__()
        self.fixed = transform
        self.learned = Head(2 * transform.kernels, n_outputs, dropout)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        with torch.no_grad():
            f = self.fixed(x, lengths)
        return self.learned(f)


def build(config: dict, input_shape: tuple, n_outputs: int) -> nn.Module:
    """ROCKET for (T, C) sequences; config e.g. {'kernels': 2000, 'dropout': 0.1}."""
    steps, channels = sequence_shape("rocket", input_shape)
    g = torch.Generator().manual_seed(int(torch.randint(2**31 - 1, ()).item()))
    transform = RandomKernels(steps, channels, int(config["kernels"]), generator=g)
    return Rocket(transform, n_outputs, float(config.get("dropout", 0.0)))
