"""The aeon source: bundled UCR/UEA sets, archive split kept, padding, train-only scaling."""

from pathlib import Path

import numpy as np
import pytest

from tuner.data import load_data
from tuner.data.aeon_sets import bundled_sets
from tuner.errors import UserError

WHERE = "exp.toml: [data]"
SPLIT = (0.7, 0.15, 0.15)
# name: (archive train, archive test, classes, channels, (min length, max length) or None)
SETS = {
    "JapaneseVowels": (270, 370, 9, 12, (7, 29)),
    "BasicMotions": (40, 40, 4, 6, None),
    "PickupGestureWiimoteZ": (50, 50, 10, 1, (29, 361)),
}


def load(seed=0, **options):
    return load_data("aeon", split=SPLIT, seed=seed, where=WHERE, **options)


def raw(name, part):
    """The archive's series as (T, C) arrays and its labels, straight from aeon."""
    import aeon.datasets
    from aeon.datasets import load_classification

    root = Path(aeon.datasets.__file__).parent / "data"
    x, y = load_classification(name, split=part, extract_path=str(root))
    return [np.asarray(s, dtype=np.float64).T for s in x], np.asarray(y).astype(str)


@pytest.fixture(scope="module", params=sorted(SETS))
def loaded(request):
    return request.param, load(dataset=request.param)


def test_shapes_classes_and_split_sizes(loaded):
    name, s = loaded
    n_train, n_test, n_classes, channels, lengths = SETS[name]
    assert s.task == "classification" and s.name == name
    assert len(s.x_train) + len(s.x_valid) == n_train
    assert len(s.x_test) == n_test
    assert len(s.classes) == n_classes == s.n_outputs
    assert s.x_train.dtype == np.float32 and s.y_train.dtype == np.int64
    assert s.x_train.ndim == 3 and s.x_train.shape[2] == channels
    assert s.x_train.shape[1:] == s.x_valid.shape[1:] == s.x_test.shape[1:]
    # the validation part is 20% of each class of the archive's train split
    _, train_labels = raw(name, "train")
    for c, label in enumerate(s.classes):
        n = int((train_labels == label).sum())
        assert (s.y_valid == c).sum() == max(1, round(n * 0.2))
    assert s.notes == (f"UEA/UCR archive split; validation = 20% of train ({len(s.x_valid)} of "
                       f"{n_train} series, stratified)")


def test_lengths_are_true_lengths_and_padding_is_zero(loaded):
    name, s = loaded
    expected = SETS[name][4]
    if expected is None:
        assert s.lengths_train is s.lengths_valid is s.lengths_test is None
        assert s.x_train.shape[1] == len(raw(name, "train")[0][0])
        return
    lengths = np.concatenate([s.lengths_train, s.lengths_valid, s.lengths_test])
    assert lengths.dtype == np.int64
    assert (lengths.min(), lengths.max()) == expected
    assert s.x_train.shape[1] == expected[1]  # padded to the longest over train and test
    # the test split is the archive's TEST in its own order
    assert list(s.lengths_test) == [len(a) for a in raw(name, "test")[0]]
    assert sorted(np.concatenate([s.lengths_train, s.lengths_valid])) == sorted(
        len(a) for a in raw(name, "train")[0]
    )
    for x, ln in ((s.x_train, s.lengths_train), (s.x_valid, s.lengths_valid),
                  (s.x_test, s.lengths_test)):
        pad = np.arange(x.shape[1])[None, :] >= ln[:, None]
        assert (x[pad] == 0).all()
        assert (np.abs(x[~pad]).sum(axis=-1) > 0).mean() > 0.99  # real steps hold data


def _real(x, lengths):
    """All real (not padding) time steps stacked: (steps, channels)."""
    if lengths is None:
        return x.reshape(-1, x.shape[-1]).astype(np.float64)
    return x[np.arange(x.shape[1])[None, :] < lengths[:, None]].astype(np.float64)


def _rows(x, lengths):
    return [(x[i] if lengths is None else x[i, : lengths[i]]).astype(np.float64)
            for i in range(len(x))]


def _scaling(s, name):
    """(mean, std) per channel that the loader used, recovered from the test split: the
    archive's TEST in its own order, so raw and scaled steps pair up one to one."""
    raw_test = np.concatenate(raw(name, "test")[0])
    scaled = _real(s.x_test, s.lengths_test)
    fits = np.array([np.polyfit(raw_test[:, c], scaled[:, c], 1) for c in range(scaled.shape[1])])
    std = 1 / fits[:, 0]
    return -fits[:, 1] * std, std


