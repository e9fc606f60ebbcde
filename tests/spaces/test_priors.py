"""Priors: construction-time validation, snap / contains / values, and the experiment-file form.

.venv/bin/python -m pytest tests/spaces/test_priors.py -q
"""

from __future__ import annotations

import json
import re

import pytest

from tuner.errors import UserError
from tuner.spaces import Choice, Fixed, IntRange, LogUniform, Uniform, prior_from_dict

FORMS = (
    "{ uniform = [lo, hi] }, { loguniform = [lo, hi] }, "
    "{ int = [lo, hi], step = 1, log = false }, { choice = [...] } or a plain value"
)


# -- validation at construction ------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Uniform(3, 1), "uniform: low < high must hold, but got low=3, high=1"),
        (lambda: Uniform(1, 1), "uniform: low < high must hold, but got low=1, high=1"),
        (lambda: Uniform("a", 1), "uniform: low must be a number, but got 'a'"),
        (lambda: Uniform(0, "b"), "uniform: high must be a number, but got 'b'"),
        (lambda: Uniform(True, 2), "uniform: low must be a number, but got True"),
        (lambda: Uniform(float("inf"), 1), "uniform: low must be finite, but got inf"),
        (lambda: Uniform(0, float("nan")), "uniform: high must be finite, but got nan"),
        (
            lambda: Uniform(3, 1, name="dropout"),
            "dropout: low < high must hold, but got low=3, high=1",
        ),
        (lambda: LogUniform(3, 1), "loguniform: low < high must hold, but got low=3, high=1"),
        (lambda: LogUniform(0, 1), "loguniform: low > 0 must hold on a log scale, but got low=0"),
        (
            lambda: LogUniform(-1, 1),
            "loguniform: low > 0 must hold on a log scale, but got low=-1",
        ),
        (lambda: IntRange(3, 1), "int: low <= high must hold, but got low=3, high=1"),
        (lambda: IntRange(1.0, 3), "int: low must be an integer, but got 1.0"),
        (lambda: IntRange(1, "3"), "int: high must be an integer, but got '3'"),
        (lambda: IntRange(1, 3, step=0), "int: step >= 1 must hold, but got step=0"),
        (lambda: IntRange(1, 3, step=1.5), "int: step must be an integer, but got 1.5"),
        (
            lambda: IntRange(1, 4, step=2),
            "int: high - low must be a multiple of step, but got low=1, high=4, step=2",
        ),
        (
            lambda: IntRange(1, 4, step=3, log=True),
            "int: log = true needs step = 1, but got step=3",
        ),
        (
            lambda: IntRange(0, 4, log=True),
            "int: low >= 1 must hold on a log scale, but got low=0",
        ),
        (lambda: IntRange(1, 4, log=1), "int: log must be true or false, but got 1"),
        (
            lambda: IntRange(0, 10**8),
            "int: the range holds more than 10 million values; narrow it",
        ),
        (lambda: Choice([]), "choice: choice needs a non-empty list of options, but got []"),
        (lambda: Choice("abc"), "choice: choice needs a non-empty list of options, but got 'abc'"),
        (lambda: Choice([1, 1]), "choice: choice options must be distinct, but got [1, 1]"),
        (
            lambda: Choice([[1]]),
            "choice: choice options must be strings, numbers or booleans, but got [1]",
        ),
        (
            lambda: Choice(["a", None]),
            "choice: choice options must be strings, numbers or booleans, but got None",
        ),
        (
            lambda: Fixed([1]),
            "fixed: a fixed value must be a string, number or boolean, but got [1]",
        ),
        (
            lambda: Fixed(None),
            "fixed: a fixed value must be a string, number or boolean, but got None",
        ),
    ],
)
def test_construction_rejects_bad_values_with_the_rule_then_the_values(make, message):
    with pytest.raises(UserError) as e:
        make()
    assert str(e.value) == message


def test_a_valid_prior_of_every_kind_builds():
    assert Uniform(0, 0.5).describe() == "uniform(0, 0.5)"
    assert LogUniform(1e-4, 3e-2).describe() == "loguniform(0.0001, 0.03)"
    assert IntRange(16, 128, step=16).describe() == "int(16..128, step=16)"
    assert IntRange(1, 64, log=True).describe() == "int(1..64, log)"
    assert IntRange(5, 5).describe() == "int(5..5)"
    assert Choice(["relu", "elu"]).describe() == "choice('relu', 'elu')"
    assert Choice([True, False]).describe() == "choice(True, False)"
    assert Fixed("relu").describe() == "fixed('relu')"
    assert Fixed(0.5).describe() == "fixed(0.5)"


