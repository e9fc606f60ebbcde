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

from tuner.models.aeon_fronts import TRANSFORMS as AEON_TRANSFORMS
from tuner.models.aeon_fronts import AeonFront
from tuner.models.layers import (
    FixedFront,
    sequence_shape,
    step_mask,
    true_lengths,
    zero_padding,
)

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


RIDGE_ALPHAS = torch.logspace(-3, 3, 13, dtype=torch.float64)


class Head(nn.Module):
    """Standardized features → dropout → linear. `prepare` fits the standardization on the
    training examples' features (train only, never validation or test).

    `ridge=True` is the paper's own head: the linear layer is solved in closed form by ridge
    regression on ±1 class targets at `prepare`, with its penalty chosen by leave-one-out
    error over a log grid (as scikit-learn's RidgeClassifierCV does), and is not trained by
    gradient descent afterwards (no dropout either). On small sets it is as accurate as a
    trained head with nothing to tune; the gradient-trained head scales to large ones."""

    def __init__(self, features: int, n_outputs: int, dropout: float, ridge: bool = False):
        super().__init__()
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("std", torch.ones(features))
        self.ridge = ridge
        self.drop = nn.Identity() if ridge else nn.Dropout(dropout)
        self.linear = nn.Linear(features, n_outputs)
        if ridge:
            self.linear.requires_grad_(False)

    @torch.no_grad()
    def prepare(self, features: torch.Tensor, targets: torch.Tensor | None = None) -> None:
        self.mean.copy_(features.mean(dim=0))
        # a constant feature (a kernel never positive) divides by 1 and stays 0
        std = features.std(dim=0) if len(features) > 1 else torch.ones_like(self.std)
        self.std.copy_(torch.where(std > 1e-8, std, torch.ones_like(std)))
        if self.ridge and targets is not None:
            w, b = ridge_fit((features - self.mean) / self.std, targets,
                             self.linear.out_features)
            self.linear.weight.copy_(w)
            self.linear.bias.copy_(b)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.linear(self.drop((f - self.mean) / self.std))


