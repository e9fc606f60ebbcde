"""SearchSpace: per-layer groups, conditions, resolve / check / size / override / sample.

.venv/bin/python -m pytest tests/spaces/test_space.py -q
"""

from __future__ import annotations

import random

import pytest

from tuner.errors import UserError
from tuner.spaces import (
    SPACES,
    Choice,
    Condition,
    Fixed,
    IntRange,
    LogUniform,
    PerLayer,
    SearchSpace,
    Uniform,
    When,
    load_space,
)


def small() -> SearchSpace:
    """1-3 layers of width 16..64 (4 widths), a conditional momentum, a log lr and a constant."""
    return SearchSpace(
        {
            "layers": IntRange(1, 3),
            "units": PerLayer(IntRange(16, 64, step=16), count="layers"),
            "opt": Choice(["adam", "sgd"]),
            "momentum": When(Choice([0.8, 0.9, 0.99]), "opt", "sgd"),
            "lr": LogUniform(1e-4, 1e-1),
            "act": Fixed("relu"),
        },
        description="small",
    )


def error(fn) -> str:
    with pytest.raises(UserError) as e:
        fn()
    message = str(e.value)
    assert "\n" not in message
    return message


# -- building -------------------------------------------------------------------------------------


def test_per_layer_and_when_expand_into_conditional_priors():
    s = small()
    assert list(s.priors) == [
        "layers",
        "opt",
        "momentum",
        "lr",
        "act",
        "units_1",
        "units_2",
        "units_3",
    ]
    assert s.priors["units_1"].when is None  # every config has at least one layer
    assert s.priors["units_2"].when == Condition("layers", ">=", 2)
    assert s.priors["units_3"].when == Condition("layers", ">=", 3)
    assert s.priors["momentum"].when == Condition("opt", "==", "sgd")
    assert s.priors["units_3"].describe() == "int(16..64, step=16)"
    assert s.order() == [
        "act",
        "layers",
        "lr",
        "opt",
        "units_1",
        "momentum",
        "units_2",
        "units_3",
    ]
    assert s.children("layers") == ["units_2", "units_3"]
    assert s.children("opt") == ["momentum"]
    assert s.children("lr") == []


def test_per_layer_count_starting_at_zero_makes_every_layer_conditional():
    s = SearchSpace({"n": IntRange(0, 2), "w": PerLayer(Choice([8, 16]), count="n")})
    assert s.priors["w_1"].when == Condition("n", ">=", 1)
    assert s.resolve({"n": 0, "w_1": 8, "w_2": 8}) == {"n": 0}


def test_per_layer_count_fixed_makes_every_layer_unconditional():
    s = SearchSpace({"n": Fixed(2), "w": PerLayer(Choice([8, 16]), count="n")})
    assert [p.when for p in s.priors.values()] == [None, None, None]


@pytest.mark.parametrize(
    "entries, message",
    [
        ({"a": When(Fixed(1), "b", 1)}, "a: depends on 'b', which is not in the space"),
        (
            {"opt": Choice(["x"]), "m": When(Fixed(1), "opts", "x")},
            "m: depends on 'opts', which is not in the space (did you mean 'opt'?)",
        ),
        (
            {"b": Uniform(0, 1), "a": When(Fixed(1), "b", 1)},
            "a: depends on 'b', which must be discrete",
        ),
        (
            {"c": Choice([1, 2]), "b": When(Choice([1, 2]), "c", 1), "a": When(Fixed(1), "b", 1)},
            "a: depends on 'b', which is itself conditional; only one level of conditions is "
            "supported",
        ),
        (
            {"b": Choice(["x"]), "a": PerLayer(Fixed(1), "b")},
            "a: per-layer prior needs 'b' to be an integer prior (int range, choice of integers or "
            "a fixed integer)",
        ),
        (
            {"a": PerLayer(Fixed(1), "nope")},
            "a: per-layer prior needs 'nope' to be an integer prior (int range, choice of integers "
            "or a fixed integer)",
        ),
        (
            {"b": IntRange(1, 65), "a": PerLayer(Fixed(1), "b")},
            "b: at most 64 layers, but got up to 65",
        ),
    ],
)
def test_bad_spaces_are_rejected_when_built(entries, message):
    assert error(lambda: SearchSpace(entries)) == message


