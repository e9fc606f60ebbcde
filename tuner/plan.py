"""The plan of a search: everything that can fail checked, and everything derived decided, once,
before Ray starts. Downstream (printing, the Ray side, the trials) takes the plan.

    plan = prepare(load("experiments/digits_cnn.toml"), storage=None)
    plan.spec.factory, plan.space.size(), plan.data.summary(), plan.exp_dir
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from tuner.errors import UserError
from tuner.experiment import ExperimentSpec
from tuner.store import load_records, storage_root
from tuner.store.storage import remote_storage


@dataclass(frozen=True)
class Plan:
    """A search, decided: the experiment resolved for its data (a concrete factory and space
    module, the derived priors among its overrides, folds, budget), its space built once, the
    data loaded and split, what tuner derived and why, and the experiment's folder."""

    spec: ExperimentSpec
    space: object  # SearchSpace
    data: object  # Splits
    exp_dir: Path | None  # None: final training, which writes elsewhere
    derived: tuple = ()  # tuner.auto.Derived, in the order they were decided
    # a URI's storage (tuner.store.remote.Remote): exp_dir is then its local mirror
    remote: object = None


def check_target(spec: ExperimentSpec, storage, *, overwrite: bool) -> Path:
    """The experiment's folder, checked: its space is valid, no experiment of that name is
    there (unless `overwrite`), the storage root is a folder (or a URI tuner can write to:
    the folder is then its local mirror)."""
    if spec.space_module != "auto":
        spec.space()  # a bad [space] fails before the data loads
    root = storage_root(storage)
    exp_dir = root / spec.name
    remote = remote_storage(storage)
    if remote is not None:
        if remote.has_experiment(spec.name) and not overwrite:
            raise UserError(
                f"{remote.uri(spec.name)}: an experiment named {spec.name!r} already exists; "
                f"continue it with `tuner resume {spec.name} --storage {remote.shown}`, start "
                f"another with --name NEW_NAME, or replace it with --overwrite")
        return exp_dir
    if exp_dir.exists() and (exp_dir / "experiment.json").exists() and not overwrite:
        n = len(load_records(exp_dir))
        raise UserError(
            f"{exp_dir}: an experiment named {spec.name!r} already exists ({n} trials); "
            f"continue it with `tuner resume {spec.name}`, start another with --name NEW_NAME, "
            f"or replace it with --overwrite"
        )
    if root.exists() and not root.is_dir():
        raise UserError(f"--storage {root}: is a file, not a folder; give a folder path")
    return exp_dir


def prepare(spec: ExperimentSpec, storage: str | None, *, overwrite: bool = False) -> Plan:
    """Validate everything that can fail before Ray starts (space, storage, MLflow, data,
    factory, metric) and fit the experiment to its data (tuner.auto): the Plan."""
    exp_dir = check_target(spec, storage, overwrite=overwrite)
    remote = remote_storage(storage)
    if spec.mlflow:
        try:
            import mlflow  # noqa: F401
        except ImportError:
            raise UserError(f"{spec.path}: [logging] mlflow needs MLflow, which is not "
                            f"installed: pip install 'tuner[mlflow]'") from None
    plan = resolve(spec, exp_dir)
    return replace(plan, remote=remote) if remote is not None else plan


def resolve(spec: ExperimentSpec, exp_dir: Path | None = None) -> Plan:
    """The Plan of `spec` on its data, without looking at the storage: the data loaded, the
    spec fitted to it, the factory and metric checked against it (final training's view)."""
    from tuner.auto import fit_to_data
    from tuner.data import load_spec_data
    from tuner.models import check_compatible
    from tuner.vocabulary import TASK_METRICS

    data = load_spec_data(spec)
    spec, derived = fit_to_data(spec, data)
    check_compatible(spec.factory, data.input_shape, data.variable_length,
                     where=f"{spec.path}: [model] factory", text=bool(data.vocab_size))
    reported = TASK_METRICS[data.task]
    if spec.search.metric not in reported:
        raise UserError(
            f"{spec.path}: [search] metric (or --metric): {data.task} trials report "
            f"{', '.join(reported)}, not {spec.search.metric!r}; pick one of those"
        )
    space = spec.space()
    from tuner.models import FAMILIES

    if spec.factory in FAMILIES:  # what must be in place before trials (weight files)
        FAMILIES[spec.factory].before_search(space, f"{spec.path}: [model]")
    return Plan(spec, space, data, exp_dir, tuple(derived))


def for_saved(exp_dir: Path, spec: ExperimentSpec | None = None, remote=None) -> Plan:
    """The plan of an experiment already run (its saved, resolved spec, read here unless
    given), for `tuner resume`: its data loaded again, nothing derived again."""
    from tuner.data import load_spec_data
    from tuner.experiment import load_saved

    spec = spec or load_saved(exp_dir)
    space = spec.space()
    return Plan(spec, space, load_spec_data(spec), Path(exp_dir), remote=remote)
