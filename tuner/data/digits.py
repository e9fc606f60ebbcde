"""scikit-learn's 8×8 handwritten digits (1 797 images, 10 classes), bundled: no network needed."""

from __future__ import annotations

import numpy as np

from tuner.data.options import check_options
from tuner.data.splits import Splits, stratified_split


def load(*, split, seed: int, where: str, **options) -> Splits:
    from sklearn.datasets import load_digits

    check_options(where, options, (), "digits")
    d = load_digits()
    # pixels are 0..16; scale to 0..1 and keep the image shape (N, 1, 8, 8) for CNNs
    x = (d.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = d.target.astype(np.int64)
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
        classes=[str(c) for c in range(10)],
    )
