"""Model factories by name: `build_model(name, config, input_shape, n_outputs) -> nn.Module`.

A factory only builds modules; it never trains or reads data. Registered lazily so that
`tuner --help` does not import torch. Models of sequences take `model(x, lengths)` for padded
variable-length batches and `model(x)` when every sequence is full length.

Your own factory is named as 'module:function' (`[model] factory = "mypkg.models:build"`): a
function of the same signature in a module Python can import (installed, or on PYTHONPATH, in
the driver and in every Ray worker). Nothing else in an experiment file names code.
"""

from __future__ import annotations

import inspect

from tuner.errors import UserError, did_you_mean
from tuner.models.family import IMAGE, SEQUENCE, SEQUENCES, TABULAR, TEXT, Family
from tuner.user_code import (
    import_user_module,
    is_module_name,
    is_python_object,
    python_object,
)

# The model families, one line each: name, the inputs it takes, the facts that are its own.
FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("mlp", frozenset({TABULAR, SEQUENCE, IMAGE})),  # flattens what it gets; padding
    # would read as data, so no variable-length sequences
    Family("cnn", frozenset({IMAGE})),
    Family("resnet", frozenset({IMAGE})),  # residual blocks: deeper nets that still train
    # ImageNet-trained ResNet-18/50 or MobileNetV2, first stages frozen, a new head
    Family("backbone", frozenset({IMAGE}), max_epochs=30),
    Family("rnn", SEQUENCES),
    Family("conv1d", SEQUENCES),
    # a fixed front makes epochs cheap: a trained head may take up to 200
    Family("rocket", SEQUENCES, max_epochs=200),
    # forecasting windows of equal length: the family (linear, dense or recurrent) is tuned
    Family("forecast", frozenset({SEQUENCE})),
    Family("attention", SEQUENCES),
    Family("transformer", SEQUENCES),
    # a model `tuner train` wrote ([model] weights), first conv blocks frozen, new head; it
    # takes images shaped like its source's, exactly
    Family("finetune", frozenset({IMAGE}), suggested=False),
    # token ids: a bag of n-grams, a recurrent net or attention over embeddings
    Family("text", frozenset({TEXT}), max_epochs=30),
    # boosted trees: an epoch is 20 rounds, 50 make 1 000
    Family("trees", frozenset({TABULAR}), max_epochs=50),
    # a table: a dense net or boosted trees, the family tuned
    Family("table", frozenset({TABULAR}), max_epochs=50),
)}
# views of FAMILIES as they stood at import: name -> "module:function", name -> inputs taken
FACTORIES: dict[str, str] = {n: f"{f.model_module}:build" for n, f in FAMILIES.items()}
INPUTS: dict[str, set] = {n: set(f.takes) for n, f in FAMILIES.items()}


def _suggested() -> list[str]:
    return [n for n, f in FAMILIES.items() if f.suggested]

_KINDS = {
    1: ("tabular", "tabular inputs", "features"),
    2: ("sequence", "sequences", "time steps × channels"),
    3: ("image", "images", "channels × height × width"),
}


class InfeasibleConfig(ValueError):
    """A config that cannot build a model for this data (the trial reports the reason)."""


def is_user_factory(name) -> bool:
    """True for your own factory, named as 'module:function' (e.g. 'mypkg.models:build')."""
    return isinstance(name, str) and ":" in name


def user_factory(name: str, *, where: str = "[model] factory"):
    """The function a 'module:function' factory names: imported, and checked to take
    (config, input_shape, n_outputs) like the built-in factories."""
    if is_python_object(name):  # made in Python (a notebook's class), kept with its experiment
        return check_signature(python_object(name, where=where), name, where=where)
    modname, _, fn = name.partition(":")
    form = "build(config, input_shape, n_outputs) -> nn.Module"
    if not is_module_name(modname) or not fn.isidentifier():
        raise UserError(
            f"{where}: {name!r} is not 'module:function'; name your own factory like "
            f"'mypkg.models:build', a function {form}"
        )
    module = import_user_module(modname, where=where)
    func = getattr(module, fn, None)
    if func is None:
        public = [n for n in vars(module) if not n.startswith("_")]
        raise UserError(
            f"{where}: module {modname!r} has no {fn!r}{did_you_mean(fn, public)}; define "
            f"{form.replace('build', fn, 1)} in it"
        )
    return check_signature(func, name, where=where)


