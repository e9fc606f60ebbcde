"""check_compatible: which factory takes which data, and the exact messages when one cannot."""

from __future__ import annotations

import pytest

from tuner.errors import UserError
from tuner.models import FACTORIES, INPUTS, check_compatible

WHERE = "[model] factory"
SHAPES = {"tabular": (64,), "sequence": (30, 3), "image": (1, 8, 8), "text": (40,)}


@pytest.mark.parametrize("factory", FACTORIES)
@pytest.mark.parametrize("kind", ["tabular", "sequence", "image", "variable_length", "text"])
def test_check_compatible_follows_the_inputs_table(factory, kind):
    shape = SHAPES["sequence" if kind == "variable_length" else kind]
    takes = kind in INPUTS[factory]
    args = dict(where=WHERE, text=kind == "text")
    if takes:
        check_compatible(factory, shape, kind in ("variable_length", "text"), **args)
    else:
        with pytest.raises(UserError):
            check_compatible(factory, shape, kind in ("variable_length", "text"), **args)


def test_text_goes_to_the_text_family_only_and_says_so():
    with pytest.raises(UserError) as e:
        check_compatible("mlp", (40,), True, where=WHERE, text=True)
    assert str(e.value) == "[model] factory: factory 'mlp' cannot take tokenized texts; use text"
    with pytest.raises(UserError) as e:
        check_compatible("text", (64,), False, where=WHERE)
    assert str(e.value).startswith("[model] factory: factory 'text' cannot take inputs shaped "
                                   "64; use mlp, cnn, ")


@pytest.mark.parametrize(
    "factory, shape, variable, message",
    [
        (
            "mlp",
            (40, 2),
            True,
            "[model] factory: factory 'mlp' cannot take variable-length sequences (padded, with lengths); use rnn, conv1d, rocket, attention or transformer",
        ),
        (
            "cnn",
            (40, 2),
            True,
            "[model] factory: factory 'cnn' cannot take variable-length sequences (padded, with lengths); use rnn, conv1d, rocket, attention or transformer",
        ),
        (
            "cnn",
            (30, 3),
            False,
            "[model] factory: factory 'cnn' cannot take sequences shaped 30×3 (time steps × channels); use mlp, rnn, conv1d, rocket, forecast, attention or transformer",
        ),
        (
            "cnn",
            (64,),
            False,
            "[model] factory: factory 'cnn' cannot take tabular inputs shaped 64 (features); use mlp, trees or table",
        ),
        (
            "rnn",
            (64,),
            False,
            "[model] factory: factory 'rnn' cannot take tabular inputs shaped 64 (features); use mlp, trees or table",
        ),
        (
            "transformer",
            (1, 8, 8),
            False,
            "[model] factory: factory 'transformer' cannot take images shaped 1×8×8 (channels × height × width); use mlp, cnn, resnet or backbone",
        ),
        (
            "mlp",
            (2, 3, 8, 8),
            False,
            "[model] factory: inputs shaped 2×3×8×8 are not supported; every factory takes features (F), sequences (T×C) or images (C×H×W)",
        ),
        (
            "rnm",
            (30, 3),
            False,
            "[model] factory: unknown model factory 'rnm' (did you mean 'rnn'?); available: attention, backbone, cnn, conv1d, finetune, forecast, mlp, resnet, rnn, rocket, table, text, transformer, trees",
        ),
    ],
)
def test_check_compatible_messages(factory, shape, variable, message):
    with pytest.raises(UserError) as e:
        check_compatible(factory, shape, variable, where=WHERE)
    assert str(e.value) == message


def test_where_prefixes_the_message():
    with pytest.raises(UserError) as e:
        check_compatible("cnn", (30, 3), False, where="exp.toml [model] factory")
    assert str(e.value).startswith("exp.toml [model] factory: factory 'cnn' cannot take")
