"""ROCKET priors: how many random kernels, and the linear head's training.

The kernels are fixed (drawn from each trial's seed), so a trial only fits a linear classifier on
standardized kernel features: the learning rate and the L2 penalty (weight decay, ridge's alpha)
are what matter. Adam-family optimizers only: plain SGD on 10 000 features wants a much larger
step and would waste trials.

Show the priors and the size of the space with:

    tuner space rocket
"""

from searchspaces import common
from tuner.spaces import Choice, IntRange, LogUniform, Uniform, When


def space():
    from tuner.spaces import SearchSpace

    return SearchSpace(
        {
            # 2 features per kernel; the paper's default is 10 000 kernels. On long series tuner
            # caps this by the cost of the transform (see `tuner run --dry-run`).
            "kernels": Choice([1000, 2000, 5000, 10000]),
            "dropout": Uniform(0.0, 0.5),
            "optimizer": Choice(["adam", "adamw"]),
            "lr": LogUniform(1e-4, 1e-2),
            "weight_decay": LogUniform(1e-5, 1e-1),
            "batch_size": common.training()["batch_size"],
            "lr_schedule": Choice(["none", "cosine", "plateau"]),
            "warmup_epochs": When(IntRange(0, 3), "lr_schedule", "cosine"),
        },
        description="Random convolution kernels (ROCKET) with a linear head, over sequences (T×C)",
    )