def test_channels_standardized_on_the_training_part_only(loaded):
    name, s = loaded
    train = _real(s.x_train, s.lengths_train)
    assert np.allclose(train.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(train.std(axis=0), 1, atol=1e-4)
    # the statistics are those of the raw training part: not of valid, not of test
    mean, std = _scaling(s, name)
    raw_train = train * std + mean
    assert np.allclose(raw_train.mean(axis=0), mean, rtol=1e-4, atol=1e-4)
    assert np.allclose(raw_train.std(axis=0), std, rtol=1e-4)
    raw_all = np.concatenate(raw(name, "train")[0] + raw(name, "test")[0])
    assert not np.allclose(raw_all.mean(axis=0), mean, rtol=1e-4, atol=1e-4)


def test_no_test_series_in_train_or_valid(loaded):
    name, s = loaded
    mean, std = _scaling(s, name)
    series, labels = raw(name, "train")
    matched = []
    for x, y, ln in ((s.x_train, s.y_train, s.lengths_train),
                     (s.x_valid, s.y_valid, s.lengths_valid)):
        for row, c in zip(_rows(x, ln), y, strict=True):
            row = row * std + mean
            near = [i for i, a in enumerate(series)
                    if a.shape == row.shape and np.allclose(a, row, rtol=1e-4, atol=1e-4)]
            assert near, "a train/valid series is not in the archive's TRAIN split"
            matched.append(next(i for i in near if i not in matched))
            assert labels[matched[-1]] == s.classes[c]
    # train + valid is exactly the archive's TRAIN split, each series once
    assert sorted(matched) == list(range(len(series)))
    _, test_labels = raw(name, "test")
    assert [s.classes[c] for c in s.y_test] == list(test_labels)


def test_class_names_sorted_numerically():
    s = load(dataset="PickupGestureWiimoteZ")
    assert s.classes == [str(i) for i in range(1, 11)]
    assert load(dataset="BasicMotions").classes == ["badminton", "running", "standing",
                                                    "walking"]


def test_same_seed_same_split_other_seed_other_split():
    a, b, c = (load(seed=seed, dataset="BasicMotions") for seed in (3, 3, 4))
    for part in ("x_train", "y_train", "x_valid", "y_valid", "x_test", "y_test"):
        assert np.array_equal(getattr(a, part), getattr(b, part))
    assert not np.array_equal(a.x_valid, c.x_valid)
    # the archive's test split never moves (its scaling follows the training part)
    assert np.array_equal(a.y_test, c.y_test)


def test_valid_fraction():
    s = load(dataset="BasicMotions", valid=0.5)
    assert (len(s.x_train), len(s.x_valid)) == (20, 20)
    assert s.notes == "UEA/UCR archive split; validation = 50% of train (20 of 40 series, stratified)"


def test_bundled_sets_are_classification_sets_only():
    names = bundled_sets()
    assert {"JapaneseVowels", "BasicMotions", "PickupGestureWiimoteZ"} <= set(names)
    assert "Covid3Month" not in names and "Airline" not in names


LISTING = "bundled classification sets: " + ", ".join(bundled_sets())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, f"{WHERE} dataset: required for data source 'aeon', e.g. dataset = \"JapaneseVowels\"; {LISTING}"),
        ({"dataset": "JapaneseVowel"}, f"{WHERE} dataset: unknown set 'JapaneseVowel' (did you mean 'JapaneseVowels'?); {LISTING} (no others: there is no network to download them)"),
        ({"dataset": "ECG200"}, f"{WHERE} dataset: 'ECG200' is in the UCR/UEA archive but not bundled with aeon, and there is no network to download it; {LISTING}"),
        ({"dataset": "Covid3Month"}, f"{WHERE} dataset: 'Covid3Month' is a regression set, and data source 'aeon' loads classification sets; {LISTING}"),
        ({"dataset": 7}, f"{WHERE} dataset: must be a string, but got 7"),
        ({"dataset": "BasicMotions", "valid": 1.5}, f"{WHERE} valid: must be a fraction between 0 and 1, but got 1.5"),
        ({"dataset": "BasicMotions", "valid": 0.97}, f"{WHERE} valid: class 'badminton' of BasicMotions has only 10 training example(s), too few to keep one for training after carving out 0.97 for validation; lower [data] valid"),
        ({"dataset": "BasicMotions", "window": 3}, f"{WHERE} window: not used by data source 'aeon'; it takes: dataset, valid, normalize"),
    ],
)
def test_bad_options_give_one_line_messages(options, message):
    with pytest.raises(UserError) as e:
        load(**options)
    assert str(e.value) == message


def test_never_downloads(monkeypatch):
    import aeon.datasets._data_loaders as loaders

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(loaders, "_download_all_zenodo_files", no_network)
    assert len(load(dataset="BasicMotions").x_test) == 40
    with pytest.raises(UserError):
        load(dataset="ECG200")


def test_series_normalization_z_normalizes_each_series_over_its_own_steps():
    s = load_data("aeon", split=None, seed=0, where=WHERE, dataset="JapaneseVowels",
                  normalize="series")
    x, lengths = s.x_train[0], s.lengths_train[0]
    # after the per-series step the channels were standardized with train's statistics, which
    # keeps each series' shape: its own steps are a line of its z-normalized values
    from tuner.data.aeon_sets import per_series

    raw = load_data("aeon", split=None, seed=0, where=WHERE, dataset="JapaneseVowels")
    z = per_series(raw.x_train[:1], raw.lengths_train[:1])[0, :lengths]
    assert np.allclose(z.mean(axis=0), 0, atol=1e-5) and np.allclose(z.std(axis=0), 1, atol=1e-4)
    assert (x[lengths:] == 0).all()
    corr = [np.corrcoef(x[:lengths, c], z[:, c])[0, 1] for c in range(x.shape[1])]
    assert min(corr) > 0.999
    with pytest.raises(UserError) as e:
        load_data("aeon", split=None, seed=0, where=WHERE, dataset="GunPoint", normalize="z")
    assert str(e.value).startswith(f"{WHERE} normalize: must be one of channel, series, but got "
                                   f"'z'")
