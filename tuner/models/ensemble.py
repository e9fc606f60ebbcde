"""Several trained models of one config answering as one: the final model `tuner train` saves
when it trains several seeds.

Lakshminarayanan, Pritzel & Blundell (2017), "Simple and scalable predictive uncertainty
estimation using deep ensembles": models that differ only in their seed (initialization, batch
order, a random front's kernels) err on different examples, and their average beats a typical
member. A classifier's members are combined by their mean class probabilities (the output is
its log, read as logits: softmax gives the mean back), a regressor's or forecaster's by their
mean prediction; the same combination `tuner train` tests (Task.ensemble).
"""

from __future__ import annotations

import torch
from torch import nn


class Ensemble(nn.Module):
    """(inputs) → the members' combined output; `probabilities`: classifiers' logits."""

    def __init__(self, members: list[nn.Module], probabilities: bool):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)
        self.probabilities = bool(probabilities)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        outs = [m(x) if lengths is None else m(x, lengths) for m in self.members]
        return combine(outs, self.probabilities)


def combine(outputs: list, probabilities: bool) -> torch.Tensor:
    """The members' outputs as one: log of the mean softmax, or the mean."""
    stacked = torch.stack([o.float() for o in outputs])
    if probabilities:
        return torch.log(torch.softmax(stacked, dim=-1).mean(dim=0).clamp(min=1e-12))
    return stacked.mean(dim=0)
