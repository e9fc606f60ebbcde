"""Transfer learning: the finetune factory, its [model] weights option, the digits `classes`.

A source CNN is trained in-process on the digits 0-4 with tuner's own final training (the files
`tuner train` writes), then fine-tuned on the digits 5-9.

    .venv/bin/python -m pytest tests/test_finetune.py -q
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tuner.data import load_data
from tuner.errors import UserError
from tuner.experiment import load

SPLIT = (0.70, 0.15, 0.15)
SOURCE_CONFIG = {
    "conv_blocks": 2, "filters_1": 16, "filters_2": 32, "kernel_size": 3, "batch_norm": True,
    "dense_units": 32, "activation": "relu", "dropout": 0.1, "optimizer": "adam", "lr": 3e-3,
    "weight_decay": 1e-5, "batch_size": 64, "lr_schedule": "none",
}
SOURCE_TOML = """
name = "src04"
[data]
source = "digits"
classes = [0, 1, 2, 3, 4]
[model]
factory = "cnn"
[search]
metric = "accuracy"
"""
TARGET_TOML = """
name = "tgt59"
[data]
source = "digits"
classes = [5, 6, 7, 8, 9]
[model]
factory = "finetune"
weights = "{weights}"
[search]
metric = "accuracy"
samples = 2
max_epochs = 2
grace_period = 1
searcher = "random"
{extra}
"""


@pytest.fixture(autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """results/src04/final as `tuner train` writes it: 3 epochs on the digits 0-4."""
    import io

    from tuner.final import train_final

    root = tmp_path_factory.mktemp("source")
    (root / "src04.toml").write_text(SOURCE_TOML)
    spec = load(root / "src04.toml")
    folder = root / "results" / "src04" / "final"
    torch.set_num_threads(1)
    out = io.StringIO()
    assert not train_final(spec, dict(SOURCE_CONFIG), 3, where="test", out_dir=str(folder),
                           out=out).diverged, out.getvalue()
    return folder


def target(tmp_path: Path, weights, extra: str = "") -> Path:
    p = tmp_path / "tgt59.toml"
    p.write_text(TARGET_TOML.format(weights=weights, extra=extra))
    return p


def config(source: Path, **kw) -> dict:
    base = {"weights": str(source), "freeze_blocks": 1, "head": "replace", "dropout": 0.0,
            "optimizer": "adamw", "lr": 1e-2, "weight_decay": 1e-2, "batch_size": 32,
            "lr_schedule": "none"}
    return {**base, **kw}


def build(source: Path, n_outputs: int = 5, **kw):
    from tuner.models import build_model

    torch.manual_seed(0)
    return build_model("finetune", config(source, **kw), (1, 8, 8), n_outputs)


def steps(model, optimizer, n: int = 5, n_outputs: int = 5) -> None:
    g = torch.Generator().manual_seed(1)
    model.train()
    for _ in range(n):
        x = torch.rand(32, 1, 8, 8, generator=g) * 3  # off the source's statistics on purpose
        y = torch.randint(0, n_outputs, (32,), generator=g)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()


def snapshot(module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


# -- the model ------------------------------------------------------------------------------------


def test_a_source_trained_with_seeds_fine_tunes_its_first_seeds_net(tmp_path):
    # its model.pt is the ensemble of the seeds: a net to cut into blocks is one seed's
    import io

    from tuner.final import train_final

    (tmp_path / "src04.toml").write_text(SOURCE_TOML)
    folder = tmp_path / "final"
    out = io.StringIO()
    final = train_final(load(tmp_path / "src04.toml"), dict(SOURCE_CONFIG), 1, where="test",
                        out_dir=str(folder), out=out, seeds=2, reference=False)
    assert type(final.model).__name__ == "Ensemble", out.getvalue()
    first = torch.load(folder / "seed_1" / "model.pt", weights_only=True)
    model = build(folder, freeze_blocks=0)
    torch.testing.assert_close(model.blocks[0][0].weight, first["features.0.weight"])


def test_the_source_weights_are_loaded_into_the_blocks_and_the_head(source):
    state = torch.load(source / "model.pt", weights_only=True)
    model = build(source, freeze_blocks=0)
    assert len(model.blocks) == 2  # a block: conv, batch norm, activation, pool
    assert [type(m).__name__ for m in model.blocks[0]] == ["Conv2d", "BatchNorm2d", "ReLU",
                                                            "MaxPool2d"]
    torch.testing.assert_close(model.blocks[0][0].weight, state["features.0.weight"])
    torch.testing.assert_close(model.blocks[1][1].running_var, state["features.5.running_var"])
    torch.testing.assert_close(model.head[2].weight, state["head.2.weight"])  # pretrained dense


def test_frozen_blocks_do_not_change_and_are_not_in_the_optimizer(source):
    from tuner.training.loop import make_optimizer

    model = build(source, freeze_blocks=1)
    frozen, free = model.blocks[0], model.blocks[1]
    assert not any(p.requires_grad for p in frozen.parameters())
    assert all(p.requires_grad for p in free.parameters())
    optimizer = make_optimizer(model, config(source))  # AdamW, weight decay 1e-2
    in_optimizer = {id(p) for g in optimizer.param_groups for p in g["params"]}
    assert not in_optimizer & {id(p) for p in frozen.parameters()}
    assert in_optimizer == {id(p) for p in model.parameters() if p.requires_grad}
    before_frozen, before_free = snapshot(frozen), snapshot(free)
    steps(model, optimizer)
    for k, v in snapshot(frozen).items():  # weights and batch-norm statistics, all of them
        torch.testing.assert_close(v, before_frozen[k], rtol=0, atol=0, msg=k)
    changed = [k for k, v in snapshot(free).items() if not torch.equal(v, before_free[k])]
    assert "0.weight" in changed and "1.running_mean" in changed  # the free block trains


def test_frozen_batch_norm_stays_in_eval_mode(source):
    model = build(source, freeze_blocks=1)
    model.train()
    assert model.training and model.blocks[1].training and model.head.training
    assert not model.blocks[0].training and not model.blocks[0][1].training
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train(True)
    assert not model.blocks[0][1].training and model.blocks[1][1].training


def test_every_block_frozen_leaves_only_the_head_to_train(source):
    from tuner.training.loop import make_optimizer

    model = build(source, freeze_blocks=2)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("head.") for n in trainable)
    before = snapshot(model.blocks)
    steps(model, make_optimizer(model, config(source, freeze_blocks=2)))
    after = snapshot(model.blocks)
    assert all(torch.equal(after[k], before[k]) for k in before)


@pytest.mark.parametrize("n_outputs", [2, 5, 7])
def test_the_head_is_replaced_or_extended_for_the_targets_classes(source, n_outputs):
    replaced = build(source, n_outputs, head="replace")
    assert replaced.head[-1].out_features == n_outputs
    assert replaced.head[-1].in_features == SOURCE_CONFIG["dense_units"]
    assert replaced(torch.rand(4, 1, 8, 8)).shape == (4, n_outputs)
    extended = build(source, n_outputs, head="extend", extra_units=64, dropout=0.3)
    linears = [m for m in extended.head if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears[1:]] == [(32, 64), (64, n_outputs)]
    assert all(m.p == 0.3 for m in extended.head if isinstance(m, torch.nn.Dropout))
    assert extended(torch.rand(4, 1, 8, 8)).shape == (4, n_outputs)


@pytest.mark.parametrize("seed", range(8))
def test_sampled_configs_of_the_fitted_space_build_run_and_backpropagate(source, tmp_path,
                                                                         seed):
    from tuner.models import build_model

    space = load(target(tmp_path, source)).space()
    cfg = space.sample(random.Random(seed))
    model = build_model("finetune", cfg, (1, 8, 8), 5)
    out = model(torch.rand(6, 1, 8, 8))
    assert out.shape == (6, 5) and torch.isfinite(out).all()
    out.square().mean().backward()
    frozen = {id(p) for b in model.blocks[: cfg["freeze_blocks"]] for p in b.parameters()}
    for p in model.parameters():
        assert (p.grad is None) == (id(p) in frozen), cfg


# -- the weights folder: one line naming the file, the key and the fix --------------------------


def one_line(e) -> str:
    text = str(e.value)
    assert "\n" not in text
    return text


def test_a_missing_folder_names_the_train_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "src04.toml").write_text(SOURCE_TOML)
    with pytest.raises(UserError) as e:
        load(target(tmp_path, "results/src04/final"))
    assert one_line(e) == (
        f"{tmp_path}/tgt59.toml: [model] weights: results/src04/final: no such folder (paths "
        f"resolve from the current directory, {tmp_path}); run `tuner train "
        f"experiments/src04.toml --from src04` first"
    )


@pytest.mark.parametrize("missing", ["model.pt", "config.toml"])
def test_a_folder_without_model_or_config_names_the_file(source, tmp_path, missing):
    folder = tmp_path / "other" / "final"
    shutil.copytree(source, folder)
    (folder / missing).unlink()
    with pytest.raises(UserError) as e:
        load(target(tmp_path, folder))
    line = one_line(e)
    assert line.startswith(f"{tmp_path}/tgt59.toml: [model] weights: {folder / missing}: not "
                           f"found")
    assert line.endswith("run `tuner train EXPERIMENT.toml --from other` first")


def test_weights_that_do_not_match_their_config_name_both_and_the_fix(source, tmp_path):
    from tuner.models import build_model

    folder = tmp_path / "mixed" / "final"
    shutil.copytree(source, folder)
    text = (folder / "config.toml").read_text().replace("filters_2 = 32", "filters_2 = 48")
    (folder / "config.toml").write_text(text)
    load(target(tmp_path, folder))  # what can be checked without torch holds
    with pytest.raises(UserError) as e:
        build_model("finetune", config(folder), (1, 8, 8), 5)
    assert one_line(e) == (
        f"[model] weights: {folder}/model.pt does not match the model config.toml describes "
        f"(features.4.weight is 32×16×3×3, not 48×16×3×3, and 6 more); both must come from one "
        f"`tuner train`: run `tuner train EXPERIMENT.toml --from mixed` again"
    )


def test_an_unsafe_or_broken_model_file_is_refused(source, tmp_path):
    from tuner.models import build_model

    folder = tmp_path / "odd" / "final"
    shutil.copytree(source, folder)
    torch.save({"net": object()}, folder / "model.pt")  # a pickle weights_only refuses
    with pytest.raises(UserError) as e:
        build_model("finetune", config(folder), (1, 8, 8), 5)
    assert "model.pt: not a state_dict torch loads with weights_only=True" in one_line(e)
    (folder / "model.pt").write_bytes(b"garbage")
    with pytest.raises(UserError, match="not a state_dict torch loads"):
        build_model("finetune", config(folder), (1, 8, 8), 5)


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace('factory = "cnn"', 'factory = "rnn"'),
     "the source model was built by factory 'rnn', but finetune takes models of the cnn factory"),
    (lambda t: t.replace("input_shape", "shape"),
     "lacks the factory, config, input_shape or classes `tuner train` writes"),
    (lambda t: t + "[[[", "is not the TOML `tuner train` writes"),
    (lambda t: t.replace("conv_blocks = 2", "conv_blocks = 0"),
     "config.conv_blocks must be a positive integer, but got 0"),
])
def test_a_config_toml_that_is_not_a_cnn_source_is_refused(source, tmp_path, edit, message):
    folder = tmp_path / "cfg" / "final"
    shutil.copytree(source, folder)
    (folder / "config.toml").write_text(edit((folder / "config.toml").read_text()))
    with pytest.raises(UserError) as e:
        load(target(tmp_path, folder))
    assert one_line(e).startswith(f"{tmp_path}/tgt59.toml: [model] weights: "
                                  f"{folder}/config.toml: ")
    assert message in str(e.value)


def test_data_shaped_unlike_the_source_is_refused_before_ray(source):
    from tuner.models.source import check_data

    check_data(str(source), (1, 8, 8), where="x.toml: [model] weights")
    with pytest.raises(UserError) as e:
        check_data(str(source), (1, 16, 16), where="x.toml: [model] weights")
    assert one_line(e) == (
        f"x.toml: [model] weights: the source model in {source} takes inputs shaped 1×8×8, but "
        f"[data] gives 1×16×16; fine-tune it on data shaped like its own"
    )


# -- the experiment file --------------------------------------------------------------------------


def test_the_weights_path_resolves_from_the_current_directory_into_every_config(
        source, tmp_path, monkeypatch):
    monkeypatch.chdir(source.parents[2])
    spec = load(target(tmp_path, "results/src04/final"))
    assert spec.model_options == {"weights": str(source.resolve())}
    space = spec.space()
    assert space.priors["weights"].value == str(source.resolve())  # fixed: no searcher tunes it
    assert space.priors["freeze_blocks"].describe() == "int(0..2)"  # the source's conv blocks
    assert space.sample(random.Random(0))["weights"] == str(source.resolve())
    assert spec.to_dict()["model"] == {"factory": "finetune", "weights": str(source.resolve())}


@pytest.mark.parametrize("text, message", [
    ('[model]\nfactory = "finetune"\n',
     '[model] weights: required with factory = "finetune": the folder `tuner train` wrote for '
     'the source model, e.g. weights = "results/digits04_cnn/final"'),
    ('[model]\nfactory = "cnn"\nweights = "x"\n',
     "[model] weights: only read by the finetune factory, but [model] factory = 'cnn'; remove "
     'weights, or set factory = "finetune" to fine-tune the model in that folder'),
    ('[model]\nfactory = "finetune"\nweights = 3\n',
     "[model] weights: must be the path of the folder `tuner train` wrote, e.g. weights = "
     '"results/digits04_cnn/final", but got 3'),
])
def test_model_weights_errors(tmp_path, text, message):
    (tmp_path / "e.toml").write_text(text)
    with pytest.raises(UserError) as e:
        load(tmp_path / "e.toml")
    assert one_line(e) == f"{tmp_path}/e.toml: {message}"


def test_freeze_blocks_set_in_the_file_must_fit_the_source(source, tmp_path):
    spec = load(target(tmp_path, source, "[space]\nfreeze_blocks = { int = [1, 2] }"))
    assert spec.space().priors["freeze_blocks"].describe() == "int(1..2)"
    with pytest.raises(UserError) as e:
        load(target(tmp_path, source, "[space]\nfreeze_blocks = 3"))
    assert one_line(e) == (
        f"{tmp_path}/tgt59.toml: [space] freeze_blocks: the source model in {source} has 2 conv "
        f"block(s), so at most 2, but got up to 3"
    )


def test_the_shipped_experiments_are_valid(source, tmp_path, monkeypatch):
    root = Path(__file__).resolve().parents[1]
    src = load(root / "experiments" / "digits04_cnn.toml")
    assert src.data.options == {"classes": [0, 1, 2, 3, 4]}
    # the finetune experiment's weights resolve from the current directory: give it one
    (tmp_path / "results" / "digits04_cnn").mkdir(parents=True)
    shutil.copytree(source, tmp_path / "results" / "digits04_cnn" / "final")
    monkeypatch.chdir(tmp_path)
    spec = load(root / "experiments" / "digits59_finetune.toml")
    assert spec.factory == "finetune" and spec.space_module == "finetune"
    assert spec.model_options["weights"] == str(tmp_path / "results/digits04_cnn/final")


# -- digits classes -------------------------------------------------------------------------------


def test_digits_classes_keeps_those_digits_remapped_and_stratified():
    full = load_data("digits", split=SPLIT, seed=0)
    d = load_data("digits", split=SPLIT, seed=0, classes=[5, 6, 7, 8, 9])
    assert d.classes == ["5", "6", "7", "8", "9"] and d.n_outputs == 5
    for part in ("train", "valid", "test"):
        _, y, _ = d.part(part)
        assert sorted(set(y.tolist())) == [0, 1, 2, 3, 4]
    n = len(d.y_train) + len(d.y_valid) + len(d.y_test)
    assert n == sum(int((full.part(p)[1] >= 5).sum()) for p in ("train", "valid", "test"))
    assert abs(len(d.y_train) / n - 0.70) < 0.01 and abs(len(d.y_test) / n - 0.15) < 0.01
    # an image of label 0 is a 5: the mean image of each label matches the full set's digit
    allx = np.concatenate([full.x_train, full.x_valid, full.x_test])
    ally = np.concatenate([full.y_train, full.y_valid, full.y_test])
    for label, digit in enumerate([5, 6, 7, 8, 9]):
        np.testing.assert_allclose(
            np.concatenate([d.x_train, d.x_valid, d.x_test])[
                np.concatenate([d.y_train, d.y_valid, d.y_test]) == label].mean(0),
            allx[ally == digit].mean(0), rtol=1e-5)
    order = load_data("digits", split=SPLIT, seed=0, classes=[9, 3])
    assert order.classes == ["9", "3"]


@pytest.mark.parametrize("value, problem", [
    ([3], "but got [3]: a classifier needs two classes or more"),
    ([], "but got []: a classifier needs two classes or more"),
    ([1, 2, 2], "but 2 is listed twice"),
    ([0, 10], "but got 10, which is not a digit"),
    ([-1, 2], "but got -1, which is not a digit"),
    ([1, 2.0], "but got [1, 2.0]"),
    ([True, 2], "but got [True, 2]"),
    ("0-4", "but got '0-4'"),
    (5, "but got 5"),
])
def test_digits_classes_errors(value, problem):
    with pytest.raises(UserError) as e:
        load_data("digits", split=SPLIT, seed=0, where="e.toml: [data]", classes=value)
    assert one_line(e) == ("e.toml: [data] classes: must be a list of at least 2 different "
                           f"digits 0-9, e.g. classes = [0, 1, 2, 3, 4], {problem}")


# -- end to end -----------------------------------------------------------------------------------


def test_a_few_fine_tuning_epochs_on_the_target_task(source, tmp_path):
    """The source (digits 0-4) fine-tuned on digits 5-9 with tuner's training code: the head
    learns the new classes from the frozen features within a few epochs."""
    from tuner.data import load_spec_data
    from tuner.training.build import build_training
    from tuner.training.loop import predict, train_epoch
    from tuner.training.tasks import evaluate

    spec = load(target(tmp_path, source))
    data = load_spec_data(spec)
    cfg = spec.space().check(config(source, freeze_blocks=2, lr=3e-3, weight_decay=1e-4),
                             where="test")
    tensors = tuple(None if a is None else torch.as_tensor(a) for a in data.part("train"))
    parts = build_training("finetune", cfg, data, tensors, epochs=4, seed=0,
                           device=torch.device("cpu"))
    before = snapshot(parts.model.blocks)
    x, y, _ = (None if a is None else torch.as_tensor(a) for a in data.part("valid"))
    start = evaluate(predict(parts.model, x), y, data)["accuracy"]
    for _ in range(4):
        train_epoch(parts.model, parts.batches, parts.optimizer, parts.loss_fn)
    after = evaluate(predict(parts.model, x), y, data)["accuracy"]
    assert start < 0.5 < 0.9 < after
    assert all(torch.equal(v, before[k]) for k, v in snapshot(parts.model.blocks).items())


def test_tuner_run_train_status_of_a_finetune_experiment(source, tmp_path, ray_session,
                                                         tuner_cli):
    import json

    from tuner.store import load_records

    exp = target(tmp_path, source, "[space]\nlr = 3e-3\noptimizer = \"adam\"")
    store = tmp_path / "store"
    code, out, err = tuner_cli("run", exp, "--storage", store)
    assert code == 0, out + err
    records = load_records(store / "tgt59")
    assert len(records) == 2 and all(r.status != "errored" for r in records), out
    assert all(r.config["weights"] == str(source) for r in records)
    assert all(0 <= r.config["freeze_blocks"] <= 2 for r in records)
    code, out, err = tuner_cli("train", exp, "--from", "tgt59", "--storage", store)
    assert code == 0, out + err
    final = store / "tgt59" / "final"
    assert json.loads((final / "metrics.json").read_text())["test_accuracy"] > 0.5
    assert 'factory = "finetune"' in (final / "config.toml").read_text()
    # status and best read a saved experiment without its source
    moved = tmp_path / "moved"
    shutil.move(source.parent.parent, moved)
    try:
        assert tuner_cli("status", "tgt59", "--storage", store)[0] == 0
        assert tuner_cli("best", "tgt59", "--storage", store)[0] == 0
        code, out, err = tuner_cli("train", exp, "--from", "tgt59", "--storage", store)
        assert code == 2 and "[model] weights" in err and "no such folder" in err
    finally:
        shutil.move(moved, source.parent.parent)


def test_a_folder_whose_config_names_seeds_it_lacks_is_one_line(source, tmp_path):
    from tuner.models.source import read_source

    folder = tmp_path / "final"
    shutil.copytree(source, folder)
    cfg = folder / "config.toml"
    cfg.write_text(cfg.read_text().replace("seeds = 1", "seeds = 3"))
    with pytest.raises(UserError) as e:
        read_source(str(folder))
    assert str(e.value) == (
        f"[model] weights: {folder / 'seed_1' / 'model.pt'}: not found; {cfg} says 3 seeds were "
        f"trained, and `tuner train` writes each one's model in seed_<i>/: run `tuner train "
        f"EXPERIMENT.toml --from {tmp_path.name}` again")
