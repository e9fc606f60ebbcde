"""Final training: one config on train+valid for a fixed number of epochs, one test evaluation.

The test split is used exactly once, after training; nothing is selected on it. Writes
<experiment folder>/final/: model.pt (state_dict), config.toml, metrics.json, a TensorBoard run;
with several seeds, model.pt is their ensemble (tuner/models/ensemble.py: mean probabilities or
mean forecasts), seed_1 .. seed_N/ hold each seed's model and run, and metrics.json the
ensemble's test metrics, and the seeds' mean and sd. Unless told (`--seeds N`), the ensemble
has as many seeds as cost at most a quarter of the search's trial epochs, up to 5
(`auto_seeds`). Beside the model, on the same rows, the reference a user would otherwise reach
for (tuner/reference.py; `--no-reference` skips it): metrics.json keeps its figures under
"reference".
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from tuner.experiment import ExperimentSpec
from tuner.store import storage_root, to_toml
from tuner.store.storage import remote_storage


@dataclass
class Final:
    """What final training made: the trained model(s), the test metrics, the folder.

    `metrics`: each test metric of the saved model (the ensemble's when there are several
    seeds, then also in `ensemble`); `mean` and `sd` over the seeds with several;
    `reference`: the off-the-shelf model's test metrics on the same rows (with "model",
    "seconds", or "absent": why there is none); `diverged`: why training stopped, when it did
    (no model then)."""

    folder: Path
    epochs: int
    config: dict
    metrics: dict = field(default_factory=dict)
    sd: dict = field(default_factory=dict)
    ensemble: dict = field(default_factory=dict)
    models: list = field(default_factory=list)
    diverged: str = ""
    reference: dict = field(default_factory=dict)
    mean: dict = field(default_factory=dict)
    saved: object = None  # the model model.pt holds: the one seed's, or the ensemble

    @property
    def model(self):
        """The saved model (torch.nn.Module, in eval mode): the ensemble of the seeds when
        there are several (`models` holds each); None when training diverged."""
        return self.saved


MAX_SEEDS = 5  # an ensemble's gain flattens after a handful of members
SEED_SHARE = 0.25  # of the search's trial epochs, what the final ensemble may cost


def auto_seeds(search_epochs: int | None, epochs: int, rows: float) -> tuple[int, str]:
    """(seeds, why) when the user does not say: as many as train in at most SEED_SHARE of the
    epochs the search's trials ran (an epoch on train + valid costs `rows` times a trial's),
    from 1 to MAX_SEEDS. Counted in epochs, not seconds: the same search gives the same count
    on any machine."""
    if not search_epochs:
        return 1, "one seed: no search to size an ensemble by (--seeds N trains N)"
    cost = epochs * max(rows, 1.0)
    n = max(1, min(MAX_SEEDS, int(SEED_SHARE * search_epochs / cost)))
    if n == 1:
        return 1, (f"one seed: a second one's {epochs} epochs would take the final training "
                   f"past {SEED_SHARE:.0%} of the search's {search_epochs} trial epochs "
                   f"(--seeds N for an ensemble of N)")
    return n, (f"an ensemble of {n} seeds, at most {SEED_SHARE:.0%} of the search's "
               f"{search_epochs} trial epochs (--seeds N to choose)")


def train_final(spec: ExperimentSpec, config: dict, epochs: int, *, where: str,
                storage: str | None = None, out_dir: str | None = None, out=None,
                seeds: int | None = 1, reference: bool | None = None,
                search_epochs: int | None = None) -> Final:
    """Train `seeds` models, test once, write final/ (`tuner train`; tuner.train_final).

    With seeds > 1 each model has its own seed (its own initialization, batch order and, for
    ROCKET, kernels): model.pt is their ensemble (averaged probabilities, or averaged
    forecasts), whose test metrics are printed first, then the seeds' mean ± sd;
    seed_<i>/model.pt holds each. seeds=None: `auto_seeds` of the search's `search_epochs`.
    `Final.diverged` says why training stopped, if it did.
    """
    from tuner.plan import resolve

    out = out or sys.stdout
    plan = resolve(spec)
    spec, data = plan.spec, plan.data
    active = plan.space.check(config, where=where)
    target = Path(out_dir) if out_dir else storage_root(storage) / spec.name / "final"
    auto, why_seeds = seeds is None, ""
    if auto:
        seeds, why_seeds = auto_seeds(search_epochs, epochs,
                                      (len(data.x_train) + len(data.x_valid)) / len(data.x_train))
    device = _device(spec, out)
    fit_rows, test = _tensors(data, device)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    print(f"final training: {spec.name}, {epochs} epoch{'s' if epochs != 1 else ''} on "
          f"train+valid ({len(fit_rows[0])} examples)"
          f"{f', {seeds} seeds' if seeds > 1 else ''}, then one evaluation on the "
          f"{len(data.x_test)} held-out test examples", file=out)
    if why_seeds:
        print(f"seeds  {why_seeds}", file=out)
    runs = []
    start = time.perf_counter()
    for i in range(seeds):
        run = _train_seed(spec, active, data, fit_rows, test, epochs, i, seeds, target, out)
        if isinstance(run, str):
            return Final(target, epochs, active, diverged=run)
        runs.append(run)
        if auto and i == 1 and _same_model(runs, target, out):
            runs, seeds = runs[:1], 1
            break
    results = {"train_examples": len(fit_rows[0]),
               "train_seconds": round(time.perf_counter() - start, 2)}
    done, outputs = _test_results(runs, data, test, results, out)
    saved = runs[0].model
    if seeds > 1:
        import torch

        from tuner.models.ensemble import Ensemble

        saved = Ensemble([r.model for r in runs], data.task == "classification").eval()
        torch.save(saved.state_dict(), target / "model.pt")
    if reference is None:
        reference = os.environ.get("TUNER_REFERENCE", "on").lower() not in ("off", "0", "no")
    if reference:
        _reference(spec, data, test, done[0], outputs, results, out)
    _save(target, spec, {"epochs": epochs, "seed": runs[0].seed, "seeds": seeds, "where": where,
                         "config": active}, data, results)
    files = "model.pt" + (f" (the ensemble), seed_1..{seeds}/" if seeds > 1 else "")
    print(f"wrote  {target}/ ({files}, config.toml, metrics.json, TensorBoard run)", file=out)
    remote = None if out_dir else remote_storage(storage)
    if remote is not None:
        remote.push(target.parent, spec.name, only=target.name)
        print(f"       and to {remote.uri(spec.name, target.name)}/", file=out)
    metrics, sd, ensemble, mean = done
    return Final(target, epochs, active, metrics, sd, ensemble, models=[r.model for r in runs],
                 reference=results.get("reference", {}), mean=mean, saved=saved)


def _same_model(runs: list, target: Path, out) -> bool:
    """Whether the first two seeds made the same model (a closed-form or statistical one, no
    random part): then the first is kept as the one model, its files moved up from seed_1/."""
    import torch

    if not torch.equal(runs[0].outputs, runs[1].outputs):
        return False
    shutil.rmtree(target / "seed_2")
    for f in (target / "seed_1").iterdir():
        f.rename(target / f.name)
    (target / "seed_1").rmdir()
    print("seeds  the second seed trained the same model as the first (nothing in this config "
          "depends on the seed): one model kept", file=out)
    return True


class SeedRun(NamedTuple):
    """One seed's final model: its seed, its test outputs and metrics, the model."""

    seed: int
    outputs: object  # torch.Tensor
    metrics: dict
    model: object  # torch.nn.Module, in eval mode


