"""Images as users have them: photo folders (one sub-folder per class, or train/ test/ splits),
arrays in (N, H, W), (N, H, W, C) or (N, C, H, W), decoded once into an 8-bit cache."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tuner.data import load_data
from tuner.data.files import from_arrays
from tuner.errors import UserError

SPLIT = (0.7, 0.15, 0.15)
WHERE = "exp.toml: [data]"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TUNER_CACHE", str(tmp_path / "cache"))


def load(path="photos", seed=0, **options):
    return load_data("file", split=SPLIT, seed=seed, where=WHERE, path=path, **options)


def message(path="photos", **options) -> str:
    with pytest.raises(UserError) as e:
        load(path, **options)
    return str(e.value)


def digits_tree(root, per_class=None):
    """scikit-learn's 8×8 digits as 0..255 grey PNGs, one folder per digit."""
    from sklearn.datasets import load_digits

    d = load_digits()
    for i, (img, t) in enumerate(zip(d.images, d.target, strict=True)):
        if per_class is not None and (d.target[:i] == t).sum() >= per_class:
            continue
        (root / str(t)).mkdir(parents=True, exist_ok=True)
        Image.fromarray((img * 16).clip(0, 255).astype(np.uint8)).save(root / str(t) / f"{i}.png")
    return d


def photos(root, n=12):
    """Colour crops of scikit-image's bundled astronaut and coffee photos, in several sizes,
    formats and modes: JPEG, PNG with alpha, palette GIF, WebP, grey BMP."""
    from skimage import data

    rng = np.random.default_rng(0)
    for name, img in (("astronaut", data.astronaut()), ("coffee", data.coffee())):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            h, w = rng.integers(40, 120), rng.integers(40, 120)
            top, left = rng.integers(0, img.shape[0] - h), rng.integers(0, img.shape[1] - w)
            im = Image.fromarray(img[top:top + h, left:left + w])
            kind = i % 5
            if kind == 0:
                im.save(root / name / f"{i}.jpg", quality=90)
            elif kind == 1:
                im.putalpha(200)
                im.save(root / name / f"{i}.png")
            elif kind == 2:
                im.convert("P").save(root / name / f"{i}.gif")
            elif kind == 3:
                im.save(root / name / f"{i}.webp")
            else:
                im.convert("L").save(root / name / f"{i}.bmp")


def test_a_folder_of_class_folders_is_decoded_once_into_an_8_bit_cache(tmp_path):
    d = digits_tree(tmp_path / "photos")
    (tmp_path / "photos" / "3" / ".DS_Store").write_bytes(b"\0\1")
    (tmp_path / "photos" / "README").write_text("digits\n")  # beside the classes: not a class
    (tmp_path / "photos" / "7" / "notes.txt").write_text("seven\n")
    s = load()
    assert s.task == "classification" and s.classes == [str(c) for c in range(10)]
    assert s.input_shape == (1, 8, 8) and s.x_train.dtype == np.uint8
    assert len(s.x_train) + len(s.x_valid) + len(s.x_test) == len(d.target)
    assert "1797 grey images in 10 class folders, 8×8 (every image has this size)" in s.notes
    assert "decoded once, cached in" in s.notes
    assert "2 file(s) that are not images skipped" in s.notes
    cached = list((tmp_path / "cache" / "images").glob("*.npy"))
    assert len(cached) == 1
    # the pixels are the digits' own (0..16 scaled by 16), each image with its label
    first = s.x_train[0, 0].astype(int)
    match = [i for i in range(len(d.images)) if np.array_equal((d.images[i] * 16).clip(0, 255),
                                                               first)]
    assert match and d.target[match[0]] == int(s.classes[s.y_train[0]])
    import PIL.Image

    opened = []
    real_open = PIL.Image.open
    PIL.Image.open = lambda *a, **k: opened.append(a) or real_open(*a, **k)
    try:
        again = load()  # a second run (a resumed search, every trial's data) reads the cache
    finally:
        PIL.Image.open = real_open
    assert opened == []  # not even a header: sizes and colour are cached with the pixels
    assert f"read from the cache {cached[0]}" in again.notes
    assert np.array_equal(again.x_train, s.x_train) and np.array_equal(again.y_test, s.y_test)
    scale, mean, std = s.pixels  # scaled to [0, 1], standardized with the training split's
    assert scale == pytest.approx(1 / 255)
    assert mean[0] == pytest.approx((s.x_train / 255).mean(), rel=1e-6)
    assert std[0] == pytest.approx((s.x_train / 255).std(), rel=1e-6)


