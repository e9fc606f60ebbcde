"""Text: reviews and documents from a table's text column or a folder of .txt files per class,
tokenized on the training split only.

A tokenizer (Hugging Face `tokenizers`: a word vocabulary, or BPE / WordPiece subwords) is
trained on the training texts alone; every text becomes token ids padded to the longest
training text (at most 1 024 tokens), with its true length kept, so a recurrent model packs and
attention masks the padding. The bag of n-grams reads every token; recurrent and attention
models read the first `tokens` (a prior derived from the training texts' 95th percentile): a
rare class of long texts (plot summaries among review snippets) keeps its words for the bag.
The ids are int32 (N, L): one copy in Ray's object store serves every trial. The trained
tokenizer travels with the data (its JSON), so final training saves it beside the model.

    [data]
    path = "reviews.csv"        # a table: its text column is detected, or named:
    text = "review"
    target = "label"
    tokenizer = "word"          # word (default) | bpe | wordpiece
    vocab = 20000               # the most frequent tokens kept (default: derived, ≤ 20 000)
    length = 300                # tokens kept of a text (default: the longest training text)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tuner.errors import UserError

TOKENIZERS = ("word", "bpe", "wordpiece")
MAX_VOCAB = 20000  # a word vocabulary larger than this rarely helps a model trained from scratch
# the times a word must occur in the training texts to enter the vocabulary (else [UNK]): every
# word, as scikit-learn's vectorizers keep them (the vocabulary cap drops the rarest first); a
# subword merge seen once is noise, so pieces need two
MIN_COUNT = {"word": 1, "bpe": 2, "wordpiece": 2}
MAX_LENGTH = 1024  # tokens kept of a text: the ids stay (N, ≤ 1024) int32
PAD, UNK = "[PAD]", "[UNK]"  # ids 0 and 1


def train_tokenizer(texts: list[str], kind: str, vocab: int):
    """A `tokenizers.Tokenizer` trained on `texts`: lower-cased, split on whitespace and
    punctuation, then words (kind "word") or subword pieces ("bpe", "wordpiece")."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    model, trainer = {"word": (models.WordLevel, trainers.WordLevelTrainer),
                      "bpe": (models.BPE, trainers.BpeTrainer),
                      "wordpiece": (models.WordPiece, trainers.WordPieceTrainer)}[kind]
    tok = Tokenizer(model(unk_token=UNK))
    trainer = trainer(vocab_size=vocab, min_frequency=MIN_COUNT[kind], show_progress=False,
                      special_tokens=[PAD, UNK])
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, clean_text=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def encode(tok, texts: list[str], length: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids int32 (N, length) padded with 0, true lengths ≥ 1) of `texts`."""
    return pack(tok.encode_batch(texts), length)


def pack(encoded: list, length: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, lengths) of texts the tokenizer encoded, cut or padded to `length`."""
    ids = np.zeros((len(encoded), length), dtype=np.int32)
    lengths = np.ones(len(encoded), dtype=np.int64)
    for i, e in enumerate(encoded):
        row = e.ids[:length]
        if row:
            ids[i, :len(row)] = row
            lengths[i] = len(row)
        else:  # an empty text: one unknown token, so every model has a step to read
            ids[i, 0] = 1
    return ids, lengths


def tokenize(texts: np.ndarray, parts: tuple, *, kind: str, vocab: int | None,
             length: int | None) -> dict:
    """Train on the training part's texts, encode all: {"ids", "lengths", "tokenizer" (its
    JSON), "vocab_size", "length", "note"}."""
    tok = train_tokenizer([str(t) for t in texts[parts[0]]], kind, vocab or MAX_VOCAB)
    encoded = tok.encode_batch([str(t) for t in texts])  # once: the length is derived from it
    if length is None:
        longest = max(len(encoded[i].ids) for i in parts[0])
        length = max(1, min(longest, MAX_LENGTH))
        how = "the longest training text" + (f" is {longest}" if longest > MAX_LENGTH else "")
    else:
        how = "[data] length"
    ids, lengths = pack(encoded, length)
    size = tok.get_vocab_size()
    cut = float(np.mean([len(e.ids) > length for e in encoded]))
    unit = {"word": "words", "bpe": "BPE pieces", "wordpiece": "WordPiece pieces"}[kind]
    least = MIN_COUNT[kind]
    note = (f"tokenized on the training texts only: {size} {unit} (seen ≥ {least} "
            f"time{'s' * (least > 1)}"
            f"{f', at most {vocab or MAX_VOCAB}' if size >= (vocab or MAX_VOCAB) else ''}), "
            f"texts padded to {length} tokens ({how}{f'; {cut:.0%} cut' if cut else ''})")
    return {"ids": ids, "lengths": lengths, "tokenizer": tok.to_str(), "vocab_size": size,
            "length": length, "note": note}