def _device(spec: ExperimentSpec, out):
    """One model at a time, one process: the whole GPU when there is one, unless "cpu"."""
    from tuner.training.loop import pick_device

    wanted = spec.resources.device
    device = pick_device(0.0 if wanted in ("cpu", "mps") else 1.0, wanted)
    if wanted in ("cuda", "mps") and device.type != wanted:
        print(f'device = "{wanted}", but torch sees no such device here: training on the CPU',
              file=out)
    return device


def _tensors(data, device) -> tuple[tuple, tuple]:
    """(x, y, lengths) of train + valid joined, and of test, as tensors on `device`."""
    import torch

    def joined(i):
        a, b = data.part("train")[i], data.part("valid")[i]
        return None if a is None else torch.as_tensor(np.concatenate([a, b])).to(device)

    test = tuple(None if a is None else torch.as_tensor(a).to(device)
                 for a in data.part("test"))
    return (joined(0), joined(1), joined(2)), test


def _train_seed(spec, active: dict, data, fit_rows: tuple, test: tuple, epochs: int, i: int,
                seeds: int, target: Path, out):
    """The i-th seed's model trained and tested once, or why training diverged."""
    import torch
    from torch.utils.tensorboard import SummaryWriter

    from tuner.training.build import build_training
    from tuner.training.loop import config_seed, seed_everything

    seed = config_seed(spec.search.seed, active) + i
    seed_everything(seed)
    # The LR schedule runs over the trials' horizon (max_epochs) and stops at `epochs`, as the
    # chosen trial's did at its best epoch: a cosine squeezed into those epochs would decay to
    # zero early and train the model less than the one validation picked.
    parts = build_training(spec.factory, active, data, fit_rows,
                           epochs=max(epochs, spec.search.max_epochs), seed=seed,
                           device=fit_rows[0].device)
    folder = target if seeds == 1 else target / f"seed_{i + 1}"
    writer = SummaryWriter(str(folder))
    diverged = _train(parts, epochs, writer, out)
    if diverged:
        return diverged
    outputs = parts.predict(test[0], test[2])
    m = _test_metrics(outputs, test[1], data)
    for k, v in m.items():
        writer.add_scalar(f"test/{k}", v, epochs)
    writer.close()
    torch.save(parts.model.state_dict(), folder / "model.pt")
    return SeedRun(seed, outputs, m, parts.model.eval())


