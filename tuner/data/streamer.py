"""DataStreamer: seeded, shuffled mini-batches of in-memory tensors, without DataLoader cost."""

from __future__ import annotations

from collections.abc import Iterator

import torch


class DataStreamer:
    """Yields batches (tuples) of aligned tensors, e.g. (x, y) or (x, y, lengths).

    A new seeded permutation every epoch; `None` tensors are passed through as None.

        >>> s = DataStreamer(torch.zeros(10, 3), torch.zeros(10), batch_size=4, seed=0)
        >>> [len(x) for x, _ in s]
        [4, 4, 2]
    """

    def __init__(self, *tensors: torch.Tensor | None, batch_size: int, shuffle: bool = True,
                 seed: int = 0):
        present = [t for t in tensors if t is not None]
        if not present:
            raise ValueError("DataStreamer needs at least one tensor")
        n = len(present[0])
        if any(len(t) != n for t in present):
            raise ValueError(f"tensors differ in length: {[len(t) for t in present]}")
        self.tensors = tensors
        self.n = n
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def x(self) -> torch.Tensor:
        return self.tensors[0]

    def __len__(self) -> int:
        return (self.n + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple]:
        order = torch.randperm(self.n, generator=self.generator) if self.shuffle else None
        for start in range(0, self.n, self.batch_size):
            if order is None:
                sl = slice(start, start + self.batch_size)
                yield tuple(None if t is None else t[sl] for t in self.tensors)
            else:
                idx = order[start : start + self.batch_size]
                yield tuple(None if t is None else t[idx.to(t.device)] for t in self.tensors)
