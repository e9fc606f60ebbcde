"""Image models: the input layer (8-bit pixels, standardization, augmentation in training
only), the residual CNN, the pretrained backbones and their weight files, the zero-edit choice
among them, and Apple's MPS device."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import threading

import pytest
import torch

from tuner.auto import Profile, choose_factory
from tuner.errors import UserError
from tuner.models import build_model
from tuner.models.backbone import ARCHITECTURES
from tuner.models.images import Augment, ImageInput, unwrapped_state, with_input_layer
from tuner.spaces import derive_hooks, load_space

ON = {"aug_crop": "pad", "aug_flip": True, "aug_rotate": 10, "aug_jitter": 0.2}
RESNET = {"width": 8, "stages": 3, "blocks": 1, "stem": "small", "activation": "relu",
          "dropout": 0.0}


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """A hub folder of our own: weight files the test writes, nothing downloaded."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("TUNER_WEIGHTS_URL", "http://127.0.0.1:9/none")  # refused at once
    return tmp_path / "torch" / "hub" / "checkpoints"


def fake_weights(name: str, seed: int = 0) -> dict:
    """A state_dict with torchvision's layout for `name` (random values: no download)."""
    torch.manual_seed(seed)
    return ARCHITECTURES[name]().state_dict()


def save_weights(folder, name: str) -> dict:
    from tuner.models.weights import FILES

    state = fake_weights(name)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(state, folder / FILES[name])
    return state


def test_the_input_layer_scales_standardizes_and_augments_in_training_only():
    seen = []
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 2))
    net.register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()))
    model = ImageInput(net, 3, (1 / 255, (0.5, 0.4, 0.3), (0.2, 0.2, 0.1)), ON)
    x = torch.randint(0, 256, (64, 3, 16, 16), dtype=torch.uint8)
    model.eval()
    model(x)
    expected = (x.float() / 255 - torch.tensor([0.5, 0.4, 0.3]).view(1, 3, 1, 1)) / torch.tensor(
        [0.2, 0.2, 0.1]).view(1, 3, 1, 1)
    assert torch.allclose(seen[-1], expected, atol=1e-5)  # no augmentation when evaluating
    model.train()
    torch.manual_seed(0)
    model(x)
    assert not torch.allclose(seen[-1], expected, atol=1e-3)
    assert {"pixel_scale", "pixel_mean", "pixel_std"} <= set(model.state_dict())
    assert set(unwrapped_state(model.state_dict())) == set(net.state_dict())


def test_each_augmentation_changes_training_batches_and_a_flip_only_mirrors():
    x = torch.rand(32, 3, 16, 16)
    for key, value in ON.items():
        aug = Augment({key: value}).train()
        torch.manual_seed(1)
        assert not torch.allclose(aug(x), x, atol=1e-4), key
        assert torch.equal(aug.eval()(x), x)
    torch.manual_seed(2)
    flipped = Augment({"aug_flip": True}).train()(x)
    for i in range(len(x)):  # each image is itself or its mirror image
        same = torch.allclose(flipped[i], x[i], atol=1e-5)
        mirror = torch.allclose(flipped[i], x[i].flip(-1), atol=1e-5)
        assert same or mirror
    grey = torch.rand(8, 1, 16, 16)
    assert torch.equal(Augment({"aug_jitter": 0.2}).train()(grey), grey)  # no colour to jitter


def test_no_input_layer_when_the_data_is_ready_and_nothing_augments():
    net = torch.nn.Linear(4, 2)
    assert with_input_layer(net, (1, 8, 8), None, {"aug_crop": "none"}) is net
    assert with_input_layer(net, (16,), (1.0, (0.0,), (1.0,)), ON) is net  # not images
    assert isinstance(with_input_layer(net, (1, 8, 8), None, ON), ImageInput)


@pytest.mark.parametrize(("shape", "stem", "stages"), [((1, 8, 8), "small", 2),
                                                      ((3, 32, 32), "small", 4),
                                                      ((3, 96, 80), "large", 3)])
def test_the_residual_cnn_builds_for_small_and_large_images(shape, stem, stages):
    model = build_model("resnet", {**RESNET, "stem": stem, "stages": stages}, shape, 5)
    out = model(torch.rand(2, *shape))
    assert out.shape == (2, 5)
    out.sum().backward()
    blocks = [m for m in model.modules() if type(m).__name__ == "Block"]
    assert len(blocks) == stages


def test_the_residual_spaces_derive_stem_and_stages_from_the_image_size():
    space = load_space("resnet")
    base = Profile("classification", "image", 3500, 750, 10, 300, 60, 0, 0, 1, False,
                   n_fit=3500, height=28, width=28)
    found = {k: (v, why) for hook in derive_hooks("resnet") for k, v, why in
             hook(base, space, "x")}
    assert found["stem"][0] == "small" and found["stages"][0] == {"choice": [2, 3]}
    assert found["aug_jitter"] == (0.0, "grey images: no colour to jitter")
    photo = dataclasses.replace(base, height=224, width=300, channels=3)
    found = {k: v for hook in derive_hooks("resnet") for k, v, _ in hook(photo, space, "x")}
    assert found["stem"] == "large" and "stages" not in found and "aug_jitter" not in found
    tiny = dataclasses.replace(base, height=8, width=8)
    found = {k: v for hook in derive_hooks("resnet") for k, v, _ in hook(tiny, space, "x")}
    assert {k: found[k] for k in ON} == {"aug_crop": "none", "aug_flip": False,
                                         "aug_rotate": 0, "aug_jitter": 0.0}