def test_per_layer_count_must_be_discrete():
    assert error(lambda: SearchSpace({"b": Uniform(1, 3), "a": PerLayer(Fixed(1), "b")})) == (
        "a: per-layer prior needs 'b' to be an integer prior (int range, choice of integers or "
        "a fixed integer)"
    )


# -- resolve --------------------------------------------------------------------------------------


def test_resolve_drops_inactive_dimensions_and_snaps_values():
    raw = {
        "layers": 2.2,
        "units_1": 30,
        "units_2": 70,
        "units_3": 16,
        "opt": "adam",
        "momentum": 0.9,
        "lr": 5.0,
    }
    assert small().resolve(raw) == {
        "layers": 2,
        "opt": "adam",
        "lr": 0.1,
        "act": "relu",
        "units_1": 32,
        "units_2": 64,
    }


def test_resolve_flattens_the_nested_form_hyperopt_returns():
    raw = {
        "layers": {"layers": 3, "units_2": 33, "units_3": 63},
        "units_1": 15,
        "opt": {"opt": 1, "momentum": 0.9},
        "lr": 1e-3,
    }
    assert small().resolve(raw) == {
        "layers": 3,
        "opt": "sgd",
        "momentum": 0.9,
        "lr": 1e-3,
        "act": "relu",
        "units_1": 16,
        "units_2": 32,
        "units_3": 64,
    }


def test_resolve_keeps_space_order_and_fills_fixed_values():
    got = small().resolve({"lr": 0.01, "opt": "adam", "units_1": 16, "layers": 1})
    assert list(got) == ["layers", "opt", "lr", "act", "units_1"]
    assert got["act"] == "relu"


def test_resolve_rejects_a_value_outside_a_choice():
    with pytest.raises(ValueError, match=r"momentum: 0.85 is not one of \[0.8, 0.9, 0.99\]"):
        small().resolve({"layers": 1, "units_1": 16, "opt": "sgd", "momentum": 0.85, "lr": 0.01})


# -- check ----------------------------------------------------------------------------------------

GOOD = {"layers": 1, "units_1": 32, "opt": "adam", "lr": 0.01, "act": "relu"}


def test_check_returns_the_active_part():
    extra = {**GOOD, "momentum": 0.9, "units_3": 16}  # inactive here: dropped, not an error
    assert small().check(extra, where="best.toml") == {
        "layers": 1,
        "opt": "adam",
        "lr": 0.01,
        "act": "relu",
        "units_1": 32,
    }


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"lrr": 0.1},
            "best.toml: unknown hyperparameter 'lrr' (did you mean 'lr'?); is this config from "
            "another space?",
        ),
        ({"units_1": 30}, "best.toml: units_1 = 30 is outside the prior int(16..64, step=16)"),
        ({"lr": 1.0}, "best.toml: lr = 1.0 is outside the prior loguniform(0.0001, 0.1)"),
        (
            {"opt": "rmsprop"},
            "best.toml: opt = 'rmsprop' is outside the prior choice('adam', 'sgd')",
        ),
        ({"act": "elu"}, "best.toml: act = 'elu' is outside the prior fixed('relu')"),
        ({"layers": 2}, "best.toml: units_2 is missing; the space has it as int(16..64, step=16)"),
        (
            {"opt": "sgd"},
            "best.toml: momentum is missing; the space has it as choice(0.8, 0.9, 0.99)",
        ),
        ({"layers": 4}, "best.toml: layers = 4 is outside the prior int(1..3)"),
    ],
)
def test_check_messages(change, message):
    assert error(lambda: small().check({**GOOD, **change}, where="best.toml")) == message


def test_check_reports_a_missing_hyperparameter():
    config = {k: v for k, v in GOOD.items() if k != "lr"}
    assert error(lambda: small().check(config, where="best.toml")) == (
        "best.toml: lr is missing; the space has it as loguniform(0.0001, 0.1)"
    )