@torch.no_grad()
def ridge_fit(z: torch.Tensor, y: torch.Tensor, outputs: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight (outputs × p), bias) of ridge regression on z (n × p, centred) of ±1 one-hot
    class targets (integer y) or of y itself (float y), the penalty picked from RIDGE_ALPHAS by
    the exact leave-one-out squared error. Solved in whichever of the n × n or p × p forms is
    smaller (one eigendecomposition)."""
    dev, dtype = z.device, z.dtype
    z = z.double()
    n, p = z.shape
    if y.is_floating_point():
        t = y.double().reshape(n, outputs)
    else:
        t = -torch.ones(n, outputs, dtype=torch.float64, device=dev)
        t[torch.arange(n, device=dev), y.long()] = 1.0
    bias = t.mean(dim=0)
    t = t - bias
    small = n <= p
    lam, q = torch.linalg.eigh(z @ z.T if small else z.T @ z)
    lam = lam.clamp(min=0)
    # in the eigenbasis: u = the rows' coordinates, so the fit's hat matrix is u diag(lam /
    # (lam + a)) u^T (n × n form: u = q; p × p form: u = z q / sqrt(lam))
    u = q if small else (z @ q) / lam.clamp(min=1e-12).sqrt()
    ut = u.T @ t
    best, best_err, loo = None, float("inf"), None
    for a in RIDGE_ALPHAS.tolist():
        keep = a / (lam + a)  # 1 - shrinkage, per direction
        if small:  # u is a whole basis: the residual and 1 - leverage in stable forms (the
            # intercept's leverage, 1/n, is the constant direction's, which z lacks)
            residual = u @ (keep[:, None] * ut)
            free = u**2 @ keep - 1.0 / n
        else:
            residual = t - u @ ((1 - keep)[:, None] * ut)
            free = 1 - (u**2 @ (1 - keep) + 1.0 / n)
        left_out = residual / free.clamp(min=1e-12)[:, None]  # row i's error without row i
        err = (left_out**2).sum().item()
        if err < best_err:
            best, best_err, loo = a, err, t - left_out
    if small:  # w = z^T q diag(1 / (lam + a)) q^T t
        w = z.T @ (q @ (ut / (lam + best)[:, None]))
    else:  # w = q diag(1 / (lam + a)) q^T z^T t
        w = q @ ((q.T @ (z.T @ t)) / (lam + best)[:, None])
    if not y.is_floating_point():
        # ±1 scores are no probabilities: scaled by the factor that gives the left-out scores
        # the lowest cross-entropy, they become logits a validation loss can compare with a
        # trained head's (and that the ensemble of seeds can average)
        scale = _temperature(loo + bias, y.long())
        w, bias = w * scale, bias * scale
    return w.T.to(dtype), bias.to(dtype)


def _temperature(scores: torch.Tensor, y: torch.Tensor) -> float:
    """The factor s in a log grid from 0.1 to 100 minimizing the cross-entropy of s × scores
    against Platt's smoothed targets: the true class (n + 1) / (n + 2), the others sharing
    1 / (n + 2). With hard targets, scores that separate the examples left out would take the
    largest factor, and one mistake on new data would then cost a huge loss."""
    n, k = scores.shape
    target = torch.full_like(scores, 1.0 / ((n + 2) * max(k - 1, 1)))
    target[torch.arange(n), y] = (n + 1) / (n + 2)
    grid = torch.logspace(-1, 2, 61, dtype=scores.dtype, device=scores.device)
    logp = torch.log_softmax(grid[:, None, None] * scores[None], dim=2)
    ce = -(target[None] * logp).sum(dim=2).mean(dim=1)
    return float(grid[ce.argmin()])


class Rocket(FixedFront):
    """`fixed` (the transform) then `learned` (the head): training computes the transform's
    features once and fits the head alone."""

    def __init__(self, transform: nn.Module, features: int, n_outputs: int, dropout: float,
                 ridge: bool = False):
        super().__init__()
        self.fixed = transform
        self.learned = Head(features, n_outputs, dropout, ridge=ridge)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        with torch.no_grad():
            f = self.fixed(x, lengths)
        return self.learned(f)


HEADS = ("ridge", "linear")
TRANSFORMS = (*AEON_TRANSFORMS, "rocket")


def build(config: dict, input_shape: tuple, n_outputs: int) -> nn.Module:
    """A convolution transform and a linear head for (T, C) sequences; config e.g.
    {'transform': 'minirocket', 'head': 'ridge'}.

    'transform': one of aeon's (minirocket, multirocket, hydra, multirocket_hydra; see
    `tuner.models.aeon_fronts`), or "rocket", the original random kernels in torch (the
    default, for configs saved before the transform was a choice). 'kernels': the transform's
    size (aeon's n_kernels; ROCKET's kernel count), its published default when absent. 'head':
    "linear" (trained by gradient descent, the default) or "ridge" (closed form)."""
    steps, channels = sequence_shape("rocket", input_shape)
    head = config.get("head", "linear")
    if head not in HEADS:
        raise ValueError(f"rocket head must be one of {', '.join(HEADS)}, but got {head!r}")
    kind = config.get("transform", "rocket")
    if kind not in TRANSFORMS:
        raise ValueError(f"rocket transform must be one of {', '.join(TRANSFORMS)}, but got "
                         f"{kind!r}")
    seed = int(torch.randint(2**31 - 1, ()).item())  # the trial's torch seed draws the kernels
    kernels = config.get("kernels")
    if kind == "rocket":
        transform = RandomKernels(steps, channels, int(kernels or 10_000),
                                  generator=torch.Generator().manual_seed(seed))
        features = 2 * transform.kernels
    else:
        transform = AeonFront(kind, steps, channels, seed=seed,
                              kernels=None if kernels is None else int(kernels))
        features = transform.features
    return Rocket(transform, features, n_outputs, float(config.get("dropout", 0.0)),
                  ridge=head == "ridge")
