"""Fine-tuning priors: how many of the source's conv blocks to freeze, the head, training.

The source model (a cnn `tuner train` wrote, `[model] weights` in the experiment) fixes the
architecture; what is left to tune is how much of it to keep fixed and how to train the rest.
`freeze_blocks` is fitted to the source's conv blocks by the experiment (0..3 here, the cnn
space's most). The learning rate range sits lower than from scratch: pretrained weights need
smaller steps, or the first epochs undo what the source learnt.

    tuner space finetune
    tuner space experiments/digits59_finetune.toml   # fitted to its source
"""

from searchspaces import common
from tuner.spaces import Choice, IntRange, LogUniform, SearchSpace, When


def space() -> SearchSpace:
    return SearchSpace(
        {
            "freeze_blocks": IntRange(0, 3),
            # replace: new output layer after the source's (trainable) dense layer;
            # extend: a new dense layer of extra_units between them
            "head": Choice(["replace", "extend"]),
            "extra_units": When(IntRange(32, 128, step=32), "head", "extend"),
            "dropout": common.dropout(0.5),
            **common.training(),
            "lr": LogUniform(3e-5, 3e-3),
        },
        description="Fine-tune a cnn model `tuner train` wrote ([model] weights): frozen "
                    "conv blocks, new head",
    )
