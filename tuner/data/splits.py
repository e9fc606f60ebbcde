"""Train / valid / test splits: stratified, seeded, and checked so a class never goes missing."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from tuner.errors import UserError


@dataclass(frozen=True)
class Splits:
    """Arrays for one experiment. `x_test` is None in what tuning trials receive."""

    name: str
    task: str  # "classification"
    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    classes: list = field(default_factory=list)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def n_outputs(self) -> int:
        return len(self.classes)

    def for_tuning(self) -> Splits:
        """The same data without the test split: trials never see it."""
        return replace(self, x_test=None, y_test=None)

    def summary(self) -> str:
        n_test = 0 if self.x_test is None else len(self.x_test)
        return (
            f"{self.name}: {len(self.x_train)} train / {len(self.x_valid)} valid / {n_test} test, "
            f"input {'×'.join(map(str, self.input_shape))}, {self.n_outputs} classes"
        )


def stratified_split(
    y: np.ndarray, fractions: tuple[float, float, float], seed: int, *, where: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays for train/valid/test with each class split in the given proportions."""
    rng = np.random.default_rng(seed)
    f_train, f_valid, _ = fractions
    parts: list[list[np.ndarray]] = [[], [], []]
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n = len(idx)
        n_train = int(round(n * f_train))
        n_valid = int(round(n * f_valid))
        if n_train < 1 or n_valid < 1 or n - n_train - n_valid < 1:
            raise UserError(
                f"{where}: class {c!r} has {n} examples, too few for the split "
                f"{list(fractions)}; every class needs at least one example per split"
            )
        parts[0].append(idx[:n_train])
        parts[1].append(idx[n_train : n_train + n_valid])
        parts[2].append(idx[n_train + n_valid :])
    return tuple(rng.permutation(np.concatenate(p)) for p in parts)  # type: ignore[return-value]
