"""Train / valid / test splits: stratified, seeded, and checked so a class never goes missing.

Shapes a Splits can hold (N examples first):
    tabular      (N, features)
    sequences    (N, T, channels)  padded to the longest; `lengths_*` give the true lengths
    images       (N, C, H, W), 8-bit (uint8) or float32; `pixels` says how to standardize them
Targets: class indices (int64) for classification; (N, horizon) float32 for regression and
forecasting, scaled with the training split's statistics (`target_scale` undoes it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from tuner.errors import UserError


@dataclass(frozen=True)
class Splits:
    """Arrays for one experiment. `x_test` is None in what tuning trials receive."""

    name: str
    task: str  # one of tuner.vocabulary.TASKS
    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    classes: list = field(default_factory=list)
    lengths_train: np.ndarray | None = None
    lengths_valid: np.ndarray | None = None
    lengths_test: np.ndarray | None = None
    # regression / forecasting: y_original = y * std + mean, and the MASE denominator (mean
    # absolute error of the naive forecast on the training data, in original units)
    target_scale: tuple[float, float] = (0.0, 1.0)
    target_transform: str = "none"  # none | sqrt | log (see tuner.data.forecast.TRANSFORMS)
    naive_mae: float | None = None
    notes: str = ""
    # images: (scale, per-channel mean, per-channel std) the model's first layer applies to
    # the pixels as stored (8-bit: scale 1/255), fitted on the training split; None: as given
    pixels: tuple | None = None
    # text: token ids (int32, padded with 0) with lengths; the tokenizer's vocabulary size and
    # the trained tokenizer (its JSON), saved with a final model
    vocab_size: int = 0
    tokenizer: str | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def n_outputs(self) -> int:
        if self.task == "classification":
            return len(self.classes)
        return 1 if self.y_train.ndim == 1 else int(self.y_train.shape[1])

    @property
    def variable_length(self) -> bool:
        return self.lengths_train is not None

    def part(self, which: str) -> tuple:
        """(x, y, lengths) of 'train', 'valid' or 'test'."""
        return (getattr(self, f"x_{which}"), getattr(self, f"y_{which}"),
                getattr(self, f"lengths_{which}"))

    def for_tuning(self) -> Splits:
        """The same data without the test split: trials never see it."""
        return replace(self, x_test=None, y_test=None, lengths_test=None)

    def summary(self) -> str:
        n_test = 0 if self.x_test is None else len(self.x_test)
        shape = "×".join(map(str, self.input_shape)) + (" tokens" if self.vocab_size else "")
        if self.variable_length:
            lo = int(min(self.lengths_train.min(), self.lengths_valid.min()))
            shape += f" (lengths {lo}-{self.x_train.shape[1]}, padded)"
        what = (f"{self.n_outputs} classes" if self.task == "classification"
                else f"{self.task}, {self.n_outputs} output(s)")
        text = (f"{self.name}: {len(self.x_train)} train / {len(self.x_valid)} valid / "
                f"{n_test} test, input {shape}, {what}")
        return text + (f"; {self.notes}" if self.notes else "")


def _label(c) -> str:
    return repr(c.item() if hasattr(c, "item") else c)


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
                f"{where}: class {_label(c)} has {n} examples, too few for the split "
                f"{list(fractions)}; every class needs at least one example per split"
            )
        parts[0].append(idx[:n_train])
        parts[1].append(idx[n_train : n_train + n_valid])
        parts[2].append(idx[n_train + n_valid :])
    return tuple(rng.permutation(np.concatenate(p)) for p in parts)  # type: ignore[return-value]


def stratified_holdout(y: np.ndarray, fraction: float, seed: int, *, where: str
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(keep, holdout) indices: `fraction` of each class held out (at least one per class)."""
    rng = np.random.default_rng(seed)
    keep, hold = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_hold = max(1, int(np.floor(len(idx) * fraction + 0.5)))  # halves round up
        if len(idx) - n_hold < 1:
            raise UserError(
                f"{where}: class {_label(c)} has only {len(idx)} training example(s), too few "
                f"to carve out a validation split; lower [data] valid or use more data"
            )
        hold.append(idx[:n_hold])
        keep.append(idx[n_hold:])
    return rng.permutation(np.concatenate(keep)), rng.permutation(np.concatenate(hold))
