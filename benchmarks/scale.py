"""Many short trials: does tuner's cost per trial stay at Ray Tune's own floor as a search grows?

Searches of a tiny MLP on scikit-learn's digits (2 epochs a trial, HyperOpt + FIFO), one after
another: tuner at 100, 500 and 2000 trials, and the same search written the plain way with Ray
Tune at its fastest (function trainable, reuse_actors=True, a checkpoint every epoch) at 100 and
500. For each: wall, ideal (compute inside the trials ÷ slots), overhead in ms per trial per
slot, the driver's CPU seconds per trial and peak RSS, the searcher's own suggest time, and the
cost per trial of the last 10 % of trials against the first 10 %. Then `tuner status`, `best`,
`results` and `report` on the largest experiment, timed.

    python benchmarks/scale.py                      # 100, 500, 2000 (about 25 minutes)
    python benchmarks/scale.py --sizes 100 500 --plain 100 500
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import ROOT, machine  # noqa: E402

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # local Ray on loopback only

EXPERIMENT = """name = "{name}"
[data]
source = "digits"
[model]
factory = "mlp"
[space]
module = "mlp"
layers = 2
units = {{ int = [16, 64], step = 16 }}
batch_size = {{ choice = [64, 128] }}
lr_schedule = "none"
[search]
searcher = "hyperopt"
scheduler = "fifo"
metric = "accuracy"
samples = {samples}
max_epochs = 2
seed = 0
"""


def decile_ratio(ends: list[float]) -> tuple[float, float, float]:
    """(s per trial over the first 10 % of trial endings, over the last 10 %, their ratio)."""
    ends = sorted(ends)
    k = max(2, len(ends) // 10)
    first = (ends[k - 1] - ends[0]) / (k - 1)
    last = (ends[-1] - ends[-k]) / (k - 1)
    return first, last, last / first if first > 0 else float("nan")


def tuner_search(n: int, storage: Path) -> dict:
    name = f"scale_{n}"
    exp = storage / f"{name}.toml"
    exp.write_text(EXPERIMENT.format(name=name, samples=n))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tuner", "run", str(exp), "--storage", str(storage)],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    folder = storage / name
    timing = json.loads((folder / "timing.json").read_text())
    records = json.loads((folder / "trials.json").read_text())
    ends = []
    for r in sorted(folder.glob("trial_*/result.json")):
        lines = r.read_text().splitlines()
        if lines:
            ends.append(json.loads(lines[-1])["timestamp"])
    compute = sum(r["compute_s"] for r in records)
    search = timing["finished_at"] - timing["search_started_at"]
    return {"who": "tuner", "trials": n, "wall_s": wall, "search_s": search,
            "ideal_s": compute / timing["slots"], "slots": timing["slots"],
            "driver_cpu_s": timing.get("driver_cpu_s"),
            "peak_rss_mb": timing.get("driver_peak_rss_mb"),
            "suggest_s": timing.get("searcher_suggest_s"), "ends": ends, "folder": folder}


def plain_trainable(config, data):
    import torch
    from ray import tune
    from torch import nn

    torch.set_num_threads(1)
    x_train, y_train, x_valid, y_valid = (torch.as_tensor(a) for a in data)
    model = nn.Sequential(nn.Linear(64, config["units"]), nn.ReLU(),
                          nn.Linear(config["units"], config["units"]), nn.ReLU(),
                          nn.Linear(config["units"], 10))
    opt = torch.optim.Adam(model.parameters(), lr=config["lr"])
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(2):
        start = time.perf_counter()
        model.train()
        perm = torch.randperm(len(x_train))
        for i in range(0, len(x_train), config["batch_size"]):
            idx = perm[i:i + config["batch_size"]]
            opt.zero_grad()
            loss_fn(model(x_train[idx]), y_train[idx]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            out = model(x_valid)
            acc = (out.argmax(1) == y_valid).float().mean().item()
        seconds = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as d:
            torch.save({"model": model.state_dict(), "epoch": epoch}, os.path.join(d, "c.pt"))
            tune.report({"accuracy": acc, "compute_s": seconds},
                        checkpoint=tune.Checkpoint.from_directory(d))


def plain_search(n: int, storage: Path) -> dict:
    """The plain Ray Tune script, in this process's child (its own Ray)."""
    out = subprocess.run([sys.executable, __file__, "--plain-child", str(n), "--storage",
                          str(storage)], cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def plain_child(n: int, storage: Path) -> None:
    import numpy as np
    import ray
    from ray import tune
    from ray.tune.search.hyperopt import HyperOptSearch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    x_train, x_valid, y_train, y_valid = train_test_split(x, y, train_size=0.7, stratify=y,
                                                          random_state=0)
    ray.init(_node_ip_address="127.0.0.1", include_dashboard=False, logging_level="ERROR",
             log_to_driver=False)
    space = {"units": tune.choice([16, 32, 48, 64]), "lr": tune.loguniform(1e-4, 3e-2),
             "batch_size": tune.choice([64, 128])}
    searcher = HyperOptSearch(metric="accuracy", mode="max", random_state_seed=0)
    suggest = [0.0]
    inner = searcher.suggest

    def timed(trial_id):
        t = time.perf_counter()
        try:
            return inner(trial_id)
        finally:
            suggest[0] += time.perf_counter() - t

    searcher.suggest = timed
    tuner = tune.Tuner(
        tune.with_parameters(plain_trainable, data=(x_train, y_train, x_valid, y_valid)),
        param_space=space,
        tune_config=tune.TuneConfig(search_alg=searcher, num_samples=n, reuse_actors=True,
                                    max_concurrent_trials=2),
        # Ray Tune's default CheckpointConfig (every checkpoint kept): its fastest; tuner keeps
        # one per trial, which makes Tune save its experiment state at every checkpoint
        run_config=tune.RunConfig(name=f"plain_{n}", storage_path=str(storage), verbose=0),
    )
    start = time.perf_counter()
    grid = tuner.fit()
    search = time.perf_counter() - start
    compute = 0.0
    ends = []
    for r in grid:
        df = r.metrics_dataframe
        compute += float(df["compute_s"].sum())
        ends.append(float(df["timestamp"].iloc[-1]))
    u = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"who": "plain Ray Tune", "trials": n, "wall_s": search, "search_s": search,
                      "ideal_s": compute / 2, "slots": 2,
                      "driver_cpu_s": u.ru_utime + u.ru_stime,
                      "peak_rss_mb": u.ru_maxrss / 1024, "suggest_s": suggest[0],
                      "ends": ends}))


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def row(r: dict) -> str:
    n = r["trials"]
    overhead_ms = (r["search_s"] - r["ideal_s"]) / n * r["slots"] * 1000
    first, last, ratio = decile_ratio(r["ends"])
    suggest = f"{r['suggest_s']:.1f} s" if r.get("suggest_s") is not None else "–"
    return (f"| {r['who']} | {n} | {r['search_s']:.1f} s | {r['ideal_s']:.1f} s | "
            f"{overhead_ms:.0f} | {r['driver_cpu_s'] / n * 1000:.0f} ms | "
            f"{r['peak_rss_mb']:.0f} MB | {suggest} | {first * 1000:.0f} → {last * 1000:.0f} ms "
            f"({ratio:.2f}×) |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 2000])
    p.add_argument("--plain", type=int, nargs="*", default=[100, 500])
    p.add_argument("--storage")
    p.add_argument("--plain-child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.plain_child:
        plain_child(args.plain_child, Path(args.storage))
        return
    print(machine())
    print(f"command: python benchmarks/scale.py --sizes {' '.join(map(str, args.sizes))} "
          f"--plain {' '.join(map(str, args.plain))}")
    with tempfile.TemporaryDirectory() as tmp:
        storage = Path(args.storage or tmp)
        rows = []
        for n in args.sizes:
            rows.append(tuner_search(n, storage))
            print(row(rows[-1]), flush=True)
        for n in args.plain:
            rows.append(plain_search(n, storage))
            print(row(rows[-1]), flush=True)
        print("\n| search | trials | search wall | ideal | overhead (ms / trial / slot) | "
              "driver CPU per trial | driver peak RSS | suggest | per trial, first → last "
              "10 % |\n|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(row(r))
        largest = max((r for r in rows if r["who"] == "tuner"), key=lambda r: r["trials"])
        name, where = largest["folder"].name, ["--storage", str(storage)]
        tuner = [sys.executable, "-m", "tuner"]
        reading = {
            "status": timed([*tuner, "status", name, *where]),
            "best": timed([*tuner, "best", name, *where]),
            "results": timed([*tuner, "results", name, "-o", str(storage / "t.csv"), *where]),
            "report": timed([*tuner, "report", name, *where]),
        }
        print(f"\nreading the {largest['trials']}-trial experiment: " + " · ".join(
            f"tuner {k} {v:.2f} s" for k, v in reading.items()))


if __name__ == "__main__":
    main()
