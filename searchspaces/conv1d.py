"""Dilated 1-D CNN priors: conv blocks with filters per block, kernel, dilation growth, causal
padding, masked global pooling and a dense head, plus the shared training priors.

Show the priors and the size of the space with:

    tuner space conv1d
"""

from searchspaces import common
from tuner.spaces import Choice, Fixed, IntRange, PerLayer, SearchSpace


def space() -> SearchSpace:
    return SearchSpace(
        {
            "conv_blocks": IntRange(1, 4),
            "filters": PerLayer(IntRange(16, 128, step=16), count="conv_blocks"),
            # odd kernels keep 'same' padding symmetric
            "kernel_size": Choice([3, 5, 7]),
            # dilation of block i is growth ** i: 1 is a plain stack; 2 and 4 widen the receptive
            # field geometrically, so 3-4 blocks see a few hundred steps
            "dilation_growth": Choice([1, 2, 4]),
            # causal padding is a property of the problem (a streaming model must not see the
            # future), not a knob: with global pooling over a given window it only removes
            # context. Set causal = true in the experiment's [space] when the model must be causal.
            "causal": Fixed(False),
            "batch_norm": Choice([True, False]),
            "activation": common.activation(),
            "dropout": common.dropout(0.5),
            "global_pool": Choice(["avg", "max"]),
            "dense_units": IntRange(32, 256, step=32),
            **common.training(),
        },
        description="Dilated 1-D convolutions over sequences (T×C), masked global pooling",
    )
