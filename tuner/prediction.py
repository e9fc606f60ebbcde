"""Classify new texts with a model `tuner train` wrote: its final/ folder holds the weights
(model.pt), what rebuilds the model (config.toml) and the tokenizer trained on the training
texts (tokenizer.json).

    tuner predict results/reviews/final reviews.txt      # one text per line
    tuner.predict("results/reviews/final", ["a warm, funny film", "dull and far too long"])
"""

from __future__ import annotations

from pathlib import Path

from tuner.errors import UserError

BATCH = 256


def predict(folder, texts: list[str]) -> list[dict]:
    """One {"label", "probability", "text"} per text: the most likely class and its
    probability, from the final model in `folder` (a final/ folder, or an experiment folder
    holding one)."""
    import numpy as np
    import torch
    from tokenizers import Tokenizer

    from tuner.data.text import encode
    from tuner.final import TOKENIZER_FILE
    from tuner.models import build_model
    from tuner.models.source import read_source

    folder = Path(folder)
    if not (folder / "config.toml").exists() and (folder / "final" / "config.toml").exists():
        folder = folder / "final"
    elif not (folder / "config.toml").exists() and (folder / "trials.json").exists():
        raise UserError(f"predict: {folder}: the experiment {folder.name!r} has no final model "
                        f"yet; run `tuner train --from {folder.name}` (in Python: "
                        f"tuner.train_final({folder.name!r})) first")
    source = read_source(str(folder), where="predict", factories=("text",))
    if not (folder / TOKENIZER_FILE).exists():
        raise UserError(f"predict: {folder / TOKENIZER_FILE}: not found; `tuner train` writes "
                        f"it beside a text model: train the experiment again")
    texts = ["" if t is None else str(t) for t in texts]
    if not texts:
        return []
    tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
    ids, lengths = encode(tokenizer, texts, int(source.input_shape[0]))
    from tuner.models.ensemble import Ensemble

    def one():
        return build_model(source.factory, source.config, source.input_shape,
                           len(source.classes))

    # with several seeds, model.pt holds their ensemble
    model = one() if source.seeds == 1 else Ensemble([one() for _ in range(source.seeds)],
                                                     probabilities=True)
    model.load_state_dict(torch.load(folder / "model.pt", weights_only=True))
    model.eval()
    probs = []
    with torch.no_grad():
        for i in range(0, len(texts), BATCH):
            out = model(torch.as_tensor(ids[i:i + BATCH]),
                        torch.as_tensor(lengths[i:i + BATCH]))
            probs.append(torch.softmax(out, dim=1).numpy())
    p = np.concatenate(probs)
    best = p.argmax(axis=1)
    return [{"label": source.classes[k], "probability": float(p[i, k]), "text": texts[i]}
            for i, k in enumerate(best)]


def read_texts(path: str) -> list[str]:
    """The texts of a file: one per line (blank lines skipped), UTF-8."""
    p = Path(path)
    try:
        raw = p.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"predict: {path}: no such file; give a text file, one text per line"
                        ) from None
    except UnicodeDecodeError as e:
        raise UserError(f"predict: {path} is not UTF-8 text (byte {e.start}); save it as "
                        f"UTF-8") from None
    except OSError as e:
        raise UserError(f"predict: {path}: cannot be read ({e.strerror})") from None
    return [line for line in raw.splitlines() if line.strip()]
