"""tuner from Python (a notebook, a script): every command-line verb as a function, with the
same checks, the same one-line messages (raised as `tuner.UserError`) and the same folders on
disk, so `tuner status / best / board / report` read a search started here and the other way
round.

An experiment is a file, or built in Python from your arrays and your model class:

>>> import numpy as np, tuner
>>> x, y = np.random.default_rng(0).normal(size=(60, 4)), np.arange(60) % 2
>>> exp = tuner.Experiment("doc_table", data=(x, y), model="mlp", metric="accuracy",
...                        samples=4, max_epochs=2)
>>> exp.spec.search.samples, exp.spec.data.source
(4, 'file')

Bad input is one line, before anything starts, as on the command line:

>>> tuner.Experiment("doc_bad", data=(x, y[:50]))
Traceback (most recent call last):
...
tuner.errors.UserError: Experiment 'doc_bad': data: X has 60 rows but y has 50; they must \
match one to one
>>> tuner.Experiment("doc_bad", data=(x, y), sampels=4)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
tuner.errors.UserError: Experiment 'doc_bad': sampels: unknown setting (did you mean \
'samples'?); it takes the [search] keys (searcher, scheduler, metric, mode, samples, ...

Then `result = tuner.run(exp)`, `result.best.config`, `result.trials` (a DataFrame),
`tuner.train_final(result).model`, `tuner.report(result)`.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuner.errors import UserError, did_you_mean
from tuner.experiment import DATA_OPTIONS, NAME_RE, ExperimentSpec, Resources, SearchSpec
from tuner.user_code import INPUTS

_SEARCH = tuple(f.name for f in dataclasses.fields(SearchSpec))
_RESOURCES = tuple(f.name for f in dataclasses.fields(Resources))
_DATA = ("split", "folds", *DATA_OPTIONS)
_FACTORY_FORM = "a callable (config, input_shape, n_outputs) -> nn.Module"


# ------------------------------------------------------------------------------- experiments


class Experiment:
    """An experiment: what a TOML file says, built in Python.

    name      folder name under the storage root (letters, digits, '_', '-', '.')
    data      a built-in source ("digits", "sunspots", "airline"), a file path (.csv, .npz,
              .parquet), a [data] table as a dict ({"source": "aeon", "dataset": "GunPoint"}),
              arrays (X, y) or (X, y, lengths), or a pandas DataFrame (with target=...)
    model     "auto" (chosen from the data), a built-in factory ("cnn", "mlp", ...),
              "module:function", or any callable (config, input_shape, n_outputs) -> nn.Module,
              such as an nn.Module class defined in the notebook
    space     None (the factory's priors), a space module name, a SearchSpace, or a dict of
              priors (tuner.LogUniform(1e-4, 1e-2) or the TOML form {"loguniform": [...]}):
              overrides of the factory's space, or with your own model its whole space, to
              which the shared training priors (lr, batch_size, optimizer, ...) are added
    **settings  any [search] key (metric, samples, max_epochs, searcher, scheduler, seed, ...),
              [resources] key (cpu, gpu, device) or [data] key (split, folds, window, ...)
    """

    def __init__(self, name: str, *, data: Any = "digits", model: Any = "auto",
                 space: Any = None, target: str | None = None, description: str = "",
                 **settings: Any):
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise UserError(f"Experiment: name: must be 1-100 letters, digits, '_', '-' or '.', "
                            f"starting with a letter or digit, but got {name!r}")
        self.name = name
        self.where = f"Experiment {name!r}"
        self.inputs: dict[str, Any] = {}  # file name in inputs/ -> what to write there
        raw: dict[str, Any] = {"name": name, "description": description,
                               "search": {}, "resources": {}}
        data_keys = self._settings(raw, settings)
        if target is not None:
            data_keys["target"] = target
        raw["data"] = self._data(data, data_keys)
        raw["model"] = {"factory": self._model(model)}
        raw["space"] = self._space(space, raw["model"]["factory"], model)
        from tuner.experiment import from_dict

        self.spec: ExperimentSpec = from_dict(raw, path=self.where)
        self.raw = raw

    @classmethod
    def from_file(cls, path: str | Path) -> Experiment:
        """The experiment a TOML file describes (`tuner.Experiment.from_file("x.toml")`)."""
        from tuner.experiment import load

        return _wrap(load(path))

    # -- building ---------------------------------------------------------------------------
    def _settings(self, raw: dict, settings: dict) -> dict:
        data = {}
        for k, v in settings.items():
            if k in _SEARCH:
                raw["search"][k] = v
            elif k in _RESOURCES:
                raw["resources"][k] = v
            elif k in _DATA:
                data[k] = list(v) if k == "split" else v
            else:
                raise UserError(
                    f"{self.where}: {k}: unknown setting"
                    f"{did_you_mean(k, (*_SEARCH, *_RESOURCES, *_DATA))}; it takes the [search] "
                    f"keys ({', '.join(_SEARCH)}), the [resources] keys "
                    f"({', '.join(_RESOURCES)}) and the [data] keys ({', '.join(_DATA)})")
        return data

    def _data(self, data: Any, keys: dict) -> dict:
        from tuner.data import SOURCES

        at = f"{self.where}: data"
        split = tuple(keys.get("split", (0.70, 0.15, 0.15)))
        if isinstance(data, dict):
            return {**data, **keys}
        if isinstance(data, (str, Path)):
            text = str(data)
            if text in SOURCES and text != "file":
                return {"source": text, **keys}
            return {"source": "file", "path": str(Path(text).expanduser().resolve()), **keys}
        from tuner.data import files

        options = {k: v for k, v in keys.items() if k not in ("split", "folds")}
        if _is_frame(data):
            files.from_frame(data, where=f"{self.where}: [data]", at=at, raw="the DataFrame",
                             name=self.name, options=options, task=options.get("task"),
                             split=split, seed=0)
            self.inputs["data.parquet"] = data
            return {"source": "file", "path": "{inputs}/data.parquet", **keys}
        if isinstance(data, (tuple, list)) and len(data) in (2, 3):
            extra = sorted(set(options) - {"task"})
            if extra:
                raise UserError(f"{self.where}: {extra[0]}: not used for arrays (X, y); they "
                                f"take task (and split, folds)")
            files.from_arrays(*data, at=at, name=self.name, task=options.get("task"),
                              split=split, seed=0)
            import numpy as np

            arrays = {"X": np.asarray(data[0]), "y": np.asarray(data[1])}
            if len(data) == 3 and data[2] is not None:
                arrays["lengths"] = np.asarray(data[2])
            self.inputs["data.npz"] = arrays
            return {"source": "file", "path": "{inputs}/data.npz", **keys}
        raise UserError(f"{at}: must be a data source name, a file path, a [data] dict, arrays "
                        f"(X, y) or a pandas DataFrame, but got {type(data).__name__}")

    def _model(self, model: Any) -> str:
        if isinstance(model, str):
            return model
        if not callable(model):
            raise UserError(f"{self.where}: model: must be a factory name ('auto', 'cnn', "
                            f"'mypkg.models:build') or {_FACTORY_FORM}, but got "
                            f"{type(model).__name__}")
        from tuner.models import check_signature

        label = getattr(model, "__name__", type(model).__name__)
        check_signature(model, label, where=f"{self.where}: model")
        return self._keep(model, "factory")

    def _keep(self, obj: Any, stem: str) -> str:
        from tuner.user_code import python_object_name

        name, blob = python_object_name(obj, stem)
        self.inputs[name.partition(":")[2]] = blob
        return name

    def _space(self, space: Any, factory: str, model: Any) -> dict:
        from tuner.spaces import Prior, SearchSpace

        own = callable(model) and not isinstance(model, str)
        if space is None:
            if own:
                raise UserError(
                    f"{self.where}: space: required with your own model; give its priors, e.g. "
                    f"space={{'units': tuner.IntRange(16, 256)}} (the training priors lr, "
                    f"batch_size, optimizer, ... are added)")
            return {}
        if isinstance(space, str):
            return {"module": space}
        if isinstance(space, SearchSpace):
            return {"module": self._keep(space, "space")}
        if not isinstance(space, dict):
            raise UserError(f"{self.where}: space: must be a space module name, a SearchSpace "
                            f"or a dict of priors, but got {type(space).__name__}")
        if not own:  # overrides of the factory's own space, in the TOML form
            return {k: v.to_dict() if isinstance(v, Prior) else v for k, v in space.items()}
        from searchspaces import common
        from tuner.spaces import PerLayer, When, prior_from_dict

        entries = dict(common.training())
        for k, v in space.items():
            where = f"{self.where}: space {k}"
            entries[k] = v if isinstance(v, (Prior, PerLayer, When)) else prior_from_dict(where, v)
        try:
            built = SearchSpace(entries, description=f"the space of {self.name}")
        except UserError as e:
            raise UserError(f"{self.where}: space: {e}") from None
        return {"module": self._keep(built, "space")}

    # -- using ------------------------------------------------------------------------------
    def _resolved(self, exp_dir: Path) -> ExperimentSpec:
        """The spec with its inputs' paths in `exp_dir`."""
        if not self.inputs:
            return self.spec
        from tuner.experiment import from_dict

        raw = dict(self.raw)
        if "path" in raw["data"]:
            raw["data"] = {**raw["data"],
                           "path": raw["data"]["path"].replace("{inputs}",
                                                               str(exp_dir / INPUTS))}
        return from_dict(raw, path=self.where)

    def _write_inputs(self, exp_dir: Path) -> None:
        folder = exp_dir / INPUTS
        folder.mkdir(parents=True, exist_ok=True)
        for f in folder.iterdir():  # an earlier run's objects, replaced (overwrite)
            if f.name not in self.inputs:
                f.unlink()
        for fname, what in self.inputs.items():
            target = folder / fname
            if isinstance(what, bytes):
                target.write_bytes(what)
            elif isinstance(what, dict):
                import numpy as np

                np.savez(target, **what)
            else:
                what.to_parquet(target, index=False)

    def __repr__(self) -> str:
        s = self.spec
        return (f"Experiment({self.name!r}, data={s.data.source!r}, model={s.factory!r}, "
                f"metric={s.search.metric!r}, samples={s.search.samples})")


def _wrap(spec: ExperimentSpec) -> Experiment:
    exp = Experiment.__new__(Experiment)
    exp.name, exp.where, exp.inputs, exp.spec, exp.raw = spec.name, spec.path, {}, spec, None
    return exp


def _is_frame(data) -> bool:
    mod = type(data).__module__
    return mod.startswith("pandas") and type(data).__name__ == "DataFrame"


def _experiment(experiment) -> Experiment:
    if isinstance(experiment, Experiment):
        return experiment
    if isinstance(experiment, ExperimentSpec):
        return _wrap(experiment)
    if isinstance(experiment, (str, Path)):
        return Experiment.from_file(experiment)
    raise UserError(f"experiment: must be a tuner.Experiment or an experiment file path, but "
                    f"got {type(experiment).__name__}")


# ----------------------------------------------------------------------------------- results


@dataclass
class Trial:
    """One trial: its config, its best metrics (and the epoch of the experiment metric's best),
    how it ended."""

    name: str
    status: str
    config: dict
    metrics: dict
    epoch: int
    epochs: int
    reason: str = ""


@dataclass
class Result:
    """A search's outcome, read from its folder (so it is current whenever you look)."""

    name: str
    folder: Path
    metric: str
    mode: str
    exit_code: int = 0  # the command line's: 0 done, 1 every trial failed, 130 interrupted

    @property
    def interrupted(self) -> bool:
        """Stopped by Ctrl-C or the kernel's interrupt: `tuner.resume(name)` continues it."""
        from tuner.plan import INTERRUPTED

        return self.exit_code == INTERRUPTED

    @property
    def best(self) -> Trial | None:
        """The best trial (ties broken as `tuner best` breaks them), None before any result."""
        from tuner.store import best_record, load_records

        r = best_record(load_records(self.folder), self.metric, self.mode)
        return None if r is None else _trial(r, self.metric)

    @property
    def trials(self):
        """Every trial as a pandas DataFrame: status, epochs, best_/last_ metrics, config/."""
        from tuner.store import load_records
        from tuner.store.table import frame

        return frame(load_records(self.folder))

    @property
    def tensorboard(self) -> list[Path]:
        """The TensorBoard runs: one folder per trial (`tuner board NAME` serves them)."""
        return sorted(p for p in self.folder.glob("trial_*") if p.is_dir())

    def __repr__(self) -> str:
        b = self.best
        shown = f"best {self.metric} {b.metrics[self.metric]:.4f} ({b.name})" if b else "no result"
        return f"Result({self.name!r}, {shown}, folder={str(self.folder)!r})"


def _trial(r, metric: str) -> Trial:
    return Trial(r.trial, str(r.status), dict(r.config), dict(r.best),
                 r.best_epoch.get(metric, r.epochs), r.epochs, r.reason)


def _result(name_or_result, storage) -> tuple[Path, ExperimentSpec]:
    from tuner.experiment import load_saved
    from tuner.store import find_experiment

    if isinstance(name_or_result, Result):
        name_or_result = str(name_or_result.folder)
    elif isinstance(name_or_result, Experiment):
        name_or_result = name_or_result.name
    exp = find_experiment(str(name_or_result), storage)
    return exp, load_saved(exp)


def _outcome(exp_dir: Path, spec: ExperimentSpec, code: int) -> Result:
    return Result(spec.name, exp_dir, spec.search.metric, spec.search.mode, code)


# -------------------------------------------------------------------------------------- verbs


def run(experiment, *, storage: str | None = None, overwrite: bool = False,
        address: str | None = None, warm_start: str | None = None, top: int = 10,
        dry_run: bool = False, out=None, ray_output: bool = False,
        **flags) -> Result | None:
    """Tune an experiment (a tuner.Experiment or a file path); `tuner run`.

    `**flags` are the command line's overrides (samples=8, max_epochs=3, searcher="optuna",
    cpu=1, name="other", ...). Interrupting the kernel (or Ctrl-C) stops the search as `tuner
    run` stops: finished trials are kept and `tuner.resume(name)` continues. Ray's output
    (and what your model prints in the trials) stays out of the cell unless `ray_output=True`.
    Returns the Result (None for a dry run)."""
    from tuner import driver
    from tuner.store import storage_root

    exp = _experiment(experiment)
    spec = _with_flags(exp.spec, flags)
    exp_dir = storage_root(storage) / spec.name
    driver.check_target(spec, storage, overwrite=overwrite or dry_run)
    fresh = not exp_dir.exists()
    if exp.inputs and not dry_run:
        exp._write_inputs(exp_dir)
        spec = _with_flags(exp._resolved(exp_dir), flags)
    elif exp.inputs:  # a dry run writes nothing: the data is checked from memory
        import tempfile

        tmp = Path(tempfile.mkdtemp(prefix="tuner-dry-"))
        exp._write_inputs(tmp)
        spec = _with_flags(exp._resolved(tmp), flags)
    try:
        code = driver.run(spec, storage=storage, address=address, overwrite=overwrite,
                          warm_start=warm_start, warm_top=top, dry_run=dry_run, out=out,
                          ray_output=ray_output)
    except UserError:
        if fresh and exp_dir.exists() and not (exp_dir / "experiment.json").exists():
            shutil.rmtree(exp_dir)  # nothing started: leave no folder behind
        raise
    finally:
        if exp.inputs and dry_run:
            shutil.rmtree(tmp, ignore_errors=True)
    if dry_run:
        return None
    return _outcome(exp_dir, spec, code)


def _flags() -> dict:
    """The command line's run flags by experiment key (samples, max_epochs, cpu, name, ...)."""
    from tuner.flags import FLAGS

    return {f.key: f for f in FLAGS.values()}


def _with_flags(spec: ExperimentSpec, flags: dict) -> ExperimentSpec:
    allowed = _flags()
    for k in flags:
        if k not in allowed:
            raise UserError(f"{k}: unknown flag{did_you_mean(k, allowed)}; run and submit take "
                            f"{', '.join(allowed)}")
    return spec.with_overrides(**flags) if flags else spec


def resume(name, *, storage: str | None = None, address: str | None = None,
           out=None, ray_output: bool = False) -> Result:
    """Continue an interrupted search (by name, folder or Result); `tuner resume`."""
    from tuner import driver

    exp_dir, spec = _result(name, storage)
    code = driver.resume(str(exp_dir), storage=storage, address=address, out=out,
                         ray_output=ray_output)
    return _outcome(exp_dir, spec, code)


def best(name, *, storage: str | None = None, output: str | None = None) -> Trial:
    """The best trial (by name, folder or Result); `output` writes it as `tuner best -o`."""
    from tuner.commands import best_doc
    from tuner.store import best_record, load_records, write_best

    exp_dir, spec = _result(name, storage)
    _, _, doc = best_doc(str(exp_dir), storage)
    if output:
        write_best(Path(output), doc)
    r = best_record(load_records(exp_dir), spec.search.metric, spec.search.mode)
    return _trial(r, spec.search.metric)


def results(name, *, storage: str | None = None, output: str | None = None):
    """Every trial as a pandas DataFrame; `output` also writes it (.csv or .parquet) as
    `tuner results -o` does."""
    from tuner.store import export_table, load_records
    from tuner.store.table import frame

    exp_dir, _ = _result(name, storage)
    records = load_records(exp_dir)
    if output:
        export_table(Path(output), records)
    return frame(records)


def status(name=None, *, storage: str | None = None):
    """`tuner status`: without a name, one row per experiment under the storage root; with
    one, one row per trial (status, epochs, the metric ± its standard error, the reason)."""
    import pandas as pd

    from tuner.experiment import load_saved
    from tuner.store import best_record, load_records, storage_root
    from tuner.tracking.progress import counts

    if name is not None:
        exp_dir, spec = _result(name, storage)
        m = spec.search.metric
        rows = [{"trial": r.trial, "status": str(r.status), "epochs": r.epochs,
                 m: r.best.get(m, math.nan), f"{m}_se": r.at_best.get(f"{m}_se", math.nan),
                 "reason": r.reason} for r in load_records(exp_dir)]
        return pd.DataFrame(rows, columns=["trial", "status", "epochs", m, f"{m}_se", "reason"])
    root = storage_root(storage)
    rows = []
    for exp_dir in sorted(d for d in root.glob("*") if (d / "experiment.json").exists()) \
            if root.is_dir() else []:
        s = load_saved(exp_dir).search
        records = load_records(exp_dir)
        c = counts(records)
        b = best_record(records, s.metric, s.mode)
        rows.append({"experiment": exp_dir.name, "trials": len(records), "samples": s.samples,
                     "completed": c["completed"], "stopped early": c["stopped early"],
                     "running": c["running"], "failed": c["errored"] + c["diverged"],
                     "metric": s.metric, "best": b.best[s.metric] if b else math.nan,
                     "best trial": b.trial if b else ""})
    return pd.DataFrame(rows, columns=["experiment", "trials", "samples", "completed",
                                       "stopped early", "running", "failed", "metric", "best",
                                       "best trial"])


def space(what):
    """The search space of a module name ("cnn"), or of an experiment (file or
    tuner.Experiment) fitted to its data, as `tuner space` shows it; `print(...)` lists the
    priors and the derived ones' reasons."""
    from tuner.spaces import load_space

    if isinstance(what, str) and not what.endswith(".toml"):
        shown = load_space(what, where="tuner.space")
        return SpaceView(shown, _printed(shown, what))
    exp = _experiment(what)
    from tuner.auto import fit_to_data
    from tuner.data import load_spec_data

    spec = exp.spec
    if exp.inputs:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="tuner-space-") as tmp:
            exp._write_inputs(Path(tmp))
            spec = exp._resolved(Path(tmp))
            spec, derived = fit_to_data(spec, load_spec_data(spec))
    else:
        spec, derived = fit_to_data(spec, load_spec_data(spec))
    shown = spec.space()
    lines = [d.line() for d in derived if d.key not in shown.priors]
    from tuner.plan import space_label

    text = _printed(shown, f"{space_label(spec.space_module)} (+ overrides from {spec.path})",
                    derived)
    return SpaceView(shown, "\n".join([*lines, text]) if lines else text, derived)


