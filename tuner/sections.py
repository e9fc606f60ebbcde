"""The sections of an experiment file ([data], [search], [resources], [logging]): their typed
values and the checks that read them. Each error names the file (or the flag), the key, the rule
and the fix."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from tuner.checks import (
    Interval,
    Options,
    choice,
    constraint,
    read_fields,
    section,
    typed,
)
from tuner.errors import UserError
from tuner.flags import by_key, schedulers, searchers
from tuner.vocabulary import MODES

# [data] keys beside source and split; each data source checks the ones it uses
DATA_OPTIONS = ("dataset", "valid", "normalize", "path", "task", "target", "window", "horizon",
                "time_column", "value_column", "transform", "examples", "size", "classes",
                "layout", "text", "tokenizer", "vocab", "length")
DEVICES = ("auto", "cuda", "mps", "cpu")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class DataSpec:
    source: str = "digits"
    split: tuple[float, float, float] = (0.70, 0.15, 0.15)
    # source-specific keys (dataset, path, window, ...), checked by the source's loader
    options: dict = field(default_factory=dict)
    # folds of train + valid each trial cross-validates on; 1 = the validation split alone;
    # None = tuner decides from the data (tuner.auto.choose_folds)
    folds: int | None = None


def _mode(mode: str, where: str, values: dict) -> None:
    if mode not in ("min", "max"):
        raise UserError(f"{where}: must be 'min' or 'max', but got {mode!r}")
    better = MODES[values["metric"]]
    if mode != better:
        raise UserError(
            f"{where}: {values['metric']} is better when "
            f"{'higher' if better == 'max' else 'lower'}, so mode must be {better!r}, but got "
            f"{mode!r}"
        )


@dataclass(frozen=True)
class SearchSpec:
    searcher: str = constraint("hyperopt", Options(searchers, "searcher"))
    scheduler: str = constraint("asha", Options(schedulers, "scheduler"))
    metric: str = constraint("val_loss",
                             Options(lambda: list(MODES), "metric (the trial reports these)"))
    mode: str = constraint("min", _mode)  # follows from the metric when the file leaves it out
    samples: int = constraint(20, Interval(1, 100_000, "set how many trials to run"))
    max_epochs: int = constraint(20, Interval(1, 100_000, "set the epochs per trial"))
    seed: int = constraint(0, Interval(0, 2**32 - 1, "use a non-negative integer"))
    # ASHA / median: epochs every trial gets before it can be stopped
    grace_period: int = constraint(2, Interval(1, "max_epochs", "it must not exceed max_epochs"))
    # Hyperband family: keep the best 1/reduction_factor at each rung
    reduction_factor: int = constraint(3, Interval(2, 100, "3 or 4 are usual"))
    # 0 = as many as the cluster's CPUs (and GPUs) allow
    max_concurrent: int = constraint(0, Interval(0, 10_000, "0 means as many as fit"))
    # random configs before TPE takes over; 0 = a quarter of the samples (between 3 and 10)
    initial_points: int = constraint(0, Interval(0, 100_000, "0 means automatic"))
    # retries of a trial after a crash (resumes from its last checkpoint)
    max_failures: int = constraint(0, Interval(0, 1000, "0 means no retries"))
    # wall-clock budget of the search in seconds: no new trials after it, running ones stop;
    # 0 = no limit (samples and max_epochs bound the search)
    time_budget: int = constraint(0, Interval(0, 10**8, "seconds; 0 means no limit"))


@dataclass(frozen=True)
class Resources:
    cpu: float = constraint(1.0, Interval(0.01, 1024, "CPUs per trial, e.g. 1"))
    # a share of one GPU per trial: 0.125 packs 8 trials on each GPU
    gpu: float = constraint(0.0, Interval(0, 64, "GPUs per trial, e.g. 0.25 to share one"))
    # auto: CUDA when the cluster has GPUs (one per trial unless `gpu` says a share), else CPU
    device: str = "auto"


def data_section(raw: dict, path: str) -> DataSpec:
    from tuner.data import SOURCES

    d = section(raw, "data", path,
                {"source": 0, "split": 0, "folds": 0, **{k: 0 for k in DATA_OPTIONS}})
    source = typed(d, "source", "file" if "path" in d else "digits", f"{path}: [data] source")
    choice(source, sorted(SOURCES), f"{path}: [data] source", "data source")
    split = d.get("split", [0.70, 0.15, 0.15])
    if (
        not isinstance(split, list)
        or len(split) != 3
        or not all(isinstance(f, (int, float)) and not isinstance(f, bool) for f in split)
    ):
        raise UserError(
            f"{path}: [data] split: must be three fractions [train, valid, test], "
            f"but got {split!r}"
        )
    if not all(0 < f < 1 for f in split) or abs(sum(split) - 1) > 1e-6:
        raise UserError(
            f"{path}: [data] split: fractions must each be in (0, 1) and sum to 1, but got "
            f"{split!r}; e.g. [0.70, 0.15, 0.15]"
        )
    folds = d.get("folds")
    if folds is not None and (not isinstance(folds, int) or isinstance(folds, bool)
                              or not 1 <= folds <= 100):
        raise UserError(f"{path}: [data] folds: must be an integer from 1 (no cross-validation) "
                        f"to 100, e.g. 5, but got {folds!r}; leave it out to let tuner decide")
    return DataSpec(source=source, split=tuple(float(f) for f in split),
                    options={k: v for k, v in d.items() if k in DATA_OPTIONS}, folds=folds)


def _label(path: str, name: str, where_prefix: str | None):
    """How a message names a key of section `name`: the file's key, or the flag that set it."""
    if where_prefix is None:
        return lambda k: f"{path}: [{name}] {k}"
    flags = by_key(name)
    return lambda k: f"{where_prefix}: --{flags[k].name if k in flags else k.replace('_', '-')}"


