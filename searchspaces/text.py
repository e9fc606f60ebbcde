"""Text-classifier priors: the architecture (a bag of n-grams, a recurrent net or attention over
token embeddings), its shape, and training. The vocabulary's size comes from the data.

Show the priors and the size of the space with:

    tuner space text
"""

from searchspaces import common
from tuner.spaces import Choice, Fixed, IntRange, LogUniform, SearchSpace, When


def space() -> SearchSpace:
    return SearchSpace(
        {
            # the bag of n-grams is the fast, strong baseline on short texts; recurrent nets and
            # attention read word order, which long reviews reward
            "arch": Choice(["bag", "rnn", "attention"]),
            # derived from the tokenizer trained on the training texts (see derive below)
            "vocab_size": Fixed(20000),
            "embed_dim": Choice([32, 64, 128]),
            # word pairs ("not good") hashed into their own embeddings
            "bigrams": When(Choice([False, True]), "arch", "bag"),
            "cell": When(Choice(["gru", "lstm"]), "arch", "rnn"),
            "hidden_size": When(IntRange(32, 128, step=32), "arch", "rnn"),
            "bidirectional": When(Choice([False, True]), "arch", "rnn"),
            "pooling": When(Choice(["last", "mean", "max"]), "arch", "rnn"),
            "heads": When(Choice([2, 4]), "arch", "attention"),
            "encoder_layers": When(IntRange(1, 2), "arch", "attention"),
            # embeddings of tens of thousands of words overfit a few thousand texts quickly
            "dropout": common.dropout(0.5),
            **common.training(),
            # a bag of embeddings trains well at large steps, recurrent nets and attention at
            # small ones: one log range covers both
            "lr": LogUniform(1e-4, 3e-2),
        },
        description="text classifier on token ids: bag of n-grams, (bi)GRU/LSTM or attention",
    )


def derive(profile, space, where: str) -> list:
    """(key, value, reason): the embedding table sized to the tokenizer's vocabulary."""
    if profile.vocab and "vocab_size" in space.priors:
        return [("vocab_size", profile.vocab,
                 f"the tokenizer trained on the training texts holds {profile.vocab} tokens")]
    return []
