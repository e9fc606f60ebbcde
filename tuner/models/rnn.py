"""Recurrent factory: a stacked GRU, LSTM or plain RNN read up to each sequence's true length,
pooled over time (last valid step, or masked mean / max), then a linear head.

Config keys: cell (gru | lstm | rnn), hidden_size, layers, dropout, bidirectional, pooling
(last | mean | max), downsample (average every k steps first; default 1). Padded batches are
packed, so the padding never enters the recurrence.
"""

from __future__ import annotations

import torch
from torch import nn

from tuner.models.layers import (
    choose,
    downsample,
    factor_of,
    pool_recurrent,
    run_recurrent,
    sequence_shape,
    true_lengths,
)

CELLS = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}
POOLING = ("last", "mean", "max")


class RecurrentNet(nn.Module):
    def __init__(
        self, rnn: nn.RNNBase, pooling: str, dropout: float, n_outputs: int, factor: int = 1
    ):
        super().__init__()
        self.rnn, self.pooling, self.factor = rnn, pooling, factor
        self.hidden = rnn.hidden_size
        width = rnn.hidden_size * (2 if rnn.bidirectional else 1)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(width, n_outputs)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        x, lengths = downsample(x, lengths, self.factor)
        lengths = true_lengths(x, lengths)
        out = run_recurrent(self.rnn, x, lengths)
        return self.head(self.dropout(pool_recurrent(out, lengths, self.rnn, self.pooling)))


def build(config: dict, input_shape: tuple, n_outputs: int) -> nn.Module:
    """A recurrent net for (T, C) sequences; config e.g. {'cell': 'gru', 'layers': 2, ...}."""
    _, channels = sequence_shape("rnn", input_shape)
    layers = int(config["layers"])
    dropout = float(config.get("dropout", 0.0))
    rnn = CELLS[choose(config, "cell", tuple(CELLS))](
        channels,
        int(config["hidden_size"]),
        num_layers=layers,
        batch_first=True,
        # torch applies this between stacked layers only (and warns when there is one layer)
        dropout=dropout if layers > 1 else 0.0,
        bidirectional=bool(config.get("bidirectional", False)),
    )
    # The same rate before the head, so that `dropout` regularizes one-layer nets too instead
    # of being a dimension the searcher tunes for nothing.
    return RecurrentNet(rnn, choose(config, "pooling", POOLING), dropout, n_outputs,
                        factor_of(config))