# -- size -----------------------------------------------------------------------------------------


def test_size_of_a_small_space_by_hand():
    # layers and its widths: 1 layer -> 4 (units_1) ... counted jointly below:
    #   units_1 is always active (4 widths); layers=1 -> 1, layers=2 -> 4 (units_2),
    #   layers=3 -> 4*4 (units_2, units_3): 1 + 4 + 16 = 21
    # opt: adam -> 1, sgd -> 3 momentum values: 4;  lr continuous;  act fixed: 1
    assert small().size() == {
        "discrete_combinations": 4 * 21 * 4,
        "continuous": ["lr"],
        "dimensions": 7,  # everything but the fixed act
        "always_active": 4,  # layers, opt, lr, units_1
    }


def test_size_of_a_continuous_child_counts_its_branch_once():
    s = SearchSpace({"opt": Choice(["adam", "sgd"]), "m": When(Uniform(0.8, 0.99), "opt", "sgd")})
    assert s.size() == {
        "discrete_combinations": 2,
        "continuous": ["m"],
        "dimensions": 2,
        "always_active": 1,
    }


def test_size_of_the_builtin_spaces_by_hand():
    training = 3 * 4 * (1 + 4 + 1)  # optimizer, batch_size, lr_schedule (cosine: 4 warm-ups)
    cnn_blocks = 1 + 6 + 6 * 6  # filters_2 when >= 2, filters_3 when >= 3 (6 widths each)
    augmentation = 3 * 2 * 2 * 2  # crop, flip, rotation, colour jitter
    # filters_1, kernel, bn, dense, activation
    cnn = cnn_blocks * 6 * 2 * 2 * 8 * 4 * augmentation * training
    assert load_space("cnn").size()["discrete_combinations"] == cnn == 57_065_472
    mlp_layers = 1 + 16 + 16 * 16  # units_2 when >= 2, units_3 when >= 3 (16 widths each)
    mlp = mlp_layers * 16 * 4 * training  # units_1, activation
    assert load_space("mlp").size()["discrete_combinations"] == mlp == 1_257_984
    # family (linear, ets, arima; mlp: activation; rnn: cell), layers, units
    forecast = (3 + 4 + 2) * 3 * 8 * training
    assert load_space("forecast").size()["discrete_combinations"] == forecast == 15_552
    assert load_space("cnn").size()["continuous"] == ["dropout", "lr", "momentum", "weight_decay"]


# -- override -------------------------------------------------------------------------------------


def test_override_replaces_priors_and_keeps_per_layer_and_conditions():
    s = small()
    o = s.override({"units": {"int": [32, 64]}, "momentum": 0.9, "lr": {"uniform": [0.01, 0.1]}})
    assert o.priors["units_3"].describe() == "int(32..64)"
    assert o.priors["units_3"].when == Condition("layers", ">=", 3)
    assert o.priors["momentum"] == Fixed(0.9, name="momentum", when=Condition("opt", "==", "sgd"))
    assert o.priors["lr"].describe() == "uniform(0.01, 0.1)"
    assert o.description == "small"
    assert s.priors["lr"].describe() == "loguniform(0.0001, 0.1)"  # the original is unchanged


def test_override_of_a_count_changes_the_layers():
    o = small().override({"layers": 2})
    assert [n for n in o.priors if n.startswith("units")] == ["units_1", "units_2"]
    assert o.priors["units_2"].when is None


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"lrr": 0.1},
            "[space] lrr: unknown hyperparameter (did you mean 'lr'?); this space has: layers, "
            "units, opt, momentum, lr, act",
        ),
        (
            {"units_2": 32},
            "[space] units_2: per-layer priors are set for all layers at once; write units = ... "
            "instead",
        ),
        (
            {"lr": {"loguniform": [1e-2, 1e-4]}},
            "[space] lr: low < high must hold, but got low=0.01, high=0.0001",
        ),
        (
            {"units": {"int": [64, 16]}},
            "[space] units: low <= high must hold, but got low=64, high=16",
        ),
        ({"layers": {"int": [1, 100]}}, "[space]: layers: at most 64 layers, but got up to 100"),
        (
            {"layers": {"choice": ["one", "two"]}},
            "[space]: units: per-layer prior needs 'layers' to be an integer prior (int range, "
            "choice of integers or a fixed integer)",
        ),
    ],
)
def test_override_errors(overrides, message):
    assert error(lambda: small().override(overrides)) == message


