"""Model factories by name: `build_model(name, config, input_shape, n_outputs) -> nn.Module`.

A factory only builds modules; it never trains or reads data. Registered lazily so that
`tuner --help` does not import torch. Models of sequences take `model(x, lengths)` for padded
variable-length batches and `model(x)` when every sequence is full length.
"""

from __future__ import annotations

import importlib

from tuner.errors import UserError, did_you_mean

FACTORIES: dict[str, str] = {
    "mlp": "tuner.models.mlp:build",
    "cnn": "tuner.models.cnn:build",
    "rnn": "tuner.models.rnn:build",
    "conv1d": "tuner.models.conv1d:build",
    "attention": "tuner.models.attention:build",
    "transformer": "tuner.models.transformer:build",
}

# The kinds of input each factory takes: tabular (features,), sequence (T, C), image (C, H, W),
# and variable_length (padded sequences with true lengths). The mlp flattens what it gets, so
# it takes fixed-length sequences but would read padding as data.
INPUTS: dict[str, set] = {
    "mlp": {"tabular", "sequence", "image"},
    "cnn": {"image"},
    "rnn": {"sequence", "variable_length"},
    "conv1d": {"sequence", "variable_length"},
    "attention": {"sequence", "variable_length"},
    "transformer": {"sequence", "variable_length"},
}

_KINDS = {
    1: ("tabular", "tabular inputs", "features"),
    2: ("sequence", "sequences", "time steps × channels"),
    3: ("image", "images", "channels × height × width"),
}


class InfeasibleConfig(ValueError):
    """A config that cannot build a model for this data (the trial reports the reason)."""


def check_factory(name: str, *, where: str = "[model] factory") -> None:
    if name not in FACTORIES:
        raise UserError(
            f"{where}: unknown model factory {name!r}{did_you_mean(name, FACTORIES)}; "
            f"available: {', '.join(sorted(FACTORIES))}"
        )


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def check_compatible(
    factory: str, input_shape: tuple, variable_length: bool, *, where: str
) -> None:
    """UserError unless `factory` takes this data (input shape per example, padded or not).

    >>> check_compatible("cnn", (30, 3), False, where="[model] factory")
    Traceback (most recent call last):
    ...
    tuner.errors.UserError: [model] factory: factory 'cnn' cannot take sequences shaped 30×3 \
(time steps × channels); use mlp, rnn, conv1d, attention or transformer
    """
    check_factory(factory, where=where)
    shape = "×".join(str(n) for n in input_shape)
    if len(input_shape) not in _KINDS:
        raise UserError(
            f"{where}: inputs shaped {shape or '()'} are not supported; every factory takes "
            f"features (F), sequences (T×C) or images (C×H×W)"
        )
    kind, text, axes = _KINDS[len(input_shape)]
    if variable_length and "variable_length" not in INPUTS[factory]:
        takers = [f for f in FACTORIES if "variable_length" in INPUTS[f]]
        raise UserError(
            f"{where}: factory {factory!r} cannot take variable-length sequences (padded, with "
            f"lengths); use {_either(takers)}"
        )
    if kind not in INPUTS[factory]:
        takers = [f for f in FACTORIES if kind in INPUTS[f]]
        raise UserError(
            f"{where}: factory {factory!r} cannot take {text} shaped {shape} ({axes}); "
            f"use {_either(takers)}"
        )


def build_model(name: str, config: dict, input_shape: tuple, n_outputs: int):
    """Build the torch module for one trial's config."""
    check_factory(name)
    mod, fn = FACTORIES[name].split(":")
    return getattr(importlib.import_module(mod), fn)(config, tuple(input_shape), int(n_outputs))


__all__ = [
    "FACTORIES",
    "INPUTS",
    "InfeasibleConfig",
    "build_model",
    "check_compatible",
    "check_factory",
]
