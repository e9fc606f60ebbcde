"""ROCKET-family priors: which convolution transform, and the linear head's training.

The transform is aeon's (`tuner.models.aeon_fronts`): MiniRocket, MultiRocket, Hydra, or
MultiRocket and Hydra side by side, each at its published size; nothing in it trains, so a trial
fits a linear classifier on the transform's standardized features. Its head is either the
paper's ridge classifier, solved in closed form with its penalty picked by leave-one-out error
(nothing else to tune: such a trial is one epoch), or a linear layer trained by gradient
descent, where the learning rate and the L2 penalty (weight decay) are what matter. Adam-family
optimizers only: plain SGD on 10 000 features wants a much larger step and would waste trials.
The optimizer entries are sampled for ridge trials too and ignored there.

The original ROCKET (random kernels in torch) stays available as `transform = "rocket"`, with
`kernels` its kernel count.

Show the priors and the size of the space with:

    tuner space rocket
"""

from searchspaces import common
from tuner.spaces import Choice, IntRange, LogUniform, Uniform, When

TRANSFORMS = ["minirocket", "multirocket", "hydra", "multirocket_hydra"]


def space():
    from tuner.spaces import SearchSpace

    return SearchSpace(
        {
            # the authors' comparison ranks MultiRocket + Hydra first, then MultiRocket, then
            # MiniRocket, which is ~10 times cheaper; tuner drops those too slow for the data
            "transform": Choice(TRANSFORMS),
            # ROCKET's own kernel count, for transform = "rocket" (set in [space])
            "kernels": When(Choice([1000, 2000, 5000, 10000]), "transform", "rocket"),
            "head": Choice(["ridge", "linear"]),
            "dropout": Uniform(0.0, 0.5),
            "optimizer": Choice(["adam", "adamw"]),
            "lr": LogUniform(1e-4, 1e-2),
            "weight_decay": LogUniform(1e-5, 1e-1),
            "batch_size": common.training()["batch_size"],
            "lr_schedule": Choice(["none", "cosine", "plateau"]),
            "warmup_epochs": When(IntRange(0, 3), "lr_schedule", "cosine"),
        },
        description="A convolution transform (MiniRocket, MultiRocket, Hydra) with a linear "
                    "head, over sequences (T×C)",
        # configs saved before these were choices: ROCKET's kernels, a trained head
        defaults={"head": "linear", "transform": "rocket"},
    )


# ROCKET's transform, in multiply-adds a trial may spend on it (~15 s on one core)
ROCKET_MACS = 1.5e10
# aeon's transforms, seconds per series step on one core (fit + transform, measured on
# 300 series of 2 000 steps, 300 of 100 steps × 12 channels, 1 000 of 150 steps)
SECONDS_PER_STEP = {"minirocket": 5e-6, "multirocket": 4e-5, "hydra": 3e-5,
                    "multirocket_hydra": 7e-5}
TRANSFORM_SECONDS = 30.0  # what a trial may spend on its transforms
# the closed-form ridge head solves an eigenproblem in the smaller of examples and features;
# above this many training examples it would cost more than the transform
RIDGE_MAX_EXAMPLES = 4000


def derive(profile, space, where: str) -> list:
    """(key, value, reason): the transforms a trial can afford on data this size (ROCKET's
    kernel count, when it is searched, capped likewise), and the head the paper advises for
    the data's size."""
    found = []
    p = profile
    if "transform" in space.priors:
        # each trial transforms every example once per fold (a fold's front is fitted on its
        # own training rows)
        passes = round(p.examples / max(p.examples - p.n_fit, 1)) if p.n_fit > p.n_train else 1
        series_steps = p.examples * max(p.steps, 1) * passes
        given = [str(t) for t in space.priors["transform"].values()]
        fits = [t for t in given
                if SECONDS_PER_STEP.get(t, 0) * series_steps <= TRANSFORM_SECONDS]
        fits = fits or [min(given, key=lambda t: SECONDS_PER_STEP.get(t, 0))]
        if fits != given:
            left = ", ".join(t for t in given if t not in fits)
            found.append(("transform", {"choice": fits} if len(fits) > 1 else fits[0],
                          f"{p.examples} series × {p.steps} steps"
                          f"{f' × {passes} folds' if passes > 1 else ''}: {left} would take "
                          f"over {TRANSFORM_SECONDS:.0f} s of transform per trial on one core"))
    if "kernels" in space.priors and "rocket" in space.priors["transform"].values():
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
