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


# ROCKET's transform, in multiply-adds a trial may spend on it (~15 s on one core)
ROCKET_MACS = 1.5e10
# the closed-form ridge head solves an eigenproblem in the smaller of examples and features;
# above this many training examples it would cost more than the transform
RIDGE_MAX_EXAMPLES = 4000


def derive(profile, space, where: str) -> list:
    """(key, value, reason): the kernel count capped by the cost of the transform, and the
    head the paper advises for the data's size."""
    found = []
    p = profile
    if "kernels" in space.priors:
        cost = max(p.examples, 1) * max(p.steps, 1) * 11 * max(p.channels, 1)
        cap = ROCKET_MACS / cost
        kernels = [int(k) for k in space.priors["kernels"].values()]
        fits = [k for k in kernels if k <= cap] or [max(100, int(cap // 100 * 100))]
        if fits != kernels:
            found.append(("kernels", {"choice": fits},
                          f"the transform of {p.examples} series × {p.steps} steps × "
                          f"{p.channels} channel(s) costs {cost:.3g} multiply-adds per kernel; "
                          f"at most {max(fits)} kernels keep it to ~15 s per trial"))
    if "head" in space.priors:
        # the paper's own advice: ridge on small sets, a trained (logistic) head on large
        # ones. A trained head on tens of series has its epoch count picked on a few
        # validation examples, and its test accuracy then moved by ±0.03 between seeds
        if p.n_fit <= RIDGE_MAX_EXAMPLES:
            found.append(("head", "ridge", f"{p.n_fit} training examples per model: the ridge "
                                           f"classifier, solved in closed form with its penalty "
                                           f"picked by leave-one-out error, as ROCKET's authors "
                                           f"advise for sets this size (nothing to train epoch "
                                           f"by epoch)"))
        else:
            found.append(("head", "linear", f"{p.n_fit} training examples per model: a head "
                                            f"trained by gradient descent (the closed-form "
                                            f"ridge head is for sets of up to "
                                            f"{RIDGE_MAX_EXAMPLES})"))
    return found
