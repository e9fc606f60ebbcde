"""Gradient-boosted trees priors: the shrinkage, the size of each tree, its regularization.

Each epoch adds `rounds` boosting rounds (scikit-learn's HistGradientBoosting, warm-started), so
the budget's epochs are rounds and ASHA stops a trial's boosting as it stops a net's training.
The training priors of the nets (optimizer, batch size, LR schedule) mean nothing here and are
fixed.

    tuner space trees
"""

from tuner.spaces import Choice, Fixed, LogUniform, SearchSpace, Uniform


def priors() -> dict:
    """The trees' own priors (the `table` family offers them beside a dense net's)."""
    return {
        # each round's shrinkage: smaller steps need more rounds and generalize better
        "learning_rate": LogUniform(0.01, 0.3),
        # leaves per tree (31 is scikit-learn's and LightGBM's default)
        "max_leaf_nodes": Choice([7, 15, 31, 63, 127]),
        # rows a leaf must hold: larger values smooth small, noisy tables
        "min_samples_leaf": Choice([2, 5, 10, 20, 40]),
        "l2_regularization": LogUniform(1e-4, 10.0),
        # the share of columns each split may use (column subsampling, as in random forests)
        "max_features": Uniform(0.3, 1.0),
    }


def space() -> SearchSpace:
    return SearchSpace(
        {
            **priors(),
            "rounds": Fixed(20),  # boosting rounds per epoch
            "optimizer": Fixed("adam"),
            "lr": Fixed(1e-3),
            "batch_size": Fixed(256),  # how many rows a loss is measured on at a time
            "lr_schedule": Fixed("none"),
        },
        description="Gradient-boosted trees (scikit-learn's HistGradientBoosting) over flat "
                    "features, boosted by epochs",
    )
