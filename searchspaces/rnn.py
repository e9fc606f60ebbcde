"""Recurrent-net priors: cell, width, depth, direction and pooling over time, plus training.

Show the priors and the size of the space with:

    tuner space rnn
"""

from searchspaces import common
from tuner.spaces import Choice, IntRange, LogUniform, SearchSpace


def space() -> SearchSpace:
    return SearchSpace(
        {
            # the plain RNN is a cheap baseline that holds up on short windows; gated cells
            # carry information over the hundreds of steps where it forgets
            "cell": Choice(["gru", "lstm", "rnn"]),
            "hidden_size": IntRange(32, 256, step=32),
            # past three stacked layers recurrent nets rarely improve and train slowly on CPUs
            "layers": IntRange(1, 3),
            "bidirectional": Choice([False, True]),
            "pooling": Choice(["last", "mean", "max"]),
            "downsample": common.downsample(),
            # between stacked layers and before the head; above ~0.3 recurrent nets underfit
            "dropout": common.dropout(0.3),
            **common.training(),
            # the loop does not clip gradients, and recurrent nets blow up at the large steps
            # the shared range allows
            "lr": LogUniform(1e-4, 1e-2),
        },
        description="GRU / LSTM / RNN for sequences (T×C), padded ones read to their lengths",
    )
