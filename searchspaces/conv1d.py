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


def receptive_field(blocks: int, kernel: int, growth: int) -> int:
    """Steps one output of `blocks` dilated conv blocks sees (block i dilated growth^i)."""
    return 1 + (kernel - 1) * sum(growth**i for i in range(blocks))


def derive(profile, space, where: str) -> list:
    """Dilated conv blocks against the series' length: an error when the space cannot fit the
    data at all, and dilation growths whose receptive field dwarfs the series left out."""
    from tuner.errors import UserError

    steps = profile.steps
    if not steps or not {"kernel_size", "dilation_growth", "conv_blocks"} <= set(space.priors):
        return []

    def values(key):
        q = space.priors[key]
        return [int(v) for v in q.values()] if q.discrete else [int(q.low), int(q.high)]

    blocks, kernels, growths = values("conv_blocks"), values("kernel_size"), \
        values("dilation_growth")
    smallest = receptive_field(min(blocks), min(kernels), min(growths))
    if smallest > steps:
        raise UserError(
            f"{where} kernel_size: the smallest receptive field the space allows "
            f"({smallest} steps: {min(blocks)} block(s), kernel {min(kernels)}, dilation growth "
            f"{min(growths)}) is longer than every series ({steps} steps); choose a smaller "
            f"kernel_size, dilation_growth or conv_blocks")
    if not space.priors["dilation_growth"].discrete:
        return []
    fits = [g for g in growths if receptive_field(max(blocks), min(kernels), g) <= 2 * steps]
    fits = fits or [min(growths)]
    if fits == growths:
        return []
    worst = max(set(growths) - set(fits))
    return [("dilation_growth", {"choice": fits},
             f"series of {steps} steps: with {max(blocks)} blocks, growth {worst} would see "
             f"{receptive_field(max(blocks), min(kernels), worst)} steps, mostly padding")]