@dataclass
class SpaceView:
    """A search space with its listing (`print` it) and, for an experiment, what tuner derived
    from the data (`derived`: key, value, reason)."""

    space: Any
    text: str
    derived: list = field(default_factory=list)

    @property
    def priors(self) -> dict:
        return self.space.priors

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text


def _printed(space, label: str, derived=()) -> str:
    import io

    from tuner.plan import print_space

    buf = io.StringIO()
    print_space(space, label, buf, derived)
    return buf.getvalue().rstrip("\n")


def train_final(source, *, experiment=None, config: dict | None = None,
                epochs: int | None = None, seeds: int = 1, seed: int | None = None,
                storage: str | None = None, out_dir: str | None = None, out=None):
    """Final training on train+valid and one test evaluation; `tuner train`.

    `source`: the search (name, folder or Result) whose best config and epoch to train, or
    with `config=` (and `epochs=`) an experiment to train that config on. Returns a Final:
    `.model` (the trained nn.Module), `.metrics` (test), `.folder`; with seeds > 1 `.models`,
    `.sd` and `.ensemble`."""
    from tuner.final import final_training

    if seeds < 1:
        raise UserError(f"train_final: seeds: must be at least 1, but got {seeds}; 1 trains one "
                        f"model")
    if config is None:
        from tuner.commands import best_doc

        exp_dir, saved = _result(source, storage)
        _, _, doc = best_doc(str(exp_dir), storage)
        spec = _experiment(experiment).spec if experiment is not None else saved
        where = f"best config of {saved.name}"
        config, epochs = doc["config"], epochs or doc["best_epoch"]
    else:
        exp_obj = _experiment(source)
        spec, where = exp_obj.spec, "config"
        if epochs is None:
            raise UserError("train_final: config given without epochs; pass epochs=N")
        if exp_obj.inputs:
            from tuner.store import storage_root

            exp_dir = storage_root(storage) / spec.name
            exp_obj._write_inputs(exp_dir)
            spec = exp_obj._resolved(exp_dir)
    if seed is not None:
        spec = spec.with_overrides(seed=seed)
    return final_training(spec, config, int(epochs), where=where, storage=storage,
                          out_dir=out_dir, out=out, seeds=seeds)


