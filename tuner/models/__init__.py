"""Model factories by name: `build_model(name, config, input_shape, n_outputs) -> nn.Module`.

A factory only builds modules; it never trains or reads data. Registered lazily so that
`tuner --help` does not import torch.
"""

from __future__ import annotations

import importlib

from tuner.errors import UserError, did_you_mean

FACTORIES: dict[str, str] = {
    "mlp": "tuner.models.mlp:build",
    "cnn": "tuner.models.cnn:build",
}


class InfeasibleConfig(ValueError):
    """A config that cannot build a model for this data (the trial reports the reason)."""


def check_factory(name: str, *, where: str = "[model] factory") -> None:
    if name not in FACTORIES:
        raise UserError(
            f"{where}: unknown model factory {name!r}{did_you_mean(name, FACTORIES)}; "
            f"available: {', '.join(sorted(FACTORIES))}"
        )


def build_model(name: str, config: dict, input_shape: tuple, n_outputs: int):
    """Build the torch module for one trial's config."""
    check_factory(name)
    mod, fn = FACTORIES[name].split(":")
    return getattr(importlib.import_module(mod), fn)(config, tuple(input_shape), int(n_outputs))


__all__ = ["FACTORIES", "InfeasibleConfig", "build_model", "check_factory"]