# ---------------------------------------------------------------- pretrained backbones


@pytest.mark.parametrize(("name", "params"), [("resnet18", 11_689_512),
                                              ("resnet50", 25_557_032),
                                              ("mobilenet_v2", 3_504_872)])
def test_backbones_have_torchvisions_published_sizes_and_layer_names(name, params):
    body = ARCHITECTURES[name]()
    assert sum(p.numel() for p in body.parameters()) == params  # as torchvision's model card
    keys = set(body.state_dict())
    first = {"resnet18": "layer1.0.conv1.weight", "resnet50": "layer4.2.bn3.running_var",
             "mobilenet_v2": "features.1.conv.0.0.weight"}[name]
    assert first in keys and ("fc.weight" in keys or "classifier.1.weight" in keys)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_a_backbone_loads_the_weight_file_freezes_its_first_stages_and_trains_the_rest(
        name, torch_home):
    state = save_weights(torch_home, name)
    config = {"backbone": name, "pretrained": True, "freeze": 2, "head": "mlp",
              "head_units": 16, "dropout": 0.1, "backbone_lr": 0.1, "input_size": 32,
              "lr": 1e-3}
    model = build_model("backbone", config, (1, 20, 20), 4)
    loaded = model.body.state_dict()
    key = next(k for k in loaded if k.endswith("weight") and loaded[k].ndim == 4)
    assert torch.equal(loaded[key], state[key])  # the file's weights, not a fresh init
    frozen = [p.requires_grad for stage in model._stages[:2] for p in stage.parameters()]
    trained = [p.requires_grad for stage in model._stages[2:] for p in stage.parameters()]
    assert frozen and not any(frozen) and all(trained)
    wrapped = with_input_layer(model, (1, 20, 20), (1 / 255, (0.3,), (0.2,)), {})
    assert wrapped.pixel_mean.flatten().tolist() == pytest.approx([(0.485 + 0.456 + 0.406) / 3])
    groups = wrapped.param_groups(config)
    assert [g.get("lr") for g in groups] == [None, pytest.approx(1e-4)]  # the head at lr
    wrapped.train()
    assert all(not m.training for m in model._stages[0].modules())  # frozen stats stay
    out = wrapped(torch.randint(0, 256, (2, 1, 20, 20), dtype=torch.uint8))
    assert out.shape == (2, 4)


def test_a_missing_weight_file_offline_is_one_line_naming_file_folder_and_the_fix(torch_home):
    from searchspaces.backbone import before_search

    space = load_space("backbone")
    with pytest.raises(UserError) as e:
        before_search(space, "photos.toml: [model]")
    text = str(e.value)
    assert text.startswith("photos.toml: [model] backbone 'resnet18': the ImageNet weights of "
                           "resnet18 are not here and could not be downloaded (")
    assert text.endswith(f"put resnet18-f37072fd.pth (from http://127.0.0.1:9/none/"
                         f"resnet18-f37072fd.pth) in {torch_home}, or set [model] pretrained = "
                         f"false to train it from scratch")
    scratch = space.override({"pretrained": False})
    before_search(scratch, "photos.toml: [model]")  # nothing to fetch
    with pytest.raises(UserError) as e:  # a name no backbone has: refused by the space
        scratch.override({"backbone": {"choice": ["resnet18", "resnet19"]}},
                         where="photos.toml: [space]")
    assert str(e.value) == ("photos.toml: [space] backbone: 'resnet19' is not one of the "
                            "options the model takes: 'resnet18', 'mobilenet_v2', 'resnet50'")
    from tuner.spaces import Choice, SearchSpace  # or by the check, for a space of your own

    own = SearchSpace({**scratch.entries, "backbone": Choice(["resnet18", "resnet19"])})
    with pytest.raises(UserError) as e:
        before_search(own, "photos.toml: [model]")
    assert str(e.value) == ("photos.toml: [space] backbone: unknown backbone 'resnet19' (did "
                            "you mean 'resnet18'?); choose from resnet18, resnet50, mobilenet_v2")