def test_override_names_where_the_override_came_from():
    assert error(lambda: small().override({"lrr": 1}, where="exp.toml: [space]")).startswith(
        "exp.toml: [space] lrr: unknown hyperparameter (did you mean 'lr'?)"
    )


def test_override_can_fix_the_parent_of_a_conditional_prior():
    o = small().override({"opt": "adam"})
    assert "momentum" not in o.priors  # its condition can never hold: simply inactive
    raw = {"layers": 1, "units_1": 16, "opt": "adam", "momentum": 0.9, "lr": 0.01}
    expected = {"layers": 1, "opt": "adam", "lr": 0.01, "act": "relu", "units_1": 16}
    assert o.resolve(raw) == expected
    assert o.check(expected, where="best.toml") == expected
    assert o.size()["discrete_combinations"] == 4 * 21
    assert "momentum" in small().override({"opt": "sgd"}).priors


def test_a_condition_on_a_value_the_parent_never_takes_is_never_active():
    s = SearchSpace({"b": Choice([1, 2]), "a": When(Fixed(1), "b", 3)})
    assert list(s.priors) == ["b"]


def test_a_condition_on_several_values_holds_for_each_of_them():
    s = SearchSpace({"arch": Choice(["bag", "rnn", "attention"]),
                     "width": When(Choice([32, 64]), "arch", ("rnn", "attention"))})
    assert str(s.priors["width"].when) == "arch in {'rnn', 'attention'}"
    assert s.resolve({"arch": "bag", "width": 64}) == {"arch": "bag"}
    assert s.resolve({"arch": "attention", "width": 64}) == {"arch": "attention", "width": 64}
    assert "width" not in s.override({"arch": "bag"}).priors
    assert "width" in s.override({"arch": {"choice": ["bag", "rnn"]}}).priors


# -- sample ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SPACES.names())
def test_every_sample_of_every_builtin_space_passes_check(name):
    space = load_space(name)
    for seed in range(300):
        config = space.sample(random.Random(seed))
        assert space.check(config, where=f"{name} seed {seed}") == config
        assert space.resolve(config) == config
        # a conditional prior is in the config exactly when its condition holds
        for n, p in space.priors.items():
            assert (n in config) == (p.when is None or p.when.holds(config)), (n, config)


def test_samples_of_the_cnn_space_hold_exactly_the_active_layers():
    space = load_space("cnn")
    seen = set()
    for seed in range(100):
        config = space.sample(random.Random(seed))
        filters = sorted(n for n in config if n.startswith("filters_"))
        assert filters == [f"filters_{i}" for i in range(1, config["conv_blocks"] + 1)]
        assert ("momentum" in config) == (config["optimizer"] == "sgd")
        assert ("warmup_epochs" in config) == (config["lr_schedule"] == "cosine")
        seen.add((config["conv_blocks"], config["optimizer"]))
    assert len(seen) == 9  # every branch was drawn


def test_sample_is_reproducible_by_seed_and_varies_across_seeds():
    space = load_space("cnn")
    assert space.sample(random.Random(7)) == space.sample(random.Random(7))
    assert len({repr(space.sample(random.Random(s))) for s in range(20)}) == 20


def test_builtin_space_names():
    assert SPACES.names() == ["attention", "backbone", "cnn", "conv1d", "finetune", "forecast",
                              "mlp", "resnet", "rnn", "rocket", "table", "text", "transformer",
                              "trees"]
    assert "cnn" in SPACES and "common" not in SPACES


def test_a_config_may_leave_out_a_fixed_value():
    s = SearchSpace({"lr": LogUniform(1e-4, 1e-1), "anchor": Fixed("none")})
    assert s.check({"lr": 0.01}, where="best.toml") == {"lr": 0.01, "anchor": "none"}
