"""Experiment files: TOML → a validated, frozen ExperimentSpec (no Ray, no torch import).

Every error names the file, the key, the rule and the fix, on one line, before anything starts.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuner.errors import UserError, did_you_mean, parse_problem
from tuner.vocabulary import MODES

SEARCHERS = ("hyperopt", "optuna", "bohb", "random")
SCHEDULERS = ("asha", "hyperband", "median", "fifo")
# every metric some task reports, with the direction that is better
METRICS = MODES
# [data] keys beside source and split; each data source checks the ones it uses
DATA_OPTIONS = ("dataset", "valid", "path", "task", "target", "window", "horizon",
                "time_column", "value_column", "transform", "examples", "size", "classes")
DEVICES = ("auto", "cuda", "cpu")
FINETUNE = "finetune"  # the factory that reads [model] weights
_FLAGS = {"max_epochs": "epochs"}  # CLI flag names that differ from file keys
_RESOURCE_FLAGS = {"cpu": "cpus-per-trial", "gpu": "gpus-per-trial"}  # [resources] key -> flag
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class DataSpec:
    source: str = "digits"
    split: tuple[float, float, float] = (0.70, 0.15, 0.15)
    # source-specific keys (dataset, path, window, ...), checked by the source's loader
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SearchSpec:
    searcher: str = "hyperopt"
    scheduler: str = "asha"
    metric: str = "val_loss"
    mode: str = "min"
    samples: int = 20
    max_epochs: int = 20
    seed: int = 0
    # ASHA / median: epochs every trial gets before it can be stopped
    grace_period: int = 2
    # Hyperband family: keep the best 1/reduction_factor at each rung
    reduction_factor: int = 3
    # 0 = as many as the cluster's CPUs (and GPUs) allow
    max_concurrent: int = 0
    # random configs before TPE takes over; 0 = a quarter of the samples (between 3 and 10)
    initial_points: int = 0
    # retries of a trial after a crash (resumes from its last checkpoint)
    max_failures: int = 0
    # wall-clock budget of the search in seconds: no new trials after it, running ones stop;
    # 0 = no limit (samples and max_epochs bound the search)
    time_budget: int = 0


@dataclass(frozen=True)
class Resources:
    cpu: float = 1.0
    gpu: float = 0.0  # a share of one GPU per trial: 0.125 packs 8 trials on each GPU
    # auto: CUDA when the cluster has GPUs (one per trial unless `gpu` says a share), else CPU
    device: str = "auto"


@dataclass(frozen=True)
class ExperimentSpec:
    name: str
    path: str
    description: str = ""
    data: DataSpec = field(default_factory=DataSpec)
    factory: str = "cnn"
    # [model] keys beside factory: `weights` (the source's final/ folder, absolute) for finetune
    model_options: dict = field(default_factory=dict)
    space_module: str = "cnn"
    space_overrides: dict = field(default_factory=dict)
    search: SearchSpec = field(default_factory=SearchSpec)
    resources: Resources = field(default_factory=Resources)
    # [logging] mlflow: an MLflow tracking URI (e.g. "sqlite:///mlflow.db"); "" = TensorBoard only
    mlflow: str = ""

    def space(self, *, sources: bool = True):
        """The SearchSpace: the module's priors with this file's overrides; for the finetune
        factory fitted to its source model (`sources=False`: without reading the source)."""
        from tuner.spaces import load_space

        where = f"{self.path}: [space]"
        space = load_space(self.space_module, where=f"{where} module").override(
            self.space_overrides, where=where
        )
        if sources and "weights" in self.model_options:
            from tuner.models.source import fit_space

            space = fit_space(space, self.model_options["weights"],
                              user_set=set(self.space_overrides), path=self.path)
        return space

    def with_overrides(self, **values: Any) -> ExperimentSpec:
        """A copy with command-line values (None = keep) for search keys and `cpu` / `gpu`
        per trial ([resources]), re-validated."""
        search = dict(dataclasses.asdict(self.search))
        resources = dict(dataclasses.asdict(self.resources))
        top: dict[str, Any] = {}
        for k, v in values.items():
            if v is None:
                continue
            if k == "name":
                if not isinstance(v, str) or not NAME_RE.match(v):
                    raise UserError(
                        f"command line: --name: must be 1-100 letters, digits, '_', '-' or '.', "
                        f"starting with a letter or digit, but got {v!r}"
                    )
                top["name"] = v
            elif k in search:
                search[k] = v
            elif k in _RESOURCE_FLAGS:
                resources[k] = v
            else:  # pragma: no cover - programming error in the CLI
                raise KeyError(k)
        if values.get("metric") and not values.get("mode"):
            search["mode"] = METRICS.get(values["metric"], search["mode"])
        if values.get("max_epochs") and not values.get("grace_period"):
            # a shorter budget shrinks the grace period with it rather than failing
            search["grace_period"] = min(search["grace_period"], values["max_epochs"])
        raw = self.to_dict()
        raw["search"] = search
        raw["resources"] = resources
        raw.update(top)
        return from_dict(raw, path=self.path, where_prefix="command line")

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "data": {"source": self.data.source, "split": list(self.data.split),
                     **self.data.options},
            "model": {"factory": self.factory, **self.model_options},
            "space": {"module": self.space_module, **self.space_overrides},
            "search": dataclasses.asdict(self.search),
            "resources": dataclasses.asdict(self.resources),
            **({"logging": {"mlflow": self.mlflow}} if self.mlflow else {}),
        }


def load(path: str | Path) -> ExperimentSpec:
    """Read and validate an experiment file, e.g. `load("experiments/digits_cnn.toml")`."""
    import tomllib

    if not str(path).strip():
        raise UserError("experiment file: the path is empty; give a file such as "
                        "experiments/digits_cnn.toml")
    p = Path(path)
    if not p.exists():
        hint = ""
        if p.parent.exists():
            near = did_you_mean(p.name, [q.name for q in p.parent.glob("*.toml")])
            hint = near
        raise UserError(f"{path}: no such experiment file{hint}; see experiments/ for examples")
    if p.is_dir():
        raise UserError(
            f"{path}: is a directory; give an experiment file such as {path}/digits_cnn.toml"
        )
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path}: is not a UTF-8 text file; an experiment file is TOML") from None
    except OSError as e:
        raise UserError(f"{path}: cannot read it ({e.strerror})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: is not valid TOML ({e}); fix the syntax at that line") from None
    except (ValueError, RecursionError) as e:  # a 5000-digit number, arrays nested 1000 deep
        raise UserError(f"{path}: is not valid TOML ({parse_problem(e)}); an experiment file "
                        f"holds short values, see experiments/ for examples") from None
    return from_dict(raw, path=str(path))


def _section(raw: dict, key: str, path: str, allowed: dict) -> dict:
    sec = raw.get(key, {})
    if not isinstance(sec, dict):
        raise UserError(f"{path}: [{key}] must be a table (a [{key}] section), but got {sec!r}")
    for k in sec:
        if k not in allowed:
            raise UserError(
                f"{path}: [{key}] {k}: unknown key{did_you_mean(k, allowed)}; "
                f"allowed: {', '.join(allowed)}"
            )
    return sec


def _typed(sec: dict, key: str, default: Any, label: str) -> Any:
    v = sec.get(key, default)
    want = type(default)
    if want is float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise UserError(f"{label}: must be a number, but got {v!r}")
        if not math.isfinite(v):
            raise UserError(f"{label}: must be a finite number, but got {v!r}")
        return float(v)
    if want is int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise UserError(f"{label}: must be an integer, but got {v!r}")
        return v
    if want is str and not isinstance(v, str):
        raise UserError(f"{label}: must be a string, but got {v!r}")
    return v


def _choice(value: str, valid, where: str, what: str) -> str:
    if value not in valid:
        raise UserError(
            f"{where}: unknown {what} {value!r}{did_you_mean(value, valid)}; "
            f"choose one of {', '.join(valid)}"
        )
    return value


def _range(value, lo, hi, where: str, fix: str) -> None:
    if not (lo <= value <= hi):
        bound = f">= {lo}" if hi == math.inf else f"between {lo} and {hi}"
        raise UserError(f"{where}: must be {bound}, but got {value!r}; {fix}")


def _weights(m: dict, factory: str, path: str, sources: bool) -> dict:
    """[model] weights: required by the finetune factory (the source's final/ folder, checked
    now and kept as an absolute path: it resolves from the current directory), else an error."""
    where = f"{path}: [model] weights"
    if factory != FINETUNE:
        if "weights" in m:
            raise UserError(
                f"{where}: only read by the finetune factory, but [model] factory = "
                f"{factory!r}; remove weights, or set factory = \"finetune\" to fine-tune the "
                f"model in that folder"
            )
        return {}
    if "weights" not in m:
        raise UserError(
            f"{where}: required with factory = \"finetune\": the folder `tuner train` wrote for "
            f"the source model, e.g. weights = \"results/digits04_cnn/final\""
        )
    from tuner.models.source import read_source

    weights = m["weights"]
    if sources:
        return {"weights": str(read_source(weights, where=where).folder.resolve())}
    if not isinstance(weights, str) or not weights.strip():
        raise UserError(f"{where}: must be a folder path, but got {weights!r}")
    return {"weights": weights}


def from_dict(raw: dict, *, path: str, where_prefix: str | None = None,
              sources: bool = True) -> ExperimentSpec:
    """Validate a parsed experiment (see `load`); `sources=False` takes a finetune source
    folder as given, unread (a saved experiment whose source may have moved since)."""
    from tuner.data import SOURCES
    from tuner.models import FACTORIES, check_factory, is_user_factory

    if not isinstance(raw, dict):
        raise UserError(f"{path}: an experiment must be a TOML table, but got {raw!r}")
    top = {
        "name": 0,
        "description": 0,
        "data": 0,
        "model": 0,
        "space": 0,
        "search": 0,
        "resources": 0,
        "logging": 0,
    }
    for k in raw:
        if k not in top:
            raise UserError(
                f"{path}: {k}: unknown key{did_you_mean(k, top)}; allowed: {', '.join(top)}"
            )
    name = raw.get("name", Path(path).stem)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise UserError(
            f"{path}: name: must be 1-100 letters, digits, '_', '-' or '.', starting with a "
            f"letter or digit, but got {name!r}"
        )
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise UserError(f"{path}: description: must be a string, but got {description!r}")

    d = _section(raw, "data", path, {"source": 0, "split": 0, **{k: 0 for k in DATA_OPTIONS}})
    default_source = "file" if "path" in d else "digits"
    source = _typed(d, "source", default_source, f"{path}: [data] source")
    _choice(source, sorted(SOURCES), f"{path}: [data] source", "data source")
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

    m = _section(raw, "model", path, {"factory": 0, "weights": 0})
    factory = _typed(m, "factory", "cnn", f"{path}: [model] factory")
    if is_user_factory(factory):  # your own function: imported and checked here, before Ray
        check_factory(factory, where=f"{path}: [model] factory")
    elif factory not in FACTORIES:
        raise UserError(
            f"{path}: [model] factory: unknown model factory {factory!r}"
            f"{did_you_mean(factory, sorted(FACTORIES))}; choose one of "
            f"{', '.join(sorted(FACTORIES))}, or name your own as 'module:function' "
            f"(e.g. 'mypkg.models:build')"
        )
    model_options = _weights(m, factory, path, sources)

    s = raw.get("space", {})
    if not isinstance(s, dict):
        raise UserError(f"{path}: [space] must be a table, but got {s!r}")
    s = dict(s)
    if "module" not in s and is_user_factory(factory):
        raise UserError(
            f"{path}: [space] module: required with your own factory {factory!r}; name the "
            f"module that defines its space(), e.g. module = \"mypkg.spaces\""
        )
    module = s.pop("module", factory)
    if not isinstance(module, str):
        raise UserError(f"{path}: [space] module: must be a string, but got {module!r}")

    defaults = SearchSpec()
    q = _section(raw, "search", path, {f.name: 0 for f in dataclasses.fields(SearchSpec)})
    if where_prefix is None:
        key = lambda k: f"{path}: [search] {k}"
    else:
        key = lambda k: f"{where_prefix}: --{_FLAGS.get(k, k).replace('_', '-')}"
    vals = {
        f.name: _typed(q, f.name, getattr(defaults, f.name), key(f.name))
        for f in dataclasses.fields(SearchSpec)
    }
    _choice(vals["searcher"], SEARCHERS, key("searcher"), "searcher")
    _choice(vals["scheduler"], SCHEDULERS, key("scheduler"), "scheduler")
    _choice(vals["metric"], list(METRICS), key("metric"), "metric (the trial reports these)")
    if "mode" not in q and where_prefix is None:
        vals["mode"] = METRICS[vals["metric"]]
    if vals["mode"] not in ("min", "max"):
        raise UserError(f"{key('mode')}: must be 'min' or 'max', but got {vals['mode']!r}")
    if vals["mode"] != METRICS[vals["metric"]]:
        raise UserError(
            f"{key('mode')}: {vals['metric']} is better when "
            f"{'higher' if METRICS[vals['metric']] == 'max' else 'lower'}, so mode must be "
            f"{METRICS[vals['metric']]!r}, but got {vals['mode']!r}"
        )
    _range(vals["samples"], 1, 100_000, key("samples"), "set how many trials to run")
    _range(vals["max_epochs"], 1, 100_000, key("max_epochs"), "set the epochs per trial")
    _range(vals["seed"], 0, 2**32 - 1, key("seed"), "use a non-negative integer")
    _range(
        vals["grace_period"],
        1,
        vals["max_epochs"],
        key("grace_period"),
        "it must not exceed max_epochs",
    )
    _range(vals["reduction_factor"], 2, 100, key("reduction_factor"), "3 or 4 are usual")
    _range(vals["max_concurrent"], 0, 10_000, key("max_concurrent"), "0 means as many as fit")
    _range(vals["initial_points"], 0, 100_000, key("initial_points"), "0 means automatic")
    _range(vals["max_failures"], 0, 1000, key("max_failures"), "0 means no retries")
    _range(vals["time_budget"], 0, 10**8, key("time_budget"), "seconds; 0 means no limit")

    r = _section(raw, "resources", path, {"cpu": 0, "gpu": 0, "device": 0})
    if where_prefix is None:
        rkey = lambda k: f"{path}: [resources] {k}"
    else:
        rkey = lambda k: f"{where_prefix}: --{_RESOURCE_FLAGS[k]}"
    cpu = _typed(r, "cpu", 1.0, rkey("cpu"))
    gpu = _typed(r, "gpu", 0.0, rkey("gpu"))
    _range(cpu, 0.01, 1024, rkey("cpu"), "CPUs per trial, e.g. 1")
    _range(gpu, 0, 64, rkey("gpu"), "GPUs per trial, e.g. 0.25 to share one")
    device = _typed(r, "device", "auto", f"{path}: [resources] device")
    if device == "gpu":  # torch's name for it is what people mean
        raise UserError(f'{path}: [resources] device: unknown device \'gpu\'; for a GPU write '
                        f'device = "cuda" (or "auto": CUDA where there is one)')
    _choice(device, DEVICES, f"{path}: [resources] device", "device")
    if device == "cpu" and gpu > 0 and where_prefix is not None:  # the flag, on a valid file
        raise UserError(f"{rkey('gpu')}: {gpu:g} asks for a GPU but {path}: [resources] "
                        f"device = \"cpu\" rules it out; drop the flag or set device = \"auto\"")
    if device == "cpu" and gpu > 0:
        raise UserError(f"{path}: [resources] gpu = {gpu:g} asks for a GPU but device = \"cpu\" "
                        f"rules it out; remove one of them")

    lg = _section(raw, "logging", path, {"mlflow": 0})
    mlflow = _typed(lg, "mlflow", "", f"{path}: [logging] mlflow")
    if "logging" in raw and not mlflow.strip():
        raise UserError(f'{path}: [logging] mlflow: give a tracking URI such as '
                        f'"sqlite:///mlflow.db" or a server\'s http://HOST:5000, '
                        f'or drop [logging]')

    spec = ExperimentSpec(
        name=name,
        path=path,
        description=description,
        data=DataSpec(source=source, split=tuple(float(f) for f in split),
                      options={k: v for k, v in d.items() if k in DATA_OPTIONS}),
        factory=factory,
        model_options=model_options,
        space_module=module,
        space_overrides=s,
        search=SearchSpec(**vals),
        resources=Resources(cpu=cpu, gpu=gpu, device=device),
        mlflow=mlflow,
    )
    spec.space(sources=sources)  # validates the module and every override now, not in a trial
    return spec


SAVED = "experiment.json"


def save_spec(spec: ExperimentSpec, exp_dir: Path) -> None:
    """Keep the validated experiment beside its results (with the file it came from)."""
    doc = {"file": spec.path, "experiment": spec.to_dict()}
    (Path(exp_dir) / SAVED).write_text(json.dumps(doc, indent=2) + "\n")


def load_saved(exp_dir: Path) -> ExperimentSpec:
    """The ExperimentSpec saved by `save_spec`; its path is the original experiment file."""
    f = Path(exp_dir) / SAVED
    fix = "tuner wrote it: restore it, or run the experiment again with --overwrite"
    try:
        doc = json.loads(f.read_text())
    except (OSError, ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        reason = e.strerror if isinstance(e, OSError) else f"not JSON: {parse_problem(e)}"
        raise UserError(f"{f}: unreadable saved experiment ({reason}); {fix}") from None
    if not (isinstance(doc, dict) and isinstance(doc.get("file"), str)
            and isinstance(doc.get("experiment"), dict)):
        raise UserError(f'{f}: must hold {{"file": PATH, "experiment": {{...}}}}; {fix}')
    # errors name this file (its keys are the experiment file's), the spec keeps the original
    raw = {"name": Path(exp_dir).name, **doc["experiment"]}
    # `tuner status` and `tuner best` need no finetune source; `train` and `resume` check it
    return dataclasses.replace(from_dict(raw, path=str(f), sources=False), path=doc["file"])