def text_splits(at: str, name: str, texts: np.ndarray, y: np.ndarray, task: str | None,
                split, seed: int, options: dict, where: str, *, notes: str = "",
                parts=None):
    """Classification splits of texts and their labels (stratified 70/15/15 unless `parts`
    gives train/valid/test indices), tokenized on the training part."""
    from tuner.data.arrays import check_class_counts, class_labels
    from tuner.data.splits import Splits, stratified_split

    if task not in (None, "classification"):
        raise UserError(f"{where} task: text is classified here, but task = {task!r}; drop task "
                        f"or set task = 'classification'")
    texts = np.asarray(["" if t is None or (isinstance(t, float) and t != t) else str(t)
                        for t in texts], dtype=object)  # a missing cell (None, NaN): empty
    empty = int(sum(not t.strip() for t in texts))
    if empty == len(texts):
        raise UserError(f"{at}: no text in any row; give the column (or files) that hold the "
                        f"texts")
    classes, y_idx = class_labels(y)
    if len(classes) < 2:
        raise UserError(f"{at}: every text has the label {classes[0]!r}; classification needs "
                        f"at least two classes")
    check_class_counts(at, y_idx, classes, split, "add texts, drop the class or change [data] "
                       "split")
    if parts is None:
        parts = stratified_split(y_idx, split, seed, where=at)
    kind = options.get("tokenizer") or "word"
    if kind not in TOKENIZERS:
        raise UserError(f"{where} tokenizer: must be one of {', '.join(TOKENIZERS)}, but got "
                        f"{kind!r}")
    vocab, length = options.get("vocab"), options.get("length")
    for key, value, low in (("vocab", vocab, 10), ("length", length, 1)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < low):
            raise UserError(f"{where} {key}: must be an integer ≥ {low}, but got {value!r}")
    done = tokenize(texts, parts, kind=kind, vocab=vocab, length=length)
    ids, lengths = done["ids"], done["lengths"]
    said = [notes, done["note"]]
    if empty:
        said.append(f"{empty} empty text(s) read as one unknown token")
    tr, va, te = parts
    return Splits(
        name, "classification", ids[tr], y_idx[tr], ids[va], y_idx[va], ids[te], y_idx[te],
        classes=classes, lengths_train=lengths[tr], lengths_valid=lengths[va],
        lengths_test=lengths[te], notes="; ".join(t for t in said if t),
        vocab_size=done["vocab_size"], tokenizer=done["tokenizer"])


# ---------------------------------------------------------------- a folder of .txt files

def is_text_folder(path: Path) -> bool:
    """A folder whose class sub-folders (or train/ and test/ folders of them) hold .txt files
    and nothing else."""
    from tuner.data.images import _split_folders, _subfolders

    roots = list(_split_folders(path).values()) or [path]
    files = [p for r in roots for c in _subfolders(r) for p in c.rglob("*") if p.is_file()
             and not p.name.startswith(".")]
    return bool(files) and all(p.suffix.lower() == ".txt" for p in files)


def _read(at: str, path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UserError(f"{at}: {path} is not UTF-8 text (byte {e.start}); save it as UTF-8 "
                        f"or remove it") from None
    except OSError as e:
        raise UserError(f"{at}: {path}: cannot be read ({e.strerror})") from None


def load_text_folder(*, path: Path, raw: str, split, seed: int, where: str, options: dict,
                     task: str | None):
    """Splits of a folder of .txt files, one sub-folder per class (train/ and test/ folders
    of them used as given; no valid/: the split's share of train/, stratified)."""
    from concurrent.futures import ThreadPoolExecutor

    from tuner.data.images import _split_folders, _subfolders
    from tuner.data.splits import stratified_holdout

    at = f"{where} path: {raw}"
    given = _split_folders(path)
    roots = given or {"all": path}
    rows = []  # (part, class, file)
    for part, root in roots.items():
        classes = _subfolders(root)
        if len(classes) < 2:
            raise UserError(f"{at}: {root} holds {len(classes)} class folder(s); put each "
                            f"class's .txt files in a sub-folder named after it (at least two)")
        for c in classes:
            rows += [(part, c.name, p) for p in sorted(c.rglob("*.txt"))]
    with ThreadPoolExecutor(8) as pool:
        texts = np.asarray(list(pool.map(lambda r: _read(at, r[2]), rows)), dtype=object)
    labels = np.asarray([c for _, c, _ in rows])
    part_of = np.asarray([p for p, _, _ in rows])
    parts = None
    note = f"{len(rows)} .txt files in {len(set(labels))} class folders"
    if given:
        from tuner.data.arrays import class_labels

        _, y_idx = class_labels(labels)
        train = np.flatnonzero(part_of == "train")
        test = np.flatnonzero(part_of == "test")
        if "valid" in given:
            valid = np.flatnonzero(part_of == "valid")
        else:
            keep, held = stratified_holdout(y_idx[train], split[1] / (split[0] + split[1]),
                                            seed, where=at)
            train, valid = train[keep], train[held]
        parts = (train, valid, test)
        note += (f", {'/'.join(p for p in ('train', 'valid', 'test') if p in given)} folders "
                 f"used as given")
    return text_splits(at, path.name, texts, labels, task, split, seed, options, where,
                       notes=note, parts=parts)
