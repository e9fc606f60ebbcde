"""GRU + self-attention priors: an optional conv front end, the GRU's size, attention heads and
width per head, pooling, plus training priors for attention models.

Show the priors and the size of the space with:

    tuner space attention
"""

from searchspaces import common
from tuner.spaces import Choice, IntRange, LogUniform, PerLayer, SearchSpace


def space() -> SearchSpace:
    return SearchSpace(
        {
            # 0 reads the raw channels; 1-2 conv blocks first extract local shapes (peaks,
            # slopes) for the GRU, the DeepConvLSTM recipe for accelerometer and sensor data
            "conv_blocks": IntRange(0, 2),
            "conv_filters": PerLayer(IntRange(16, 64, step=16), count="conv_blocks"),
            "conv_kernel": PerLayer(Choice([3, 5, 7]), count="conv_blocks"),
            # the GRU feeds a projection to at most 4 × 32 = 128 wide; wider GRUs cost time
            # (the recurrence is the slow part on CPUs) for features the projection squeezes out
            "hidden_size": IntRange(32, 128, step=32),
            "gru_layers": IntRange(1, 2),
            "bidirectional": Choice([False, True]),
            # attention width = heads × head_dim, so any pair is valid
            "heads": Choice([1, 2, 4]),
            "head_dim": Choice([8, 16, 32]),
            "pooling": Choice(["mean", "max"]),
            "downsample": common.downsample(),
            "dropout": common.dropout(0.3),
            **common.training(),
            # attention trains well with Adam-family optimizers at small steps; plain SGD and the
            # top of the shared range mostly waste trials (momentum drops out with SGD)
            "optimizer": Choice(["adam", "adamw"]),
            "lr": LogUniform(1e-4, 3e-3),
        },
        description="GRU then multi-head self-attention for sequences (T×C), padding masked",
    )
