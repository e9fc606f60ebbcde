"""A synthetic image task that is learnable at any size: random images labelled by a fixed,
randomly initialized teacher CNN (seeded), split 70/15/15 stratified.

It needs no download and scales to benchmark sizes (the GPU benchmark uses 60 000 × 1×28×28,
10 classes, MNIST's shape). Keys: `examples` (default 60000), `size` (side of the square
images, default 28), `classes` (default 10).
"""

from __future__ import annotations

import numpy as np

from tuner.data.options import check_options, int_option
from tuner.data.splits import Splits, stratified_split


def teacher_labels(x: np.ndarray, classes: int, seed: int) -> np.ndarray:
    """Labels from a fixed random conv net, balanced by splitting its scores at quantiles."""
    import torch
    from torch import nn

    g = torch.Generator().manual_seed(seed)
    teacher = nn.Sequential(
        nn.Conv2d(x.shape[1], 8, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(8, 8, 5, padding=2), nn.Tanh(), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
        nn.Linear(128, 1),
    )
    with torch.no_grad():
        for p in teacher.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (1.0 / max(1, p[0].numel()) ** 0.5))
        score = torch.cat([teacher(torch.from_numpy(x[i:i + 8192]))
                           for i in range(0, len(x), 8192)]).squeeze(1).numpy()
    # equal-count bins of one smooth score: every class is a region of input space
    edges = np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1])
    return np.searchsorted(edges, score).astype(np.int64)


def load(*, split, seed: int, where: str, **options) -> Splits:
    check_options(where, options, ("examples", "size", "classes"), "synthetic")
    n = int_option(where, options, "examples", 60_000, low=100, high=10_000_000)
    size = int_option(where, options, "size", 28, low=4, high=512)
    classes = int_option(where, options, "classes", 10, low=2, high=1000)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1, size, size), dtype=np.float32)
    y = teacher_labels(x, classes, seed)
    tr, va, te = stratified_split(y, split, seed, where=where)
    return Splits("synthetic", "classification", x[tr], y[tr], x[va], y[va], x[te], y[te],
                  classes=[str(c) for c in range(classes)],
                  notes=f"{n} random {size}×{size} images labelled by a fixed random CNN")
