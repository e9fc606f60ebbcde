"""Table priors: a dense network or gradient-boosted trees, the family itself a tuned choice.

Neither wins on every table: boosted trees on mixed, unevenly informative columns (the
common case: Grinsztajn et al. 2022), a dense net on many like columns (pixels, embeddings).
The search tries both on the validation part instead of tuner guessing, as the forecast
family does for its models. The dense net has one width for all its layers (so that its
priors stay one level of conditions deep); the trees' priors are `searchspaces/trees.py`'s.
The training priors are sampled for tree trials too and ignored there.

    tuner space table
"""

from searchspaces import common, trees
from tuner.spaces import Choice, Fixed, IntRange, SearchSpace, When


def space() -> SearchSpace:
    mlp = {
        "layers": IntRange(1, 3),
        "units": IntRange(32, 512, step=32),
        "activation": common.activation(),
        "dropout": common.dropout(0.5),
    }
    return SearchSpace(
        {
            "family": Choice(["mlp", "trees"]),
            **{k: When(p, "family", "mlp") for k, p in mlp.items()},
            **{k: When(p, "family", "trees") for k, p in trees.priors().items()},
            "rounds": When(Fixed(20), "family", "trees"),
            **common.training(),
        },
        description="Tables: a dense network (MLP) or gradient-boosted trees, the family tuned "
                    "with the rest",
    )