def search_section(raw: dict, path: str, where_prefix: str | None) -> SearchSpec:
    q = section(raw, "search", path, {f.name: 0 for f in dataclasses.fields(SearchSpec)})

    def follow(values: dict) -> None:
        if "mode" not in q and where_prefix is None and values["metric"] in MODES:
            values["mode"] = MODES[values["metric"]]
        if "grace_period" not in q and isinstance(values["max_epochs"], int):
            # the default grace never outlasts a short budget (max_epochs = 1)
            values["grace_period"] = max(1, min(values["grace_period"], values["max_epochs"]))

    return SearchSpec(**read_fields(SearchSpec, q, _label(path, "search", where_prefix),
                                    follow))


def resources_section(raw: dict, path: str, where_prefix: str | None) -> Resources:
    r = section(raw, "resources", path, {f.name: 0 for f in dataclasses.fields(Resources)})
    label = _label(path, "resources", where_prefix)
    values = read_fields(Resources, r, lambda k: label(k) if k != "device" else
                         f"{path}: [resources] device")
    device, gpu = values["device"], values["gpu"]
    if device == "gpu":  # torch's name for it is what people mean
        raise UserError(f'{path}: [resources] device: unknown device \'gpu\'; for a GPU write '
                        f'device = "cuda" (or "auto": CUDA where there is one)')
    choice(device, DEVICES, f"{path}: [resources] device", "device")
    if device == "cpu" and gpu > 0 and where_prefix is not None:  # the flag, on a valid file
        raise UserError(f"{label('gpu')}: {gpu:g} asks for a GPU but {path}: [resources] "
                        f"device = \"cpu\" rules it out; drop the flag or set device = \"auto\"")
    if device == "cpu" and gpu > 0:
        raise UserError(f"{path}: [resources] gpu = {gpu:g} asks for a GPU but device = \"cpu\" "
                        f"rules it out; remove one of them")
    return Resources(**values)


def logging_section(raw: dict, path: str) -> str:
    lg = section(raw, "logging", path, {"mlflow": 0})
    mlflow = typed(lg, "mlflow", "", f"{path}: [logging] mlflow")
    if "logging" in raw and not mlflow.strip():
        raise UserError(f'{path}: [logging] mlflow: give a tracking URI such as '
                        f'"sqlite:///mlflow.db" or a server\'s http://HOST:5000, '
                        f'or drop [logging]')
    return mlflow