def _test_results(runs: list, data, test: tuple, results: dict, out) -> tuple:
    """Print the test figures (with several seeds, the ensemble's, then each seed's mean ±
    sd) and add them to `results`; ((metrics, sd, ensemble, mean) for the Final, the saved
    model's test outputs)."""
    if len(runs) == 1:
        results.update({f"test_{k}": v for k, v in runs[0].metrics.items()})
        print("test   " + _line(runs[0].metrics), file=out)
        done, outputs = (dict(runs[0].metrics), {}, {}, {}), runs[0].outputs
    else:
        names = list(runs[0].metrics)
        values = {k: np.array([r.metrics[k] for r in runs]) for k in names}
        mean = {k: float(v.mean()) for k, v in values.items()}
        sd = {k: float(v.std(ddof=1)) for k, v in values.items()}
        outputs = _task(data).ensemble([r.outputs for r in runs])
        ensemble = _test_metrics(outputs, test[1], data)
        results.update({f"test_{k}": v for k, v in ensemble.items()})
        results.update(seeds=[{"seed": r.seed, **{f"test_{k}": v for k, v in r.metrics.items()}}
                              for r in runs],
                       seed_mean={f"test_{k}": v for k, v in mean.items()},
                       test_sd={f"test_{k}": v for k, v in sd.items()},
                       ensemble={f"test_{k}": v for k, v in ensemble.items()})
        print(f"test   the ensemble of the {len(runs)} seeds (model.pt): " + _line(ensemble),
              file=out)
        print("       each seed, mean ± sd: " + " · ".join(
            f"{k} {mean[k]:.4f} ± {sd[k]:.4f}" for k in names), file=out)
        done = (ensemble, sd, ensemble, mean)
    baseline = _task(data).baseline(test[0], test[1])
    if baseline is not None:
        what, naive_outputs = baseline
        naive = _test_metrics(naive_outputs, test[1], data)
        results["naive"] = {f"test_{k}": v for k, v in naive.items()}
        print(f"naive  {what}, on the same test windows: " + _line(naive)
              + " (the bar to clear: MASE's scale is the naive error on the training part)",
              file=out)
    return done, outputs


