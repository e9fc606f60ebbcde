"""A model family: what tuner knows about one kind of model, in one registry entry.

A family is its model module (`build(config, input_shape, n_outputs) -> nn.Module`), its space
module (`searchspaces/<name>.py: space()`) and the facts the registry line states (the inputs
it takes, how many epochs its trials may need). Two hooks, each empty unless the module defines
it:

- `derive(profile, space, where)` in the space module: priors sized to the data, as
  `(key, value, reason)` (ROCKET's kernels against the cost of its transform); the shared
  priors' rules are `searchspaces/common.py: derive`, applied to every space.
- `wrap(model, config, task)` in the model module: the model as training sees it (a forecaster
  anchored on the window's last value). A model whose front is fixed says so by its type
  (`tuner.models.layers.FixedFront`): training computes the front's features once.
- `before_search(space, where)` in the space module: what must be in place before Ray starts
  (the backbones' weight files), checked by `tuner run` and `--dry-run` (the space module,
  because the driver never imports torch).

Adding a family: its model module, its space module, one line in `tuner.models.FAMILIES`.
This module imports neither torch nor the family's modules until they are used.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

TABULAR, SEQUENCE, IMAGE, VARIABLE = "tabular", "sequence", "image", "variable_length"
TEXT = "text"  # token ids (L,) padded with 0, with lengths
SEQUENCES = frozenset({SEQUENCE, VARIABLE})


@dataclass(frozen=True)
class Family:
    """One model family. `takes`: the inputs it builds a model for (tabular (F,), sequence
    (T, C), image (C, H, W), variable_length: padded sequences with true lengths);
    `max_epochs`: the most epochs a derived budget gives its trials; `suggested`: whether a
    "use ..." hint may name it (finetune needs a trained source first)."""

    name: str
    takes: frozenset
    max_epochs: int = 60
    suggested: bool = True
    module: str = ""  # default: tuner.models.<name>
    space: str = ""  # default: searchspaces.<name>

    @property
    def model_module(self) -> str:
        return self.module or f"tuner.models.{self.name}"

    @property
    def space_module(self) -> str:
        return self.space or self.name

    def build(self, config: dict, input_shape: tuple, n_outputs: int):
        """The torch module of one config."""
        build = importlib.import_module(self.model_module).build
        return build(config, tuple(input_shape), int(n_outputs))

    def before_search(self, space, where: str) -> None:
        """The space module's `before_search(space, where)`: what must be in place before
        any trial starts (a pretrained backbone's weight files), or a UserError. It lives
        with the space, not the model, so that the driver never imports torch."""
        module = importlib.import_module(f"searchspaces.{self.space_module}")
        hook = getattr(module, "before_search", None)
        if hook is not None:
            hook(space, where)

    def wrap(self, model, config: dict, task: str):
        """The model as training sees it: the model module's `wrap`, or the model itself."""
        hook = getattr(importlib.import_module(self.model_module), "wrap", None)
        return model if hook is None else hook(model, config, task)
