"""scikit-learn's 8×8 handwritten digits (1 797 images, 10 classes), bundled: no network needed.

`classes = [5, 6, 7, 8, 9]` keeps some digits only (labels become 0..k-1 in the order given,
class names stay the digits), split 70/15/15 stratified within them: two tasks from one set,
for fine-tuning a model of one on the other (experiments/digits59_finetune.toml).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tuner.data.options import check_options
from tuner.data.splits import Splits, stratified_split
from tuner.errors import UserError


def read_bundled() -> tuple[np.ndarray, np.ndarray]:
    """(pixels 0..16 as N×64, labels) from the CSV scikit-learn ships, read without importing
    scikit-learn (a second of start-up the driver would spend before Ray starts)."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("source = \"digits\" needs scikit-learn, which ships the data: "
                        "pip install scikit-learn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    if not path.is_file():  # a layout this reader does not know: let scikit-learn read it
        from sklearn.datasets import load_digits

        d = load_digits()
        return d.data, d.target
    table = np.loadtxt(path, delimiter=",", dtype=np.float32)
    return table[:, :-1], table[:, -1]


def classes_option(where: str, options: dict) -> list[int]:
    """The digits `classes` keeps (all ten by default), or a UserError naming the rule."""
    v = options.get("classes", list(range(10)))
    rule = (f"{where} classes: must be a list of at least 2 different digits 0-9, e.g. "
            f"classes = [0, 1, 2, 3, 4]")
    if not isinstance(v, list) or not all(isinstance(c, int) and not isinstance(c, bool)
                                          for c in v):
        raise UserError(f"{rule}, but got {v!r}")
    bad = [c for c in v if not 0 <= c <= 9]
    if bad:
        raise UserError(f"{rule}, but got {bad[0]!r}, which is not a digit")
    twice = sorted({c for c in v if v.count(c) > 1})
    if twice:
        raise UserError(f"{rule}, but {twice[0]} is listed twice")
    if len(v) < 2:
        raise UserError(f"{rule}, but got {v!r}: a classifier needs two classes or more")
    return v


def load(*, split, seed: int, where: str, **options) -> Splits:
    check_options(where, options, ("classes",), "digits")
    keep = classes_option(where, options)
    pixels, labels = read_bundled()
    # pixels are 0..16; scale to 0..1 and keep the image shape (N, 1, 8, 8) for CNNs
    x = (pixels.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    y = labels.astype(np.int64)
    if keep != list(range(10)):
        label = np.full(10, -1, dtype=np.int64)
        label[keep] = np.arange(len(keep))  # the k-th digit in `keep` is label k
        mask = np.isin(y, keep)
        x, y = x[mask], label[y[mask]]
    tr, va, te = stratified_split(y, split, seed, where=where)
    return Splits(
        "digits",
        "classification",
        x[tr],
        y[tr],
        x[va],
        y[va],
        x[te],
        y[te],
        classes=[str(c) for c in keep],
        notes="" if len(keep) == 10 else f"digits {', '.join(map(str, keep))} only",
    )