def test_choice_keeps_options_as_a_tuple_and_treats_bool_and_int_as_distinct():
    assert Choice([3, 5]).options == (3, 5)
    assert Choice([1, True]).values() == [1, True]


# -- values / snap / contains ---------------------------------------------------------------------


def test_values_of_discrete_priors():
    assert IntRange(16, 128, step=16).values() == [16, 32, 48, 64, 80, 96, 112, 128]
    assert IntRange(1, 3).values() == [1, 2, 3]
    assert IntRange(1, 4, log=True).values() == [1, 2, 3, 4]
    assert Choice(["a", "b"]).values() == ["a", "b"]
    assert Fixed(7).values() == [7]


def test_discrete_flag():
    assert not Uniform(0, 1).discrete
    assert not LogUniform(1, 2).discrete
    assert IntRange(0, 1).discrete and Choice([1]).discrete and Fixed(1).discrete


@pytest.mark.parametrize(
    "raw, snapped",
    [(16, 16), (24, 16), (25, 32), (37, 32), (40, 48), (127.9, 128), (1000, 128), (-5, 16)],
)
def test_int_snap_rounds_to_the_nearest_step_and_clamps(raw, snapped):
    got = IntRange(16, 128, step=16).snap(raw)
    assert got == snapped and type(got) is int


@pytest.mark.parametrize("raw, snapped", [(0.25, 0.25), (-1, 0.0), (2, 0.5), (0.5, 0.5)])
def test_uniform_snap_clamps_into_the_range(raw, snapped):
    got = Uniform(0, 0.5).snap(raw)
    assert got == snapped and type(got) is float


def test_loguniform_snap_clamps_into_the_range():
    p = LogUniform(1e-4, 1e-2)
    assert p.snap(1.0) == 1e-2
    assert p.snap(0.0) == 1e-4
    assert p.snap(1e-3) == 1e-3


def test_choice_snap_accepts_a_value_or_an_index():
    p = Choice(["a", "b"], name="opt")
    assert p.snap("b") == "b"
    assert p.snap(1) == "b"  # HyperOpt / ConfigSpace may hand back an index
    assert p.snap(0.0) == "a"
    assert Choice([3, 5]).snap(5) == 5
    assert Choice([3, 5]).snap(1) == 5


@pytest.mark.parametrize("raw", ["c", 2, -1, 0.5])
def test_choice_snap_rejects_what_is_neither_an_option_nor_an_index(raw):
    with pytest.raises(ValueError, match=re.escape(f"opt: {raw!r} is not one of ['a', 'b']")):
        Choice(["a", "b"], name="opt").snap(raw)


def test_fixed_snap_always_gives_the_value():
    assert Fixed("relu").snap("elu") == "relu"


@pytest.mark.parametrize(
    "prior, value, inside",
    [
        (Uniform(0, 0.5), 0.0, True),
        (Uniform(0, 0.5), 0.5, True),
        (Uniform(0, 0.5), 0, True),
        (Uniform(0, 0.5), 0.51, False),
        (Uniform(0, 0.5), True, False),
        (Uniform(0, 0.5), "0.1", False),
        (LogUniform(1e-4, 1e-2), 1e-3, True),
        (LogUniform(1e-4, 1e-2), 1e-5, False),
        (IntRange(16, 128, step=16), 16, True),
        (IntRange(16, 128, step=16), 128, True),
        (IntRange(16, 128, step=16), 24, False),
        (IntRange(16, 128, step=16), 144, False),
        (IntRange(16, 128, step=16), 16.0, False),
        (IntRange(0, 1), True, False),
        (Choice(["a", "b"]), "a", True),
        (Choice(["a", "b"]), "c", False),
        (Choice(["a", "b"]), 0, False),
        (Choice([3, 5]), 3, True),
        (Choice([3, 5]), 3.0, True),
        (Choice([3, 5]), 4, False),
        (Choice([1, 5]), True, False),
        (Choice([True, False]), True, True),
        (Fixed("relu"), "relu", True),
        (Fixed("relu"), "elu", False),
    ],
)
def test_contains(prior, value, inside):
    assert prior.contains(value) is inside


def test_boolean_choice_does_not_contain_integers():
    assert Choice([True, False]).contains(1) is False
    assert Choice([True, False]).contains(0) is False


# -- the experiment-file form ---------------------------------------------------------------------

ROUND_TRIP = [
    Uniform(0, 0.5),
    Uniform(-1.5, 2.25),
    LogUniform(1e-4, 3e-2),
    IntRange(1, 3),
    IntRange(16, 128, step=16),
    IntRange(1, 64, log=True),
    Choice(["adam", "adamw", "sgd"]),
    Choice([32, 64, 128]),
    Choice([True, False]),
    Choice([0.1, "x", 3]),
    Fixed("relu"),
    Fixed(3),
    Fixed(0.25),
    Fixed(False),
]


