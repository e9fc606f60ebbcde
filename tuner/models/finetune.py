"""Fine-tuning factory: a model `tuner train` wrote, its first conv blocks frozen, a new head.

The source is the folder `tuner train` writes, <storage>/<experiment>/final/: `model.pt` (a
state_dict) and `config.toml` (its factory, config, input shape and classes; see
tuner.models.source). The factory rebuilds the source model with the source's factory and
config, loads the weights with `torch.load(..., weights_only=True)`, then, from the trial's
config:

- `freeze_blocks` (0 .. the source's conv blocks): the first N conv blocks are frozen. A block
  of the cnn factory is one conv → [batch norm] → activation → [2×2 max-pool] group. Frozen
  parameters have requires_grad False (so `make_optimizer` leaves them out: no updates, no
  weight decay) and frozen batch norms stay in eval mode (`FineTuned.train`): their running
  statistics stay the source's.
- `head`: "replace" keeps the source's hidden dense layer (pretrained, trainable) and puts a new
  output layer sized for the target's classes after it; "extend" adds a new dense layer of
  `extra_units` (the source's activation, dropout after it) between the two.
- `dropout`: the rate of every dropout layer in the head.

Only the folder's path travels with a trial (`config["weights"]`, fixed in the experiment's
space): every worker loads the weights itself, so the folder must be readable where trials run.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from tuner.errors import UserError
from tuner.models import InfeasibleConfig, build_model
from tuner.models.source import (
    CONFIG_FILE,
    WEIGHTS_KEY,
    Source,
    read_source,
    train_hint,
)

HEADS = ("replace", "extend")


class FineTuned(nn.Module):
    """Conv blocks, the first `frozen` of them frozen, then the head."""

    def __init__(self, blocks: list[nn.Module], head: nn.Sequential, frozen: int):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.head = head
        self.frozen = int(frozen)
        for block in self.blocks[: self.frozen]:
            block.requires_grad_(False)
        self.train()

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return self.head(x)

    def train(self, mode: bool = True):
        # frozen blocks always run as at inference: batch norm normalizes with the source's
        # running statistics and never updates them
        super().train(mode)
        for block in self.blocks[: self.frozen]:
            block.train(False)
        return self


def load_source(src: Source, *, where: str = "[model] weights") -> nn.Module:
    """The source model, rebuilt from its config.toml and loaded (weights_only) from model.pt."""
    again = train_hint(src.folder).replace(" first", " again")
    cfg, pt = src.folder / CONFIG_FILE, src.one_model  # an ensemble's: its first seed
    try:
        model = build_model(src.factory, src.config, src.input_shape, len(src.classes))
    except (KeyError, ValueError, TypeError, InfeasibleConfig) as e:
        raise UserError(f"{where}: {cfg}: cannot rebuild the source model from it "
                        f"({type(e).__name__}: {e}); {again}") from None
    try:
        state = torch.load(pt, map_location="cpu", weights_only=True)
    except Exception as e:  # any unreadable file is the same problem to the user
        raise UserError(f"{where}: {pt}: not a state_dict torch loads with weights_only=True "
                        f"({type(e).__name__}); {again}") from None
    if not isinstance(state, dict):
        raise UserError(f"{where}: {pt}: holds a {type(state).__name__}, not a state_dict; "
                        f"{again}")
    from tuner.models.images import unwrapped_state

    state = unwrapped_state(state)  # the net's weights; its input layer is the new data's
    want = model.state_dict()
    problems = [f"missing {k}" for k in want if k not in state]
    problems += [f"unexpected {k}" for k in state if k not in want]
    problems += [
        f"{k} is {_dims(state[k])}, not {_dims(v)}"
        for k, v in want.items()
        if k in state and (not torch.is_tensor(state[k]) or state[k].shape != v.shape)
    ]
    if problems:
        more = f", and {len(problems) - 1} more" if len(problems) > 1 else ""
        raise UserError(f"{where}: {pt} does not match the model {CONFIG_FILE} describes "
                        f"({problems[0]}{more}); both must come from one `tuner train`: {again}")
    model.load_state_dict(state)
    return model


def _dims(t) -> str:
    return "×".join(map(str, t.shape)) if torch.is_tensor(t) else type(t).__name__


def conv_blocks(features: nn.Sequential) -> list[nn.Sequential]:
    """The cnn factory's `features` cut into blocks: each starts at a Conv2d and runs to the
    next one (conv → [batch norm] → activation → [max-pool])."""
    blocks: list[list[nn.Module]] = []
    for m in features:
        if isinstance(m, nn.Conv2d) or not blocks:
            blocks.append([])
        blocks[-1].append(m)
    return [nn.Sequential(*b) for b in blocks]


def new_head(head: nn.Sequential, config: dict, n_outputs: int) -> nn.Sequential:
    """The source's head with a new output layer ("replace") or a new dense layer before it
    ("extend"); every dropout at the config's rate (the source's when it has none)."""
    layers = list(head)
    last = layers.pop()
    if not isinstance(last, nn.Linear):  # pragma: no cover - the cnn factory ends in a Linear
        raise TypeError(f"the source head ends in {type(last).__name__}, not a Linear layer")
    rates = [m.p for m in layers if isinstance(m, nn.Dropout)]
    p = float(config.get("dropout", rates[0] if rates else 0.0))
    for m in layers:
        if isinstance(m, nn.Dropout):
            m.p = p
    width = last.in_features
    kind = config.get("head", "replace")
    if kind not in HEADS:
        raise ValueError(f"head must be one of {list(HEADS)}, but got {kind!r}")
    if kind == "extend":
        act = next(m for m in layers if not isinstance(m, nn.Flatten | nn.Dropout | nn.Linear))
        units = int(config["extra_units"])
        layers += [nn.Linear(width, units), copy.deepcopy(act), nn.Dropout(p)]
        width = units
    layers.append(nn.Linear(width, n_outputs))
    return nn.Sequential(*layers)


def assemble(source_model: nn.Module, config: dict, n_outputs: int) -> FineTuned:
    """A fine-tuned model from a cnn-factory model (loaded, or freshly initialized for a
    from-scratch baseline with the same layout)."""
    blocks = conv_blocks(source_model.features)
    frozen = int(config.get("freeze_blocks", 0))
    if not 0 <= frozen <= len(blocks):
        raise InfeasibleConfig(f"freeze_blocks = {frozen}, but the source model has "
                               f"{len(blocks)} conv block(s)")
    return FineTuned(blocks, new_head(source_model.head, config, n_outputs), frozen)


def build(config: dict, input_shape: tuple, n_outputs: int) -> FineTuned:
    """The fine-tuned model for one trial's config (see the module docstring)."""
    if WEIGHTS_KEY not in config:
        raise InfeasibleConfig(
            "the finetune factory needs config['weights'], the folder `tuner train` wrote; an "
            "experiment with [model] factory = \"finetune\" and weights = \"...\" sets it"
        )
    src = read_source(config[WEIGHTS_KEY])
    if tuple(input_shape) != src.input_shape:
        raise InfeasibleConfig(
            f"the source model takes inputs shaped {'×'.join(map(str, src.input_shape))}, "
            f"but the data is {'×'.join(map(str, input_shape))}"
        )
    return assemble(load_source(src), config, n_outputs)
