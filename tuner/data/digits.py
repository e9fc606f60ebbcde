"""scikit-learn's 8×8 handwritten digits (1 797 images, 10 classes), bundled: no network needed."""

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


def load(*, split, seed: int, where: str, **options) -> Splits:
    check_options(where, options, (), "digits")
    pixels, labels = read_bundled()
    # pixels are 0..16; scale to 0..1 and keep the image shape (N, 1, 8, 8) for CNNs
    x = (pixels.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    y = labels.astype(np.int64)
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