@pytest.mark.parametrize("prior", ROUND_TRIP, ids=lambda p: p.describe())
def test_prior_from_dict_round_trips(prior):
    back = prior_from_dict("x", prior.to_dict())
    assert back.describe() == prior.describe()
    assert back == prior.named("x")
    via_json = prior_from_dict("x", json.loads(json.dumps(prior.to_dict())))
    assert via_json.describe() == prior.describe()


def test_to_dict_forms():
    assert Uniform(0, 0.5).to_dict() == {"uniform": [0, 0.5]}
    assert LogUniform(1e-4, 1e-2).to_dict() == {"loguniform": [1e-4, 1e-2]}
    assert IntRange(1, 3).to_dict() == {"int": [1, 3]}
    assert IntRange(16, 128, step=16).to_dict() == {"int": [16, 128], "step": 16}
    assert IntRange(1, 64, log=True).to_dict() == {"int": [1, 64], "log": True}
    assert Choice(["a", "b"]).to_dict() == {"choice": ["a", "b"]}
    assert Fixed("relu").to_dict() == "relu"


def test_prior_from_dict_names_the_prior_and_plain_values_are_fixed():
    assert prior_from_dict("lr", {"loguniform": [1e-4, 1e-2]}).describe() == (
        "loguniform(0.0001, 0.01)"
    )
    p = prior_from_dict("activation", "relu")
    assert isinstance(p, Fixed) and p.value == "relu" and p.name == "activation"
    assert prior_from_dict("bn", True) == Fixed(True, name="bn")


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"uniform": [3, 1]}, "lr: low < high must hold, but got low=3, high=1"),
        ({"loguniform": [0, 1]}, "lr: low > 0 must hold on a log scale, but got low=0"),
        ({"int": [3, 1]}, "lr: low <= high must hold, but got low=3, high=1"),
        (
            {"uniform": [1, 2], "step": 1},
            "lr: unknown key 'step' in a uniform prior; allowed: ['uniform']",
        ),
        (
            {"choice": ["a"], "log": True},
            "lr: unknown key 'log' in a choice prior; allowed: ['choice']",
        ),
        ({"int": [1, 2, 3]}, "lr: int needs [low, high], but got [1, 2, 3]"),
        ({"uniform": [1]}, "lr: uniform needs [low, high], but got [1]"),
        ({"int": "1..3"}, "lr: int needs [low, high], but got '1..3'"),
        ({"loguniform": 0.1}, "lr: loguniform needs [low, high], but got 0.1"),
        ({"uniform": ["a", "b"]}, "lr: low must be a number, but got 'a'"),
        ({"int": ["1", 3]}, "lr: low must be an integer, but got '1'"),
        ({"int": [1, 3], "log": "yes"}, "lr: log must be true or false, but got 'yes'"),
        ({"int": [1, 3], "step": 1.5}, "lr: step must be an integer, but got 1.5"),
        ({"choice": "abc"}, "lr: choice needs a non-empty list of options, but got 'abc'"),
        ({"choice": []}, "lr: choice needs a non-empty list of options, but got []"),
        ({}, f"lr: a prior must be one of {FORMS}, but got {{}}"),
        (
            {"uniform": [1, 2], "int": [1, 2]},
            f"lr: a prior must be one of {FORMS}, but got {{'uniform': [1, 2], 'int': [1, 2]}}",
        ),
        ({"normal": [0, 1]}, f"lr: a prior must be one of {FORMS}, but got {{'normal': [0, 1]}}"),
        ([1, 2], f"lr: a prior must be one of {FORMS}, but got [1, 2]"),
        (None, f"lr: a prior must be one of {FORMS}, but got None"),
    ],
)
def test_prior_from_dict_rejects_bad_forms(raw, message):
    with pytest.raises(UserError) as e:
        prior_from_dict("lr", raw)
    assert str(e.value) == message


def test_prior_from_dict_unknown_int_key_lists_the_allowed_keys():
    with pytest.raises(UserError) as e:
        prior_from_dict("units", {"int": [1, 2], "steps": 2})
    # "a int" vs "an int" is cosmetic; the key and the allowed list are what a user needs
    assert re.fullmatch(
        r"units: unknown key 'steps' in an? int prior; allowed: \['int', 'log', 'step'\]",
        str(e.value),
    )


def test_user_errors_are_always_one_line():
    assert str(UserError("lr: low < high must hold,\n    but got low=3,  high=1")) == (
        "lr: low < high must hold, but got low=3, high=1"
    )