@pytest.fixture
def weights_server(tmp_path):
    """A local HTTP server (127.0.0.1) serving a folder, as a weights mirror."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_weights_are_downloaded_once_and_checked_against_their_hash(
        torch_home, weights_server, monkeypatch, tmp_path):
    from tuner.models import weights

    folder, url = weights_server
    monkeypatch.setenv("TUNER_WEIGHTS_URL", url)
    torch.save(fake_weights("mobilenet_v2"), tmp_path / "w.pth")
    digest = hashlib.sha256((tmp_path / "w.pth").read_bytes()).hexdigest()
    name = f"mobilenet_v2-{digest[:8]}.pth"  # a file named as torch.hub names them
    (folder / name).write_bytes((tmp_path / "w.pth").read_bytes())
    monkeypatch.setitem(weights.FILES, "mobilenet_v2", name)
    path = weights.ensure("mobilenet_v2", where="[model]")
    assert path == torch_home / name and path.read_bytes() == (tmp_path / "w.pth").read_bytes()
    # a mirror that serves another file under the published name is refused
    monkeypatch.setitem(weights.FILES, "resnet18", "resnet18-f37072fd.pth")
    (folder / "resnet18-f37072fd.pth").write_bytes((tmp_path / "w.pth").read_bytes())
    with pytest.raises(UserError) as e:
        weights.ensure("resnet18", where="[model]")
    assert "could not be downloaded (RuntimeError: invalid hash value" in str(e.value)
    assert not (torch_home / "resnet18-f37072fd.pth").exists()


# ---------------------------------------------------------------- the zero-edit choice


def image_profile(**changes) -> Profile:
    base = Profile("classification", "image", 3500, 750, 10, 300, 60, 0, 0, 1, False,
                   n_fit=3500, height=28, width=28)
    return dataclasses.replace(base, **changes)


def test_zero_edit_picks_cnn_resnet_or_a_backbone_from_size_channels_and_weights(torch_home):
    assert choose_factory(image_profile())[0] == "cnn"
    assert choose_factory(image_profile(height=32, width=32, channels=3))[0] == "cnn"  # CIFAR
    factory, why = choose_factory(image_profile(height=64, width=64, channels=3))
    assert factory == "resnet" and "residual blocks" in why
    assert choose_factory(image_profile(), pretrained=True)[0] == "backbone"
    save_weights(torch_home, "resnet18")
    factory, why = choose_factory(image_profile(height=64, width=64, channels=3))
    assert factory == "backbone" and "ImageNet weights are here (resnet18)" in why
    assert choose_factory(image_profile(height=64, width=64, channels=3),
                          pretrained=False)[0] == "resnet"
    assert choose_factory(image_profile())[0] == "cnn"  # grey digits: no ImageNet photos
    assert choose_factory(image_profile(height=32, width=32, channels=3))[0] == "backbone"


def test_the_backbone_space_upsamples_small_images_less_than_224():
    space = load_space("backbone")
    found = {k: v for hook in derive_hooks("backbone")
             for k, v, _ in hook(image_profile(), space, "x")}
    assert found["input_size"] == {"choice": [64, 128, 224]}
    big = image_profile(height=300, width=400, channels=3)
    assert "input_size" not in {k for hook in derive_hooks("backbone")
                                for k, _, _ in hook(big, space, "x")}


# ---------------------------------------------------------------- devices


def test_auto_and_mps_pick_apples_gpu_when_torch_reports_it(monkeypatch):
    from tuner.training import loop

    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert loop.pick_device(0.0, "auto").type == "mps"
    assert loop.pick_device(0.0, "mps").type == "mps"
    assert loop.pick_device(0.0, "cpu").type == "cpu"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert loop.pick_device(0.0, "auto").type == "cpu"


def test_device_mps_without_an_apple_gpu_is_one_line(tmp_path, monkeypatch):
    from tuner.driver import check_local_device
    from tuner.experiment import load

    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    path = tmp_path / "e.toml"
    path.write_text('[data]\nsource = "digits"\n[resources]\ndevice = "mps"\n')
    spec = load(path)
    with pytest.raises(UserError) as e:
        check_local_device(spec)
    assert str(e.value) == (f'{path}: [resources] device = "mps", but torch sees no Apple GPU '
                            f'(MPS) on this machine; use device = "auto" to fall back to the CPU')


# ---------------------------------------------------------------- CUDA (skipped without a GPU)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("factory", ["cnn", "resnet"])
def test_on_cuda_8_bit_images_augment_and_train_on_the_gpu(factory):
    from tuner.spaces import load_space as space_of

    config = {**space_of(factory).sample(__import__("random").Random(0)), **ON}
    if factory == "resnet":
        config.update(RESNET)
    model = with_input_layer(build_model(factory, config, (3, 32, 32), 10), (3, 32, 32),
                             (1 / 255, (0.5,) * 3, (0.25,) * 3), config).cuda().train()
    x = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8, device="cuda")
    out = model(x)
    assert out.device.type == "cuda" and torch.isfinite(out).all()
    out.sum().backward()
    model.eval()
    cpu = model.cpu()(x.cpu())  # the same weights on the CPU agree when nothing augments
    assert torch.allclose(model.cuda()(x).cpu(), cpu, atol=1e-3)


def test_model_pretrained_false_trains_from_scratch_with_no_weight_file(tmp_path, torch_home):
    from searchspaces.backbone import before_search
    from tuner.experiment import load

    path = tmp_path / "e.toml"
    path.write_text('[data]\npath = "photos"\n[model]\nfactory = "backbone"\npretrained = false\n')
    space = load(path).space()
    assert space.priors["pretrained"].describe() == "fixed(False)"
    before_search(space, f"{path}: [model]")  # no weights needed, none fetched
    assert not torch_home.exists()
