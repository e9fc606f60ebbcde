"""Your own model factory and search space: named as importable modules, never as code.

`[model] factory = "pkg.models:build"` and `[space] module = "pkg.spaces"` load a module Python can
import (installed or on PYTHONPATH); every problem with it is one line and exit 2 before Ray.

    .venv/bin/python -m pytest tests/test_user_modules.py -q
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tuner.cli import main

REPO = Path(__file__).resolve().parents[1]
PKG = "tuner_user_pkg"  # the package each test writes to its own tmp_path

MODELS = '''
import math

from torch import nn

NOT_A_FUNCTION = 3


def build(config, input_shape, n_outputs):
    width = math.prod(input_shape)
    return nn.Sequential(nn.Flatten(), nn.Linear(width, config["units"]), nn.ReLU(),
                         nn.Linear(config["units"], n_outputs))


def wrong(config):
    return None
'''

SPACES = '''
from searchspaces import common
from tuner.spaces import IntRange, SearchSpace


def space():
    return SearchSpace({"units": IntRange(16, 64, step=16), **common.training()},
                       description="a tiny MLP of my own")
'''

BROKEN = {  # module name -> source: spaces that are wrong in every way a module can be
    "no_space": "X = 1\n",
    "raises": "def space():\n    raise RuntimeError('no data dir')\n",
    "returns_dict": "def space():\n    return {'lr': 0.1}\n",
    "bad_prior": (
        "from tuner.spaces import SearchSpace, Uniform\n"
        "def space():\n    return SearchSpace({'lr': Uniform(1, 0)})\n"
    ),
    "syntax": "def space(:\n",
    "import_fails": "import no_such_dependency_zq\n",
}


@pytest.fixture
def pkg(tmp_path, monkeypatch):
    """A package on sys.path (as PYTHONPATH would put it), removed again afterwards."""
    root = tmp_path / "code"
    (root / PKG).mkdir(parents=True)
    (root / PKG / "__init__.py").write_text("")
    (root / PKG / "models.py").write_text(MODELS)
    (root / PKG / "spaces.py").write_text(SPACES)
    for name, text in BROKEN.items():
        (root / PKG / f"{name}.py").write_text(text)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delenv("TUNER_STORAGE", raising=False)
    monkeypatch.chdir(tmp_path)
    yield root
    for name in [m for m in sys.modules if m == PKG or m.startswith(PKG + ".")]:
        del sys.modules[name]


def experiment(tmp_path: Path, factory: str | None = f"{PKG}.models:build",
               module: str | None = f"{PKG}.spaces") -> Path:
    path = tmp_path / "mine.toml"
    lines = ['name = "mine"', "[data]", 'source = "digits"', "[model]"]
    lines += [f'factory = "{factory}"'] if factory else []
    lines += ["[space]"] + ([f'module = "{module}"'] if module else [])
    lines += ["[search]", 'metric = "accuracy"', "samples = 4", "max_epochs = 2"]
    path.write_text("\n".join(lines) + "\n")
    return path


def one_error(capsys, argv: list[str]) -> str:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and err.startswith("tuner: error: "), err
    return err[len("tuner: error: "):].rstrip("\n")


def test_dry_run_with_my_factory_and_space(capsys, pkg, tmp_path):
    path = experiment(tmp_path)
    store = tmp_path / "results"
    assert main(["run", str(path), "--dry-run", "--storage", str(store)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert f"\nspace {PKG}.spaces: a tiny MLP of my own\n" in out
    assert "  units          int(16..64, step=16)\n" in out
    assert "  data   digits: 1258 train / 269 valid / 270 test, input 1×8×8, 10 classes" in out
    assert out.splitlines()[-1] == "dry run: valid; nothing started"
    assert not store.exists()


def test_space_command_shows_my_space(capsys, pkg, tmp_path):
    assert main(["space", f"{PKG}.spaces"]) == 0
    assert capsys.readouterr().out.startswith(f"space {PKG}.spaces: a tiny MLP of my own\n")
    assert main(["space", str(experiment(tmp_path))]) == 0
    assert f"space {PKG}.spaces (+ overrides from " in capsys.readouterr().out


def test_my_factory_builds_the_model_a_trial_trains(pkg):
    import torch

    from tuner.models import build_model, check_compatible

    check_compatible(f"{PKG}.models:build", (1, 8, 8), False, where="[model] factory")
    model = build_model(f"{PKG}.models:build", {"units": 16}, (1, 8, 8), 10)
    assert model(torch.zeros(5, 1, 8, 8)).shape == (5, 10)


def test_final_training_with_my_factory(capsys, pkg, tmp_path):
    path = experiment(tmp_path)
    best = tmp_path / "best.toml"
    best.write_text(
        "best_epoch = 1\n[config]\nunits = 32\noptimizer = 'adam'\nlr = 0.003\n"
        "weight_decay = 1e-5\nbatch_size = 64\nlr_schedule = 'none'\n"
    )
    store = tmp_path / "results"
    assert main(["train", str(path), "--config", str(best), "--storage", str(store)]) == 0
    out = capsys.readouterr().out
    assert "test   " in out and "accuracy" in out
    assert (store / "mine" / "final" / "model.pt").is_file()


def _run_tuner(args: list[str], cwd: Path, pythonpath: Path | None):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TUNER_STORAGE")}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (REPO, pythonpath) if p)
    return subprocess.run([sys.executable, "-m", "tuner", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_pythonpath_makes_a_module_importable_and_nothing_else_does(pkg, tmp_path):
    """A new process (a Ray worker is one) finds the module through PYTHONPATH only: not
    through the experiment file's folder."""
    beside = pkg / "mine.toml"  # the experiment next to the package
    beside.write_text(experiment(tmp_path).read_text())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    ok = _run_tuner(["run", str(beside), "--dry-run", "--storage", "out"], elsewhere, pkg)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[-1] == "dry run: valid; nothing started"
    missing = _run_tuner(["run", str(beside), "--dry-run", "--storage", "out"], elsewhere, None)
    assert missing.returncode == 2
    assert missing.stderr == (
        f"tuner: error: {beside}: [model] factory: cannot import '{PKG}.models': no module named "
        f"'{PKG}'; install it or put its folder on PYTHONPATH (the experiment file's folder is "
        f"not searched)\n"
    )
    assert not (elsewhere / "out").exists()


