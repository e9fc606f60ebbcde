"""aeon's convolution transforms as a model's fixed front: MiniRocket, MultiRocket, Hydra.

Dempster, Schmidt & Webb (2021), "MiniRocket: a very fast (almost) deterministic transform for
time series classification"; Tan, Dempster, Bergmeir & Webb (2022), "MultiRocket: multiple
pooling operators and transformations"; Dempster, Schmidt & Webb (2023), "Hydra: competing
convolutional kernels". The transforms are aeon's own (a kept library: the code the papers'
authors maintain there), not re-implemented here: MiniRocket's 84 fixed kernels with biases
taken from the training series' convolution outputs (10 000 features), MultiRocket's four
pooling operators over the series and its first difference (about 50 000 features), Hydra's
groups of competing random kernels (1 024 counts per dilation, square-rooted as its authors
scale them), and MultiRocket and Hydra side by side, the strongest of the family in the
authors' comparison.

MiniRocket and MultiRocket take their biases from the training series: `fit_rows` is given
exactly the rows the model trains on (each fold's own, train + valid in final training), and
what it fits travels in the state_dict as extra state (tensors only, so that
`torch.load(weights_only=True)` loads a saved model). The transforms run on the CPU, in numpy
(aeon's numba code; Hydra's torch code, which keeps its counts on the CPU), whatever device
the head trains on; training computes the features once per run, so this is a small part of
a trial. Series are read as padded: a variable-length series is zero after its end, as aeon's
own classifiers read unequal-length sets once padded, and a series shorter than the kernels'
span is zero-padded to it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tuner.models.layers import FitsTrainingRows, step_mask, true_lengths, zero_padding

SPAN = 9  # MiniRocket's kernels have 9 taps; MultiRocket also reads the first difference
MIN_STEPS = SPAN + 1
GROUPS = 84  # MiniRocket's fixed kernels (aeon rounds the feature count down to a multiple)
DEFAULT_KERNELS = {"minirocket": 10_000, "multirocket": 6_250}
HYDRA_KERNELS, HYDRA_GROUPS = 8, 64  # the paper's k and g
TRANSFORMS = ("minirocket", "multirocket", "hydra", "multirocket_hydra")


def hydra_features(steps: int) -> int:
    """Hydra's output width: per dilation, max counts and min counts of k × g/2 kernels over
    the series and over its first difference."""
    exponent = np.log2((max(steps, MIN_STEPS) - 1) / (SPAN - 1))
    return (int(exponent) + 1) * 2 * 2 * (HYDRA_GROUPS // 2) * HYDRA_KERNELS


def n_features(transform: str, steps: int, kernels: int | None = None) -> int:
    """How many features `transform` makes of a series of `steps` steps."""
    if transform == "multirocket_hydra":
        return n_features("multirocket", steps, kernels) + hydra_features(steps)
    if transform == "hydra":
        return hydra_features(steps)
    per_group = (kernels or DEFAULT_KERNELS[transform]) // GROUPS
    if transform == "minirocket":
        return GROUPS * per_group
    return GROUPS * per_group * 4 * 2  # four pooling operators, series and its difference


class AeonFront(FitsTrainingRows, nn.Module):
    """(B, T, C) → (B, features): one of aeon's transforms, fitted to the training rows."""

    def __init__(self, transform: str, steps: int, channels: int, *, seed: int,
                 kernels: int | None = None):
        super().__init__()
        if transform not in TRANSFORMS:
            raise ValueError(f"transform must be one of {', '.join(TRANSFORMS)}, but got "
                             f"{transform!r}")
        self.transform, self.seed, self.kernels = transform, int(seed), kernels
        self.steps, self.channels = max(int(steps), MIN_STEPS), int(channels)
        self.features = n_features(transform, steps, kernels)
        self.parts: dict = {}  # name → fitted aeon transformer

    def _names(self) -> tuple:
        return ("multirocket", "hydra") if self.transform == "multirocket_hydra" \
            else (self.transform,)

    @staticmethod
    def _threads() -> int:
        return max(1, torch.get_num_threads())  # the trial's CPUs, as torch was given them

    def _make(self, name: str):
        from aeon.transformations.collection.convolution_based import (
            HydraTransformer,
            MiniRocket,
            MultiRocket,
        )

        if name == "hydra":
            return HydraTransformer(n_kernels=HYDRA_KERNELS, n_groups=HYDRA_GROUPS,
                                    n_jobs=self._threads(), random_state=self.seed)
        cls = MiniRocket if name == "minirocket" else MultiRocket
        return cls(n_kernels=self.kernels or DEFAULT_KERNELS[name], n_jobs=self._threads(),
                   random_state=self.seed)

    def _array(self, x: torch.Tensor, lengths: torch.Tensor | None) -> np.ndarray:
        """(B, T, C) tensor → (B, C, T') float32 array, zero after each series' length and
        zero-padded to the span."""
        if lengths is not None:
            x = zero_padding(x, step_mask(true_lengths(x, lengths), x.shape[1]))
        a = x.detach().float().cpu().transpose(1, 2).numpy()
        if a.shape[2] < self.steps:
            a = np.pad(a, ((0, 0), (0, 0), (0, self.steps - a.shape[2])))
        return np.ascontiguousarray(a, dtype=np.float32)

    @torch.no_grad()
    def fit_rows(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> None:
        a = self._array(x, lengths)
        self.parts = {}
        numpy_state = np.random.get_state()  # aeon seeds the global generators: put them back
        with torch.random.fork_rng(devices=[]):
            for name in self._names():
                part = self._make(name)
                part.fit(a)
                self.parts[name] = part
        np.random.set_state(numpy_state)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if not self.parts:
            raise RuntimeError(f"the {self.transform} front is not fitted: call fit_rows with "
                               f"the training rows first")
        a = self._array(x, lengths)
        out = []
        for name, part in self.parts.items():
            part._n_jobs = self._threads()
            f = part._transform(a)
            f = torch.as_tensor(np.asarray(f), dtype=torch.float32)
            out.append(f.clamp(min=0).sqrt() if name == "hydra" else f)
        f = torch.cat(out, dim=1)
        if f.shape[1] != self.features:
            raise RuntimeError(f"the {self.transform} front made {f.shape[1]} features, "
                               f"{self.features} expected")
        return torch.nan_to_num(f).to(x.device)

    # -- what a saved model carries: the fitted parameters, as tensors ------------------------

    def get_extra_state(self) -> dict:
        state = {}
        for name, part in self.parts.items():
            if name == "hydra":
                h = part._hydra
                state["hydra"] = {"W": h.W, "idx": list(h.idx)}
            elif name == "minirocket":
                state[name] = {"parameters": [torch.from_numpy(np.asarray(p))
                                              for p in part.parameters]}
            else:
                state[name] = {"parameter": [torch.from_numpy(np.asarray(p))
                                             for p in part.parameter],
                               "parameter1": [torch.from_numpy(np.asarray(p))
                                              for p in part.parameter1]}
        return state

    def set_extra_state(self, state: dict) -> None:
        from aeon.transformations.collection.convolution_based._hydra import _HydraInternal

        self.parts = {}
        for name in self._names():
            if name not in state:
                raise RuntimeError(f"the saved {self.transform} front has no fitted {name}")
            part, saved = self._make(name), state[name]
            if name == "hydra":
                h = _HydraInternal(self.steps, self.channels, k=HYDRA_KERNELS, g=HYDRA_GROUPS)
                h.W, h.idx = saved["W"], list(saved["idx"])
                part._hydra = h
            elif name == "minirocket":
                part.parameters = tuple(t.numpy() for t in saved["parameters"])
            else:
                part.parameter = tuple(t.numpy() for t in saved["parameter"])
                part.parameter1 = tuple(t.numpy() for t in saved["parameter1"])
                part.random_state_ = self.seed
            part._n_jobs = self._threads()
            self.parts[name] = part


def compile_transforms() -> float:
    """Run each transform once on a tiny set, univariate and multivariate, so that numba
    compiles aeon's code now and caches it on disk (~80 s once per environment), not in the
    first trials of the first search. Returns the seconds it took."""
    import time

    start = time.perf_counter()
    g = torch.Generator().manual_seed(0)
    for channels in (1, 2):
        x = torch.randn(4, 16, channels, generator=g)
        for name in TRANSFORMS[:3]:
            front = AeonFront(name, 16, channels, seed=0, kernels=GROUPS)
            front.fit_rows(x)
            front(x)
    return time.perf_counter() - start


if __name__ == "__main__":
    print(f"aeon's transforms compiled and cached in {compile_transforms():.0f} s")
