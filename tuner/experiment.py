"""Experiment files: TOML → a validated, frozen ExperimentSpec (no Ray, no torch import).

Every error names the file, the key, the rule and the fix, on one line, before anything starts.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuner.checks import (
    Interval,
    Options,
    choice,
    constraint,
    known_keys,
    read_fields,
    section,
    typed,
)
from tuner.errors import UserError, did_you_mean, parse_problem
from tuner.flags import by_key, schedulers, searchers
from tuner.vocabulary import MODES

# every metric some task reports, with the direction that is better
# [data] keys beside source and split; each data source checks the ones it uses
DATA_OPTIONS = ("dataset", "valid", "normalize", "path", "task", "target", "window", "horizon",
                "time_column", "value_column", "transform", "examples", "size", "classes")
DEVICES = ("auto", "cuda", "cpu")
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


@dataclass(frozen=True)
class ExperimentSpec:
    name: str
    path: str
    description: str = ""
    data: DataSpec = field(default_factory=DataSpec)
    factory: str = "auto"  # "auto": chosen from the data (tuner.auto)
    # [model] keys beside factory: `weights` (the source's final/ folder, absolute) for finetune
    model_options: dict = field(default_factory=dict)
    space_module: str = "auto"
    space_overrides: dict = field(default_factory=dict)
    search: SearchSpec = field(default_factory=SearchSpec)
    resources: Resources = field(default_factory=Resources)
    # [logging] mlflow: an MLflow tracking URI (e.g. "sqlite:///mlflow.db"); "" = TensorBoard only
    mlflow: str = ""
    # the [search] keys the file (or a flag) set; the others tuner may derive from the data
    search_given: tuple = ()

    def space(self, *, sources: bool = True):
        """The SearchSpace: the module's priors with this file's overrides; for the finetune
        factory fitted to its source model (`sources=False`: without reading the source)."""
        from tuner.spaces import load_space

        where = f"{self.path}: [space]"
        if self.space_module == "auto":  # pragma: no cover - a caller skipped fit_to_data
            raise ValueError("an automatic model's space depends on the data: resolve the "
                             "spec with tuner.auto.fit_to_data(spec, data) first")
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
        search = {k: v for k, v in dataclasses.asdict(self.search).items()
                  if k in self.search_given}
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
            elif k in {f.name for f in dataclasses.fields(SearchSpec)}:
                search[k] = v
            elif k in resources:
                resources[k] = v
            else:  # pragma: no cover - programming error in the CLI
                raise KeyError(k)
        if search.get("metric") in MODES and not values.get("mode"):
            search["mode"] = MODES[search["metric"]]  # follows the metric (file's or flag's)
        if values.get("max_epochs") and not values.get("grace_period"):
            # a shorter budget shrinks the grace period with it rather than failing
            search["grace_period"] = min(search.get("grace_period", self.search.grace_period),
                                         values["max_epochs"])
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
                     **self.data.options,
                     **({} if self.data.folds is None else {"folds": self.data.folds})},
            "model": {"factory": self.factory, **self.model_options},
            "space": {"module": self.space_module, **self.space_overrides},
            "search": {k: v for k, v in dataclasses.asdict(self.search).items()
                       if k in self.search_given},
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


_TOP = ("name", "description", "data", "model", "space", "search", "resources", "logging")


def from_dict(raw: dict, *, path: str, where_prefix: str | None = None,
              sources: bool = True) -> ExperimentSpec:
    """Validate a parsed experiment (see `load`); `sources=False` takes a finetune source
    folder as given, unread (a saved experiment whose source may have moved since).
    `where_prefix` ("command line") names flags instead of file keys in the messages."""
    if not isinstance(raw, dict):
        raise UserError(f"{path}: an experiment must be a TOML table, but got {raw!r}")
    known_keys(raw, _TOP, f"{path}: ")
    name = raw.get("name", Path(path).stem)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise UserError(
            f"{path}: name: must be 1-100 letters, digits, '_', '-' or '.', starting with a "
            f"letter or digit, but got {name!r}"
        )
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise UserError(f"{path}: description: must be a string, but got {description!r}")
    data = _data(raw, path)
    factory, model_options = _model(raw, path, sources)
    module, overrides = _space(raw, path, factory)
    spec = ExperimentSpec(
        name=name, path=path, description=description, data=data, factory=factory,
        model_options=model_options, space_module=module, space_overrides=overrides,
        search=_search(raw, path, where_prefix), resources=_resources(raw, path, where_prefix),
        mlflow=_mlflow(raw, path),
        search_given=tuple(sorted(raw.get("search") or {})),
    )
    if module != "auto":  # an automatic model's space waits for the data (tuner.auto)
        spec.space(sources=sources)  # validates the module and every override now
    else:  # its names wait for the module the data picks; each prior's form is checked now
        from tuner.spaces import prior_from_dict

        for k in sorted(overrides):
            prior_from_dict(f"{path}: [space] {k}", overrides[k])
    return spec


def _data(raw: dict, path: str) -> DataSpec:
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


def _model(raw: dict, path: str, sources: bool) -> tuple[str, dict]:
    from tuner.models import FACTORIES, check_factory, is_user_factory
    from tuner.user_code import is_python_object

    m = section(raw, "model", path, {"factory": 0, "weights": 0})
    factory = typed(m, "factory", "auto", f"{path}: [model] factory")
    if factory == "auto":  # chosen from the data when it is loaded (tuner.auto)
        pass
    elif is_python_object(factory) and not sources:  # saved: loaded where used (train, resume)
        pass
    elif is_user_factory(factory):  # your own function: imported and checked here, before Ray
        check_factory(factory, where=f"{path}: [model] factory")
    elif factory not in FACTORIES:
        raise UserError(
            f"{path}: [model] factory: unknown model factory {factory!r}"
            f"{did_you_mean(factory, sorted(FACTORIES))}; choose one of "
            f"{', '.join(sorted(FACTORIES))}, \"auto\" (chosen from the data), or name your "
            f"own as 'module:function' (e.g. 'mypkg.models:build')"
        )
    from tuner.models.source import model_options

    return factory, model_options(m, factory, path, sources)


def _space(raw: dict, path: str, factory: str) -> tuple[str, dict]:
    from tuner.models import is_user_factory

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
    return module, s


def _label(path: str, name: str, where_prefix: str | None):
    """How a message names a key of section `name`: the file's key, or the flag that set it."""
    if where_prefix is None:
        return lambda k: f"{path}: [{name}] {k}"
    flags = by_key(name)
    return lambda k: f"{where_prefix}: --{flags[k].name if k in flags else k.replace('_', '-')}"


