"""DataStreamer: seeded, shuffled mini-batches of in-memory tensors, without DataLoader cost."""

from __future__ import annotations

from collections.abc import Iterator

import torch


class DataStreamer:
    """Yields (x, y) batches; a new seeded permutation every epoch.

    >>> s = DataStreamer(torch.zeros(10, 3), torch.zeros(10), batch_size=4, seed=0)
    >>> [len(x) for x, _ in s]
    [4, 4, 2]
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
    ):
        if len(x) != len(y):
            raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
        self.x, self.y = x, y
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return (len(self.x) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.x)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            if order is None:
                yield (
                    self.x[start : start + self.batch_size],
                    self.y[start : start + self.batch_size],
                )
            else:
                idx = order[start : start + self.batch_size].to(self.x.device)
                yield self.x[idx], self.y[idx]
