"""Text-classifier priors: the architecture (a bag of n-grams, a recurrent net or attention over
token embeddings), its shape, and training. The vocabulary's size and the tokens a sequence
model reads come from the data.

Show the priors and the size of the space with:

    tuner space text
"""

from searchspaces import common
from tuner.spaces import Choice, Fixed, IntRange, LogUniform, SearchSpace, When


def space() -> SearchSpace:
    return SearchSpace(
        {
            # a TF-IDF bag of n-grams is the fast, strong baseline; recurrent nets and attention
            # read word order, which pays off with many texts (see derive below)
            "arch": Choice(["bag", "rnn", "attention"]),
            # derived from the tokenizer trained on the training texts (see derive below)
            "vocab_size": Fixed(20000),
            # the bag maps n-grams straight to class scores: no embedding width of its own
            "embed_dim": When(Choice([32, 64, 128]), "arch", ("rnn", "attention")),
            # the first tokens of a text a recurrent or attention model reads (the bag reads
            # all): derived from the training texts' lengths
            "tokens": When(Fixed(256), "arch", ("rnn", "attention")),
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


# Below this many training texts, TF-IDF n-grams with a linear classifier match or beat
# recurrent and convolutional nets trained from scratch (Zhang, Zhao & LeCun 2015, "Character-
# level Convolutional Networks for Text Classification": n-gram TF-IDF wins on every set up to
# 120 000 texts; Wang & Manning 2012 on sentiment snippets and reviews), at a small fraction of
# their cost.
SEQUENCE_TEXTS = 100_000
MIN_TOKENS, MAX_TOKENS = 8, 400  # what a recurrent or attention model reads of a text


def derive(profile, space, where: str) -> list:
    """(key, value, reason): the embedding table sized to the tokenizer's vocabulary; the
    architecture from the number of training texts; the tokens a sequence model reads from
    their lengths."""
    found = []
    if profile.vocab and "vocab_size" in space.priors:
        found.append(("vocab_size", profile.vocab,
                      f"the tokenizer trained on the training texts holds {profile.vocab} "
                      f"tokens"))
    arch = space.priors.get("arch")
    if arch is not None and arch.discrete and len(arch.values()) > 1 \
            and "bag" in arch.values() and profile.n_fit < SEQUENCE_TEXTS:
        found.append(("arch", "bag",
                      f"{profile.n_fit:,} training texts: below {SEQUENCE_TEXTS:,}, TF-IDF "
                      f"n-grams match or beat recurrent and attention nets trained from "
                      f"scratch at a fraction of the cost; to tune them anyway set [space] arch"))
        return found  # the sequence models' priors are inactive
    if profile.typical_tokens and "tokens" in space.priors:
        read = max(MIN_TOKENS, min(MAX_TOKENS, profile.typical_tokens))
        capped = f" (at most {MAX_TOKENS}: attention costs their square)" * (
            read < profile.typical_tokens)
        found.append(("tokens", read,
                      f"95 % of the training texts hold at most {profile.typical_tokens} tokens"
                      f": recurrent and attention models read the first {read}{capped}, the "
                      f"bag all"))
    return found