@pytest.mark.parametrize(
    "factory, message",
    [
        (
            "no_such_pkg_zq.models:build",
            "cannot import 'no_such_pkg_zq.models': no module named 'no_such_pkg_zq'; install it "
            "or put its folder on PYTHONPATH (the experiment file's folder is not searched)",
        ),
        (
            f"{PKG}.models:biuld",
            f"module '{PKG}.models' has no 'biuld' (did you mean 'build'?); define "
            f"biuld(config, input_shape, n_outputs) -> nn.Module in it",
        ),
        (
            f"{PKG}.models:NOT_A_FUNCTION",
            f"{PKG}.models:NOT_A_FUNCTION is not a function (its type is int); name a function "
            f"build(config, input_shape, n_outputs) -> nn.Module",
        ),
        (
            f"{PKG}.models:wrong",
            f"{PKG}.models:wrong must take (config, input_shape, n_outputs) like the built-in "
            f"factories, but its signature is wrong(config)",
        ),
        (
            f"{PKG}/models.py:build",
            f"'{PKG}/models.py:build' is not 'module:function'; name your own factory like "
            f"'mypkg.models:build', a function build(config, input_shape, n_outputs) -> nn.Module",
        ),
        (
            f"{PKG}.models",
            f"unknown model factory '{PKG}.models'; choose one of attention, backbone, cnn, "
            f"conv1d, finetune, forecast, mlp, resnet, rnn, rocket, table, text, transformer, trees, \"auto\" (chosen from the data), or name your own as 'module:function' (e.g. 'mypkg.models:build')",
        ),
    ],
)
def test_factory_errors(capsys, pkg, tmp_path, factory, message):
    path = experiment(tmp_path, factory=factory)
    for argv in (["run", path, "--storage", tmp_path / "results"], ["space", path]):
        assert one_error(capsys, argv) == f"{path}: [model] factory: {message}"
    assert not (tmp_path / "results").exists()