def check_signature(func, name: str, *, where: str):
    """`func`, checked to be callable as (config, input_shape, n_outputs) like the built-in
    factories (a function, or an nn.Module class whose __init__ takes those)."""
    if not callable(func):
        raise UserError(
            f"{where}: {name} is not a function (its type is {type(func).__name__}); name a "
            f"function build(config, input_shape, n_outputs) -> nn.Module"
        )
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # no signature to read (a builtin): calling it will tell
        return func
    try:
        signature.bind({}, (1,), 2)
    except TypeError:
        shown = getattr(func, "__name__", type(func).__name__)
        raise UserError(
            f"{where}: {name} must take (config, input_shape, n_outputs) like the built-in "
            f"factories, but its signature is {shown}{signature}"
        ) from None
    return func


def check_factory(name: str, *, where: str = "[model] factory") -> None:
    """UserError unless `name` is a built-in factory or an importable 'module:function'."""
    if is_user_factory(name):
        user_factory(name, where=where)
        return
    if name not in FAMILIES:
        raise UserError(
            f"{where}: unknown model factory {name!r}{did_you_mean(name, FAMILIES)}; "
            f"available: {', '.join(sorted(FAMILIES))}"
        )


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def check_compatible(
    factory: str, input_shape: tuple, variable_length: bool, *, where: str, text: bool = False
) -> None:
    """UserError unless `factory` takes this data (input shape per example, padded or not).

    >>> check_compatible("cnn", (30, 3), False, where="[model] factory")
    Traceback (most recent call last):
    ...
    tuner.errors.UserError: [model] factory: factory 'cnn' cannot take sequences shaped 30×3 \
(time steps × channels); use mlp, rnn, conv1d, rocket, forecast, attention or transformer
    """
    check_factory(factory, where=where)
    if is_user_factory(factory):  # your own factory: what it takes is yours to check
        return
    shape = "×".join(str(n) for n in input_shape)
    takes = FAMILIES[factory].takes
    if text or TEXT in takes:
        if text != (TEXT in takes):
            takers = [f for f in _suggested() if (TEXT in FAMILIES[f].takes) == text]
            what = "tokenized texts" if text else f"inputs shaped {shape}"
            raise UserError(f"{where}: factory {factory!r} cannot take {what}; use "
                            f"{_either(takers)}")
        return
    if len(input_shape) not in _KINDS:
        raise UserError(
            f"{where}: inputs shaped {shape or '()'} are not supported; every factory takes "
            f"features (F), sequences (T×C) or images (C×H×W)"
        )
    kind, text, axes = _KINDS[len(input_shape)]
    if variable_length and "variable_length" not in takes:
        takers = [f for f in _suggested() if "variable_length" in FAMILIES[f].takes]
        raise UserError(
            f"{where}: factory {factory!r} cannot take variable-length sequences (padded, with "
            f"lengths); use {_either(takers)}"
        )
    if kind not in takes:
        takers = [f for f in _suggested() if kind in FAMILIES[f].takes]
        raise UserError(
            f"{where}: factory {factory!r} cannot take {text} shaped {shape} ({axes}); "
            f"use {_either(takers)}"
        )


def build_model(name: str, config: dict, input_shape: tuple, n_outputs: int):
    """Build the torch module for one trial's config (a built-in or your own factory)."""
    if is_user_factory(name):
        model = user_factory(name)(config, tuple(input_shape), int(n_outputs))
        from torch import nn

        if not isinstance(model, nn.Module):
            raise TypeError(f"[model] factory {name} returned {type(model).__name__}, not a "
                            f"torch.nn.Module")
        return model
    check_factory(name)
    return FAMILIES[name].build(config, input_shape, n_outputs)


def space_module_of(factory: str) -> str:
    """The space module a factory's experiment uses unless [space] module names another:
    its family's, or the factory's own name."""
    family = FAMILIES.get(factory)
    return family.space_module if family else factory


def wrap_for_training(name: str, model, config: dict, task: str):
    """The model as training sees it (the family's `wrap` hook; your own factory's as built)."""
    return model if is_user_factory(name) else FAMILIES[name].wrap(model, config, task)


__all__ = [
    "FACTORIES",
    "FAMILIES",
    "Family",
    "INPUTS",
    "InfeasibleConfig",
    "build_model",
    "check_compatible",
    "check_factory",
    "check_signature",
    "is_user_factory",
    "space_module_of",
    "user_factory",
    "wrap_for_training",
]