def _reference(spec, data, test: tuple, tuned: dict, outputs, results: dict, out) -> None:
    """Fit the reference on train + valid, test it on the same rows, print its line and how
    the tuned model (`outputs`: the saved model's, the ensemble with several seeds) compares
    on the search's metric, and add it to `results`."""
    from tuner.reference import fit_reference

    ref = fit_reference(data, spec.search.seed)
    if ref.outputs is None:
        results["reference"] = {"model": None, "absent": ref.absent}
        print(f"ref    {ref.absent}", file=out)
        return
    m = _test_metrics(ref.outputs, test[1].cpu(), data)
    if data.task == "classification":
        m.pop("loss")  # a ridge head gives classes, not probabilities: no comparable loss
    results["reference"] = {"model": ref.name, "seconds": round(ref.seconds, 2),
                            **{f"test_{k}": v for k, v in m.items()}}
    print(f"ref    {ref.name}, same rows, {ref.seconds:.1f} s: " + _line(m), file=out)
    metric = {"val_loss": "loss"}.get(spec.search.metric, spec.search.metric)
    if metric in m and metric in tuned:
        gap = tuned[metric] - m[metric]
        better = gap > 0 if spec.search.mode == "max" else gap < 0
        se = _paired_se(data, metric, outputs.cpu(), ref.outputs, test[1].cpu())
        verdict = ("a tie within the test split's noise" if se is not None and abs(gap) <= se
                   else "the tuned model is ahead" if better else "the reference is ahead")
        print(f"       tuned − reference: {gap:+.4f} {metric}"
              f"{f' (paired standard error {se:.4f})' if se is not None else ''}: {verdict}",
              file=out)
        results["reference"]["verdict"] = verdict


def _paired_se(data, metric: str, tuned, ref, y) -> float | None:
    """How far apart the two models' figures on these test rows may be by chance: the
    standard error of the mean per-example difference (right or wrong for accuracy, absolute
    error for MAE and MASE); None for metrics that are not a mean over examples."""
    from tuner.training.tasks import original_units

    if metric == "accuracy":
        d = ((tuned.argmax(dim=1) == y).double() - (ref.argmax(dim=1) == y).double())
    elif metric in ("mae", "mase") and data.task != "classification":
        truth = original_units(y.float().reshape(len(y), -1), data)

        def errors(o):
            return (original_units(o.float().reshape(truth.shape), data) - truth).abs().mean(1)

        d = (errors(tuned) - errors(ref)).double()
        if metric == "mase":
            d = d / (data.naive_mae or 1.0)
    else:
        return None
    return float(d.std() / np.sqrt(len(d))) if len(d) > 1 else 0.0


def _task(data):
    from tuner.training.tasks import TASKS

    return TASKS[data.task]


def _test_metrics(outputs, y, data) -> dict:
    """The task's metrics on the test split, without the standard errors of validation."""
    m = {k: v for k, v in _task(data).evaluate(outputs, y, data).items()
         if not k.endswith("_se")}
    m["loss"] = m.pop("val_loss")
    return m


def _line(m: dict) -> str:
    return " · ".join(f"{k} {v:.4f}" for k, v in m.items())


def _save(target: Path, spec: ExperimentSpec, run: dict, data, results: dict) -> None:
    """config.toml (what rebuilds the model) and metrics.json."""
    (target / "config.toml").write_text(to_toml(
        {"experiment": spec.name, "factory": spec.factory, "epochs": run["epochs"],
         "seed": run["seed"], "seeds": run["seeds"], "input_shape": list(data.input_shape),
         "classes": list(data.classes), "config": run["config"]},
        f"Config of the final model (from {run['where']})"))
    summary = {"experiment": spec.name, "task": data.task, "epochs": run["epochs"],
               "train_examples": results.pop("train_examples"),
               "test_examples": len(data.x_test), **results}
    (target / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    if data.tokenizer:  # text: what turns new texts into the model's ids
        (target / TOKENIZER_FILE).write_text(data.tokenizer)


TOKENIZER_FILE = "tokenizer.json"


def _train(parts, epochs: int, writer, out) -> str:
    """The epochs on train+valid; why it stopped when the loss diverged, else ""."""
    import numpy as np

    from tuner.training.loop import train_epoch

    for epoch in range(1, epochs + 1):
        lr = parts.schedule.lr
        loss = train_epoch(parts.fit, parts.batches, parts.optimizer, parts.loss_fn)
        writer.add_scalar("loss/train", loss, epoch)
        writer.add_scalar("lr", lr, epoch)
        if not np.isfinite(loss):
            why = f"training diverged: loss {loss} at epoch {epoch} (lr={lr:.3g})"
            print(why, file=out)
            writer.close()
            return why
        # no validation split here: reduce-on-plateau follows the training loss
        parts.schedule.step(loss)
    return ""