def test_my_factory_needs_a_space_module(capsys, pkg, tmp_path):
    path = experiment(tmp_path, module=None)
    assert one_error(capsys, ["run", path, "--dry-run"]) == (
        f"{path}: [space] module: required with your own factory '{PKG}.models:build'; name the "
        f'module that defines its space(), e.g. module = "mypkg.spaces"'
    )


@pytest.mark.parametrize(
    "module, message",
    [
        (
            "no_such_pkg_zq.spaces",
            "cannot import 'no_such_pkg_zq.spaces': no module named 'no_such_pkg_zq'; install it "
            "or put its folder on PYTHONPATH (the experiment file's folder is not searched)",
        ),
        (
            f"{PKG}.no_space",
            f"module '{PKG}.no_space' defines no space() function; add `def space() -> "
            f"SearchSpace` to it (see searchspaces/cnn.py)",
        ),
        (
            f"{PKG}.returns_dict",
            f"{PKG}.returns_dict.space() must return a SearchSpace, but returned dict",
        ),
        (f"{PKG}.bad_prior", f"{PKG}.bad_prior.space(): uniform: low < high must hold, but got "
                             f"low=1, high=0"),
        (
            "searchspaces/cnn.py",
            "'searchspaces/cnn.py' is not a module name; give a built-in space (attention, backbone, "
            "cnn, conv1d, finetune, forecast, mlp, resnet, rnn, rocket, table, text, transformer, trees) or your own module's dotted name, e.g. 'mypkg.spaces' "
            "(not a file path)",
        ),
    ],
)
def test_space_module_errors(capsys, pkg, tmp_path, module, message):
    path = experiment(tmp_path, factory="mlp", module=module)
    assert one_error(capsys, ["run", path, "--dry-run"]) == f"{path}: [space] module: {message}"
    assert one_error(capsys, ["space", module]) == f"tuner space: {message}"


@pytest.mark.parametrize(
    "module, start, end",
    [
        ("raises", f"{PKG}.raises.space() failed (RuntimeError: no data dir at ",
         "line 2); fix the module"),
        ("syntax", f"importing '{PKG}.syntax' failed (SyntaxError: ", "line 1); fix the module"),
        (
            "import_fails",
            f"importing '{PKG}.import_fails' failed (ModuleNotFoundError: No module named "
            f"'no_such_dependency_zq' at ",
            "line 1); install what it needs",
        ),
    ],
)
def test_a_broken_module_is_one_line_naming_its_file_and_line(capsys, pkg, module, start, end):
    message = one_error(capsys, ["space", f"{PKG}.{module}"])
    assert message.startswith(f"tuner space: {start}"), message
    assert f"{pkg / PKG / module}.py" in message
    assert message.endswith(end)


@pytest.mark.parametrize(
    "factory, module",
    [
        ("__import__('os').system('touch pwned')", "cnn"),
        ("cnn", "os.system('touch pwned')"),
        ("os:system", "cnn"),  # importable and callable, but no factory: never called
    ],
)
def test_experiment_text_is_never_run_as_code(capsys, pkg, tmp_path, factory, module):
    path = experiment(tmp_path, factory=factory, module=module)
    message = one_error(capsys, ["run", path, "--dry-run"])
    assert message.startswith(f"{path}: [")
    assert not (tmp_path / "pwned").exists()