def report(name, *, storage: str | None = None, out: str | None = None) -> Path:
    """Write the HTML report of a search (name, folder or Result); returns the page's path."""
    from tuner.reporting import write_report

    exp_dir, _ = _result(name, storage)
    return write_report(exp_dir, Path(out) if out else None)


def board(name=None, *, storage: str | None = None, host: str = "127.0.0.1",
          port: int = 6006) -> Board:
    """Start TensorBoard in the background for one experiment (or all); `tuner board`.
    Returns a Board: `.url`, `.stop()`; in a notebook it shows as a link."""
    import subprocess

    from tuner.board_server import command, free_port
    from tuner.store import storage_root

    logdir = _result(name, storage)[0] if name is not None else storage_root(storage)
    if not logdir.is_dir():
        raise UserError(f"{logdir}: no results there yet; run an experiment first")
    port = free_port(host, port)
    proc = subprocess.Popen(command(str(logdir), host, port), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    return Board(f"http://{host}:{port}/", logdir, proc)


@dataclass
class Board:
    url: str
    logdir: Path
    process: Any = field(repr=False)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def _repr_html_(self) -> str:
        link = f'<a href="{self.url}" target="_blank">{self.url}</a>'
        return f"TensorBoard for {self.logdir}: {link}"


def submit(experiment, address: str, *, storage: str | None = None, overwrite: bool = False,
           out=None, **flags) -> str:
    """Start an experiment file as a Ray Job on a cluster; returns the job id (`tuner submit`).

    A job runs `tuner run` on the cluster, so it takes an experiment file whose data, model
    and space the cluster can import; one built from your arrays or notebook classes runs
    with `tuner.run(exp, address=...)` instead."""
    from tuner import jobs
    from tuner.store import storage_root

    exp = _experiment(experiment)
    if exp.inputs:
        raise UserError(f"{exp.where}: submit ships an experiment file to the cluster, and "
                        f"this one holds data or code made in Python; use "
                        f"tuner.run(exp, address={address!r}) instead")
    spec = _with_flags(exp.spec, flags)
    jobs.check_address(address)
    root = storage_root(storage)
    if (root / spec.name / "experiment.json").exists() and not overwrite:
        raise UserError(
            f"{root / spec.name}: an experiment named {spec.name!r} already exists; start "
            f"another with name=NEW_NAME, or replace it with overwrite=True")
    words = [w for k, v in flags.items() for w in (f"--{_flags()[k].name}", str(v))]
    _, job_id = jobs.submit(spec, address, root, words + (["--overwrite"] if overwrite else []),
                            out=out)
    return job_id