def test_a_changed_file_is_decoded_again(tmp_path):
    digits_tree(tmp_path / "photos", per_class=8)
    load()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "photos" / "0" / "new.png")
    s = load()
    assert "decoded once" in s.notes and "81 grey images" in s.notes


def test_train_and_test_folders_are_used_as_given(tmp_path):
    root = tmp_path / "photos"
    digits_tree(root / "train", per_class=20)
    digits_tree(root / "test", per_class=4)
    s = load()
    assert len(s.x_test) == 40 and len(s.x_train) + len(s.x_valid) == 200
    # the split's valid share of train + valid (15 / 85) of each class, rounded: 4 of 20
    assert np.bincount(s.y_valid).tolist() == [4] * 10
    assert np.bincount(s.y_test).tolist() == [4] * 10
    assert "splits as given by the folders" in s.notes
    (root / "valid" / "cat").mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / "valid" / "cat" / "a.png")
    assert message() == (f"{WHERE} path: photos: class 'cat' has images outside train/ but none "
                         f"in it; add training images of it or remove the folder")


def test_photos_of_any_size_mode_and_format_become_one_colour_size(tmp_path):
    photos(tmp_path / "photos")
    # and a 16-bit grey scan (PNG mode I;16): brought to 8 bits over its full range
    scan = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)
    Image.fromarray(scan).save(tmp_path / "photos" / "coffee" / "scan.png")
    s = load()
    assert s.input_shape[0] == 3 and s.input_shape[1] == s.input_shape[2]
    assert 40 <= s.input_shape[1] <= 120
    assert "25 colour images in 2 class folders" in s.notes
    everything = np.concatenate([s.x_train, s.x_valid, s.x_test])
    grey = [a for a in everything if (a[0] == a[1]).all() and (a[1] == a[2]).all()
            and a.max() == 255 and a.min() == 0]
    assert grey  # the scan (and the grey BMPs) as three equal channels
    assert "sizes differ" in s.notes and "the median shorter side" in s.notes
    small = load(size=16)
    assert small.input_shape == (3, 16, 16) and "[data] size = 16" in small.notes
    assert load(size=[12, 20]).input_shape == (3, 12, 20)


def test_bad_folders_are_one_line_naming_the_folder_or_file(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    assert message() == (f"{WHERE} path: photos: photos has no class folders; put each class's "
                         f"images in a sub-folder named after the class, e.g. photos/cat/1.jpg")
    (root / "cat").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / "cat" / "1.png")
    assert message() == (f"{WHERE} path: photos: one class ('cat') only; a classifier needs two "
                         f"class folders or more, each holding that class's images")
    (root / "dog").mkdir()
    (root / "dog" / "notes.txt").write_text("no photos yet")
    assert message().startswith(f"{WHERE} path: photos: class folder photos/dog holds no images "
                                f"(.bmp, .gif, .jpeg, .jpg, .png")
    (root / "dog" / "2.jpg").write_bytes(b"this is not a JPEG")
    assert message().startswith(f"{WHERE} path: photos: photos/dog/2.jpg: Pillow cannot decode "
                                f"it (UnidentifiedImageError")
    assert message().endswith("remove the file or save it again as PNG or JPEG")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / "dog" / "2.jpg")
    assert message(size=2).startswith(f"{WHERE} size: must be a side in pixels (4-1024) or "
                                      f"[height, width], e.g. size = 64, but got 2")
    assert message(window=3) == (f"{WHERE} window: not used for a folder of images (it takes: "
                                 f"path, task, size); the class folders are the labels")
    assert message(task="regression") == (
        f"{WHERE} task: a folder of images is read as classes (one sub-folder each), but task = "
        f"'regression'; drop task")


# ---------------------------------------------------------------- arrays in their own layout


def arrays(x, **kw):
    y = np.arange(len(x)) % 3
    return from_arrays(x, y, at="x.npz", name="x.npz", task=None, split=SPLIT, seed=0, **kw)


