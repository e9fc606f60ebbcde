"""Transformer-encoder priors: heads, width per head (d_model = heads × head_dim), depth,
feed-forward width, positions and pooling, plus training priors for transformers.

Show the priors and the size of the space with:

    tuner space transformer
"""

from searchspaces import common
from tuner.spaces import Choice, IntRange, LogUniform, SearchSpace


def space() -> SearchSpace:
    return SearchSpace(
        {
            # d_model = heads × head_dim (8..128) divides by the heads for every sample
            "heads": Choice([1, 2, 4]),
            "head_dim": Choice([8, 16, 32]),
            "blocks": IntRange(1, 3),
            # feed-forward width as a multiple of d_model; 4 is the paper's choice
            "ff_mult": Choice([2, 4]),
            "dropout": common.dropout(0.3),
            "positional": Choice(["sinusoidal", "learned"]),
            "pooling": Choice(["mean", "cls"]),
            "downsample": common.downsample(),
            **common.training(),
            # transformers train well with Adam-family optimizers at small steps; plain SGD and
            # the top of the shared range mostly waste trials (momentum drops out with SGD)
            "optimizer": Choice(["adam", "adamw"]),
            "lr": LogUniform(1e-4, 3e-3),
        },
        description="Transformer encoder for sequences (T×C), padding masked",
    )