def _search(raw: dict, path: str, where_prefix: str | None) -> SearchSpec:
    q = section(raw, "search", path, {f.name: 0 for f in dataclasses.fields(SearchSpec)})

    def follow(values: dict) -> None:
        if "mode" not in q and where_prefix is None and values["metric"] in MODES:
            values["mode"] = MODES[values["metric"]]
        if "grace_period" not in q and isinstance(values["max_epochs"], int):
            # the default grace never outlasts a short budget (max_epochs = 1)
            values["grace_period"] = max(1, min(values["grace_period"], values["max_epochs"]))

    return SearchSpec(**read_fields(SearchSpec, q, _label(path, "search", where_prefix),
                                    follow))


def _resources(raw: dict, path: str, where_prefix: str | None) -> Resources:
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


def _mlflow(raw: dict, path: str) -> str:
    lg = section(raw, "logging", path, {"mlflow": 0})
    mlflow = typed(lg, "mlflow", "", f"{path}: [logging] mlflow")
    if "logging" in raw and not mlflow.strip():
        raise UserError(f'{path}: [logging] mlflow: give a tracking URI such as '
                        f'"sqlite:///mlflow.db" or a server\'s http://HOST:5000, '
                        f'or drop [logging]')
    return mlflow


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
    from tuner.user_code import load_python_objects

    load_python_objects(exp_dir)  # a factory or space made in Python, kept in inputs/
    # errors name this file (its keys are the experiment file's), the spec keeps the original
    raw = {"name": Path(exp_dir).name, **doc["experiment"]}
    # `tuner status` and `tuner best` need no finetune source; `train` and `resume` check it
    return dataclasses.replace(from_dict(raw, path=str(f), sources=False), path=doc["file"])
