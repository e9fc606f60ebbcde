"""ROCKET priors: how many random kernels, and the linear head's training.

The kernels are fixed (drawn from each trial's seed), so a trial only fits a linear classifier on
standardized kernel features. Its head is either the paper's ridge classifier, solved in closed
form with its penalty picked by leave-one-out error (nothing else to tune: such a trial is one
epoch), or a linear layer trained by gradient descent, where the learning rate and the L2
penalty (weight decay) are what matter. Adam-family optimizers only: plain SGD on 10 000
features wants a much larger step and would waste trials. The optimizer entries are sampled
for ridge trials too and ignored there.

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
            "head": Choice(["ridge", "linear"]),
            "dropout": Uniform(0.0, 0.5),
            "optimizer": Choice(["adam", "adamw"]),
            "lr": LogUniform(1e-4, 1e-2),
            "weight_decay": LogUniform(1e-5, 1e-1),
            "batch_size": common.training()["batch_size"],
            "lr_schedule": Choice(["none", "cosine", "plateau"]),
            "warmup_epochs": When(IntRange(0, 3), "lr_schedule", "cosine"),
        },
        description="Random convolution kernels (ROCKET) with a linear head, over sequences (T×C)",
        defaults={"head": "linear"},  # configs saved before the ridge head was a choice
    )