def test_grey_colour_and_channels_first_arrays_become_nchw_images():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, size=(60, 12, 10), dtype=np.uint8)
    s = arrays(grey)
    assert s.input_shape == (1, 12, 10) and s.x_train.dtype == np.uint8
    assert "X read as images 1×12×10 (C×H×W) in layout NHW: 12×10 of 8-bit pixels" in s.notes
    colour = rng.integers(0, 256, size=(60, 16, 16, 3), dtype=np.uint8)
    s = arrays(colour)
    assert s.input_shape == (3, 16, 16) and "the last axis (3) holds the colour channels" in s.notes
    tr = np.flatnonzero(np.isin(colour.reshape(60, -1), s.x_train[0].transpose(1, 2, 0)
                                .reshape(1, -1)).all(axis=1))
    assert np.array_equal(np.moveaxis(colour[tr[0]], 2, 0), s.x_train[0])
    first = arrays(np.moveaxis(colour, 3, 1))
    assert first.input_shape == (3, 16, 16) and "channels first" in first.notes
    square = arrays(rng.normal(size=(60, 20, 20)).astype(np.float32))
    assert square.input_shape == (1, 20, 20) and "20×20, square: grey images" in square.notes
    # floats are standardized per channel now (a float32 copy anyway), on the training split
    assert square.x_train.dtype == np.float32 and square.pixels is None
    assert abs(float(square.x_train.mean())) < 1e-5 and float(square.x_train.std()) == \
        pytest.approx(1.0, rel=1e-4)


def test_a_series_stays_a_series_and_layout_overrides_the_rule():
    rng = np.random.default_rng(0)
    series = arrays(rng.normal(size=(60, 50, 3)))
    assert series.input_shape == (50, 3) and series.pixels is None
    assert "X read as series: 50×3: series of 50 steps × 3 channels" in series.notes
    assert "[data] layout = \"NHW\" reads grey images" in series.notes
    as_series = arrays(rng.normal(size=(60, 20, 20)), layout="NTC")
    assert as_series.input_shape == (20, 20) and as_series.pixels is None
    as_images = arrays(rng.normal(size=(60, 50, 3)), layout="NHW")
    assert as_images.input_shape == (1, 50, 3)


@pytest.mark.parametrize(("shape", "layout", "expected"), [
    ((6, 8, 8), "NHWC", "x.npz: layout 'NHWC' needs X shaped (N, H, W, C), but X has shape "
                        "(6, 8, 8); drop layout or name the one that fits"),
    ((6, 8, 8, 8), "NHWC", "x.npz: layout 'NHWC' reads 8 colour channels from X of shape "
                           "(6, 8, 8, 8); images have 1-4 channels, so X is likely NCHW"),
    ((6, 8, 8), "XYZ", "x.npz: layout 'XYZ' is not one of NHW, NHWC, NCHW, NTC"),
    ((6, 8, 8), "NWH", "x.npz: layout 'NWH' is not one of NHW, NHWC, NCHW, NTC (did you mean "
                       "'NHW'?)"),
])
def test_a_layout_that_does_not_fit_the_array_is_one_line(shape, layout, expected):
    with pytest.raises(UserError) as e:
        arrays(np.zeros(shape, np.uint8), layout=layout)
    assert str(e.value) == expected


def test_npz_layout_option_from_the_experiment_file(tmp_path):
    np.savez("x.npz", X=np.zeros((30, 9, 9), np.float32), y=np.arange(30) % 3)
    assert load("x.npz").input_shape == (1, 9, 9)
    assert load("x.npz", layout="NTC").input_shape == (9, 9)


def test_the_derived_size_keeps_an_epoch_short_for_large_sets():
    from tuner.data.images import derived_size

    many = [(300, 400), (240, 320)] * 1800  # 3 600 photos, like the flowers set
    (h, w), why = derived_size(many, 3, None, "x")
    assert h == w == 72  # sqrt(5000 × 64² / 3600) = 75, down to a multiple of 8
    assert "3600 images of at most 72×72 keep an epoch short on a CPU" in why
    few = [(300, 400), (240, 320)] * 50
    assert derived_size(few, 3, None, "x")[0] == (128, 128)  # the median shorter side, capped
    assert derived_size(many, 3, 160, "x") == ((160, 160), "[data] size = 160")
