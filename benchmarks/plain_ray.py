"""The digits CNN search written the plain way with Ray Tune, as a course script would.

Function trainable, Ray Tune's default settings (a new worker process per trial, no actor
reuse), HyperOpt TPE + ASHA, data passed with `tune.with_parameters`, a DataLoader over
tensors, a checkpoint every epoch. The search space mirrors searchspaces/cnn.py flattened (the
plain way has no conditional dimensions). benchmarks/speed.py runs it beside `tuner run`.

    python benchmarks/plain_ray.py --samples 32 --epochs 20

Prints one JSON line: wall_s (the whole script), search_s (Tuner.fit), compute_s (training +
validation time measured inside the trials), slots, ratio (search_s over compute_s / slots),
best_accuracy, trials.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

# a local Ray on 127.0.0.1 only (Ray 2.60 on Linux otherwise listens on every interface)
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


def load_digits_splits(seed: int = 0):
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, train_size=0.70, stratify=y, random_state=seed
    )
    x_valid, _, y_valid, _ = train_test_split(
        x_rest, y_rest, train_size=0.5, stratify=y_rest, random_state=seed
    )
    return x_train, y_train, x_valid, y_valid


def build_cnn(config: dict):
    from torch import nn

    acts = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "gelu": nn.GELU}
    layers, channels, size = [], 1, 8
    for i in range(config["conv_blocks"]):
        filters = config[f"filters_{i + 1}"]
        k = config["kernel_size"]
        layers.append(nn.Conv2d(channels, filters, k, padding=k // 2))
        if config["batch_norm"]:
            layers.append(nn.BatchNorm2d(filters))
        layers.append(acts[config["activation"]]())
        if size >= 2:
            layers.append(nn.MaxPool2d(2))
            size //= 2
        channels = filters
    return nn.Sequential(
        *layers,
        nn.Flatten(),
        nn.Dropout(config["dropout"]),
        nn.Linear(channels * size * size, config["dense_units"]),
        acts[config["activation"]](),
        nn.Dropout(config["dropout"]),
        nn.Linear(config["dense_units"], 10),
    )


def train_digits(config: dict, data=None, max_epochs: int = 20):
    import torch
    from ray import tune
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    x_train, y_train, x_valid, y_valid = data
    torch.manual_seed(0)
    model = build_cnn(config)
    if config["optimizer"] == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=config["momentum"],
                              weight_decay=config["weight_decay"])
    else:
        cls = torch.optim.Adam if config["optimizer"] == "adam" else torch.optim.AdamW
        opt = cls(model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"])
    loader = DataLoader(TensorDataset(torch.tensor(x_train), torch.tensor(y_train)),
                        batch_size=config["batch_size"], shuffle=True)
    xv, yv = torch.tensor(x_valid), torch.tensor(y_valid)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(max_epochs):
        start = time.perf_counter()
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            out = model(xv)
            val_loss = loss_fn(out, yv).item()
            accuracy = (out.argmax(1) == yv).float().mean().item()
        compute = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as d:
            torch.save({"model": model.state_dict(), "epoch": epoch}, os.path.join(d, "ckpt.pt"))
            tune.report({"val_loss": val_loss, "accuracy": accuracy, "epoch_time_s": compute},
                        checkpoint=tune.Checkpoint.from_directory(d))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--storage", default=None)
    args = ap.parse_args()

    started = time.perf_counter()  # imports, data and Ray's start count, as for `tuner run`
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.hyperopt import HyperOptSearch

    ray.init(_node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False)
    space = {
        "conv_blocks": tune.randint(1, 4),
        "filters_1": tune.qrandint(16, 96, 16),
        "filters_2": tune.qrandint(16, 96, 16),
        "filters_3": tune.qrandint(16, 96, 16),
        "kernel_size": tune.choice([3, 5]),
        "batch_norm": tune.choice([True, False]),
        "dense_units": tune.qrandint(32, 256, 32),
        "activation": tune.choice(["relu", "leaky_relu", "elu", "gelu"]),
        "dropout": tune.uniform(0.0, 0.5),
        "optimizer": tune.choice(["adam", "adamw", "sgd"]),
        "lr": tune.loguniform(3e-4, 3e-2),
        "momentum": tune.uniform(0.8, 0.99),
        "weight_decay": tune.loguniform(1e-6, 1e-2),
        "batch_size": tune.choice([32, 64, 128, 256]),
    }
    trainable = tune.with_parameters(train_digits, data=load_digits_splits(),
                                     max_epochs=args.epochs)
    tuner = tune.Tuner(
        trainable,
        param_space=space,
        tune_config=tune.TuneConfig(
            metric="accuracy",
            mode="max",
            search_alg=HyperOptSearch(random_state_seed=args.seed),
            scheduler=ASHAScheduler(max_t=args.epochs, grace_period=2, reduction_factor=3),
            num_samples=args.samples,
        ),
        run_config=tune.RunConfig(
            name="plain_ray_digits",
            storage_path=args.storage or tempfile.mkdtemp(prefix="plain_ray_"),
            verbose=0,
        ),
    )
    fit_started = time.perf_counter()
    results = tuner.fit()
    search = time.perf_counter() - fit_started
    wall = time.perf_counter() - started
    slots = int(ray.cluster_resources().get("CPU", 1))
    compute = sum(float(r.metrics_dataframe["epoch_time_s"].sum()) for r in results
                  if r.metrics_dataframe is not None)
    best = results.get_best_result(metric="accuracy", mode="max", scope="all")
    best_acc = float(best.metrics_dataframe["accuracy"].max())
    print(json.dumps({"wall_s": round(wall, 1), "search_s": round(search, 1),
                      "compute_s": round(compute, 1), "slots": slots,
                      "ratio": round(search / (compute / slots), 2),
                      "best_accuracy": round(best_acc, 4), "trials": len(results)}))
    ray.shutdown()


if __name__ == "__main__":
    main()
