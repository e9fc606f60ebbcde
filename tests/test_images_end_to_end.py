"""A folder of photos, as a user has it, through `tuner run` and `tuner train`: an experiment
file that names only the folder; augmentation searched, applied in training only, and the best
trial's kept by final training; a pretrained backbone from a weight file the test writes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from tuner.store import load_records


def digit_photos(root, per_class: int = 30, side: int = 16):
    """scikit-learn's digits, upscaled to `side` px, saved as grey PNGs in class folders."""
    from sklearn.datasets import load_digits

    d = load_digits()
    for c in range(10):
        (root / str(c)).mkdir(parents=True, exist_ok=True)
        for i in np.flatnonzero(d.target == c)[:per_class]:
            img = Image.fromarray((d.images[i] * 16).clip(0, 255).astype(np.uint8))
            img.resize((side, side), Image.Resampling.BILINEAR).save(root / str(c) / f"{i}.png")
    (root / ".DS_Store").write_bytes(b"\0")
    return root


@pytest.fixture
def photos(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return digit_photos(tmp_path / "photos")


def test_a_photo_folder_named_alone_is_tuned_and_trained_with_augmentation(
        photos, tmp_path, ray_session, tuner_cli):
    exp = tmp_path / "photos.toml"
    exp.write_text('name = "photos"\n[data]\npath = "photos"\n[search]\nsamples = 2\n'
                   'max_epochs = 2\nsearcher = "random"\nscheduler = "fifo"\n'
                   '[space]\naug_crop = "pad"\naug_rotate = 10\n')
    store = tmp_path / "store"
    code, out, err = tuner_cli("run", exp, "--storage", store, "--dry-run")
    assert code == 0, out + err
    assert "300 grey images in 10 class folders, 16×16 (every image has this size)" in out
    assert 'factory = "cnn": 250 labelled images of 16×16 px, grey' in out
    assert "aug_jitter = 0.0: grey images: no colour to jitter" in out
    code, out, err = tuner_cli("run", exp, "--storage", store)
    assert code == 0, out + err
    assert "read from the cache" in out  # decoded once, by the dry run
    records = load_records(store / "photos")
    assert len(records) == 2 and all(r.status == "completed" for r in records), out
    assert all(r.config["aug_crop"] == "pad" and r.config["aug_rotate"] == 10 for r in records)
    code, out, err = tuner_cli("train", exp, "--from", "photos", "--storage", store)
    assert code == 0, out + err
    final = store / "photos" / "final"
    metrics = json.loads((final / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.3  # 2 epochs on 210 images: well above chance
    assert 'aug_crop = "pad"' in (final / "config.toml").read_text()
    state = torch.load(final / "model.pt", weights_only=True)
    assert state["pixel_scale"].item() == pytest.approx(1 / 255)  # the input layer is saved


def test_a_pretrained_backbone_is_tuned_from_its_weight_file(photos, tmp_path, ray_session,
                                                             tuner_cli):
    from tuner.models.backbone import ARCHITECTURES
    from tuner.models.weights import FILES, checkpoints_dir

    # the session's hub folder, which Ray's workers share (tests/conftest.py); no weights yet
    weights = checkpoints_dir() / FILES["mobilenet_v2"]
    assert not weights.exists()
    exp = tmp_path / "transfer.toml"
    exp.write_text('name = "transfer"\n[data]\npath = "photos"\n[model]\nfactory = "backbone"\n'
                   '[space]\nbackbone = "mobilenet_v2"\nfreeze = 5\ninput_size = 32\n'
                   '[search]\nsamples = 1\nmax_epochs = 1\nsearcher = "random"\n'
                   'scheduler = "fifo"\n')
    store = tmp_path / "store"
    code, out, err = tuner_cli("run", exp, "--storage", store)
    assert code == 2 and "ray" not in out.lower()
    assert err.startswith(f"tuner: error: {exp}: [model] backbone 'mobilenet_v2': the ImageNet "
                          f"weights of mobilenet_v2 are not here and could not be downloaded")
    assert not (store / "transfer").exists()
    torch.manual_seed(0)
    weights.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ARCHITECTURES["mobilenet_v2"]().state_dict(), weights)
    try:
        code, out, err = tuner_cli("run", exp, "--storage", store)
    finally:
        weights.unlink()  # other tests' zero-edit choices see no weights
    assert code == 0, out + err
    (record,) = load_records(store / "transfer")
    assert record.status == "completed" and record.config["backbone"] == "mobilenet_v2", out


def test_planning_an_image_search_imports_no_torch(photos, tmp_path):
    """The driver stays torch-free (a second of start-up, and memory beside every trial's):
    reading a photo folder, choosing the family, checking a backbone's weight file."""
    import subprocess
    import sys

    from tuner.models.weights import FILES, checkpoints_dir

    weights = checkpoints_dir() / FILES["resnet18"]
    weights.parent.mkdir(parents=True, exist_ok=True)
    weights.write_bytes(b"checked for, never loaded by the driver")
    (tmp_path / "zero.toml").write_text('name = "zero"\n[data]\npath = "photos"\n')
    (tmp_path / "bb.toml").write_text('name = "bb"\n[data]\npath = "photos"\n[model]\n'
                                      'factory = "backbone"\n[space]\nbackbone = "resnet18"\n')
    code = ("import sys\nfrom tuner.experiment import load\nfrom tuner.plan import prepare\n"
            "for f in sys.argv[1:]:\n    prepare(load(f), None, overwrite=True)\n"
            "print(sorted(m for m in ('torch', 'torchvision') if m in sys.modules))\n")
    try:
        p = subprocess.run([sys.executable, "-c", code, "zero.toml", "bb.toml"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=120)
    finally:
        weights.unlink()
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"
