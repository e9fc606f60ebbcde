"""The family protocol: every registry line names a model module and a space module that exist,
its hooks keep their contract, and a new family is one line in tuner.models.FAMILIES."""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np
import pytest

from tuner.auto import Profile
from tuner.models import FAMILIES, Family, build_model
from tuner.models.layers import FixedFront
from tuner.spaces import derive_hooks, load_space

WHERE = "exp.toml: [space]"


@pytest.mark.parametrize("name", FAMILIES)
def test_every_family_names_a_model_module_and_a_space_module_that_exist(name):
    family = FAMILIES[name]
    module = importlib.import_module(family.model_module)
    assert callable(module.build)
    assert callable(getattr(module, "wrap", lambda m, c, t: m))
    space = load_space(family.space_module)
    assert space.priors and family.takes <= {"tabular", "sequence", "image", "variable_length",
                                      "text"}
    assert [h.__module__ for h in derive_hooks(family.space_module)][0] == "searchspaces.common"


def _profile(**changes) -> Profile:
    base = Profile(task="classification", kind="sequence", n_train=400, n_valid=100, classes=2,
                   smallest_class=200, smallest_valid_class=50, steps=2000, min_steps=2000,
                   channels=3, forecasting_window=False, n_fit=400)
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize("name", [n for n in FAMILIES if n != "finetune"])
def test_derive_hooks_return_priors_of_the_space_with_a_reason(name):
    # a long, many-channel series and a forecast with a trend: every shared rule has work
    space = load_space(FAMILIES[name].space_module)
    for profile in (_profile(), _profile(kind="sequence", forecasting_window=True,
                                         trend_share=0.9, task="forecasting", classes=0),
                    _profile(kind="text", steps=60, min_steps=3, channels=0, vocab=5000)):
        for hook in derive_hooks(FAMILIES[name].space_module):
            for key, value, reason in hook(profile, space, WHERE):
                assert key in space.priors, (hook, key)
                assert isinstance(reason, str) and len(reason) > 20
                space.override({key: value}, where=WHERE)  # a value the prior's form takes


def test_rocket_and_the_linear_forecaster_declare_their_fixed_front():
    rocket = build_model("rocket", {"kernels": 100, "head": "ridge"}, (50, 1), 2)
    linear = build_model("forecast", {"family": "linear"}, (8, 1), 1)
    mlp = build_model("mlp", {"layers": 1, "units_1": 8, "activation": "relu", "dropout": 0.0},
                      (4,), 2)
    assert isinstance(rocket, FixedFront) and isinstance(linear, FixedFront)
    assert not isinstance(mlp, FixedFront)


def test_the_forecasting_families_anchor_trained_nets_only():
    from tuner.models import wrap_for_training
    from tuner.models.layers import LastValueAnchor

    config = {"family": "mlp", "layers": 1, "units": 8, "activation": "relu", "dropout": 0.0,
              "anchor": "last"}
    net = build_model("forecast", config, (8, 1), 1)
    assert isinstance(wrap_for_training("forecast", net, config, "forecasting"), LastValueAnchor)
    assert wrap_for_training("forecast", net, config, "regression") is net
    linear = build_model("forecast", {**config, "family": "linear"}, (8, 1), 1)
    assert wrap_for_training("forecast", linear, config, "forecasting") is linear
    for family in ("ets", "arima"):  # fitted by maximum likelihood to the levels
        fitted = build_model("forecast", {**config, "family": family}, (8, 1), 1)
        assert wrap_for_training("forecast", fitted, config, "forecasting") is fitted


def test_a_new_family_is_one_registry_line(monkeypatch, tmp_path, tuner_cli):
    # a dense net on tables only, reusing the mlp's model and space modules: nothing else changes
    monkeypatch.setitem(FAMILIES, "dense", Family("dense", frozenset({"tabular"}),
                                                  module="tuner.models.mlp", space="mlp"))
    rng = np.random.default_rng(0)
    rows = ["a,b,y", *(f"{a:.3f},{b:.3f},{int(a > b)}" for a, b in rng.normal(size=(200, 2)))]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "dense.toml").write_text(
        f'[data]\npath = "{tmp_path / "t.csv"}"\ntarget = "y"\n[model]\nfactory = "dense"\n')
    code, out, err = tuner_cli("run", tmp_path / "dense.toml", "--dry-run", "--storage",
                               tmp_path / "r")
    assert code == 0, err
    assert "  space  mlp: " in out and out.splitlines()[-1] == "dry run: valid; nothing started"
    (tmp_path / "digits.toml").write_text('[model]\nfactory = "dense"\n')
    code, out, err = tuner_cli("run", tmp_path / "digits.toml", "--dry-run")
    assert code == 2
    assert "factory 'dense' cannot take images shaped 1×8×8" in err
    from torch import nn

    model = build_model("dense", {"layers": 1, "units_1": 4, "activation": "relu",
                                  "dropout": 0.0}, (2,), 2)
    assert isinstance(model, nn.Sequential) and model[-1].out_features == 2
