"""The synthetic teacher-labelled image task used by the GPU benchmark."""

import numpy as np
import pytest

from tuner.data import load_data
from tuner.errors import UserError

SPLIT = (0.7, 0.15, 0.15)


def test_shapes_balance_and_split():
    d = load_data("synthetic", split=SPLIT, seed=0, examples=1000, size=12, classes=5)
    assert d.x_train.shape == (700, 1, 12, 12) and d.x_train.dtype == np.float32
    assert len(d.x_valid) == 150 and len(d.x_test) == 150
    assert d.classes == ["0", "1", "2", "3", "4"]
    counts = np.bincount(np.concatenate([d.y_train, d.y_valid, d.y_test]), minlength=5)
    assert counts.tolist() == [200] * 5  # quantile bins of the teacher's score


def test_same_seed_same_task_and_another_seed_another():
    a = load_data("synthetic", split=SPLIT, seed=3, examples=500, size=8)
    b = load_data("synthetic", split=SPLIT, seed=3, examples=500, size=8)
    c = load_data("synthetic", split=SPLIT, seed=4, examples=500, size=8)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.x_train, c.x_train)


def test_labels_are_a_function_of_the_images():
    """A linear probe on the teacher's own inputs beats chance by far: the task is learnable."""
    from tuner.data.synthetic import teacher_labels

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4000, 1, 12, 12), dtype=np.float32)
    y = teacher_labels(x, 2, seed=0)
    flat = np.c_[x.reshape(len(x), -1), np.ones(len(x))]
    w, *_ = np.linalg.lstsq(flat[:3000], 2.0 * y[:3000] - 1, rcond=None)
    accuracy = ((flat[3000:] @ w > 0) == y[3000:]).mean()
    assert accuracy > 0.7


def test_bad_options_are_one_line():
    with pytest.raises(UserError) as e:
        load_data("synthetic", split=SPLIT, seed=0, where="exp.toml: [data]", examples=10)
    assert str(e.value) == ("exp.toml: [data] examples: must be an integer between 100 and "
                            "10000000, but got 10")
