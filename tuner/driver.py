"""The driver: a validated experiment → a Ray Tune run → records, TensorBoard, best config.

from tuner.experiment import load
from tuner.driver import run
run(load("experiments/digits_cnn.toml"))
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from tuner.errors import UserError
from tuner.experiment import ExperimentSpec, load_saved, save_spec
from tuner.plan import print_plan, print_space, report
from tuner.ray_session import (
    PREFETCH,
    CtrlC,
    Prefetch,
    SteadyWorkingDir,
    init_ray,
    quiet_ray,
    skip_callback_census,
    stop_ray,
)
from tuner.resources import check_fits_a_node, gpu_share, trial_slots
from tuner.store import load_records, storage_root
from tuner.user_code import INPUTS
from tuner.vocabulary import TASK_METRICS


class TrialNamer:
    """trial_001, trial_002, ... in creation order; on resume, new trials take the lowest free
    numbers (those of trials removed because they had started after Ray Tune's last saved
    state), so the experiment's names stay trial_001 to trial_N.

    Ray copies the creator for every trial, so the names live at module level, keyed by the
    experiment folder, rather than on the instance.
    """

    _names: dict[str, dict[str, str]] = {}

    def __init__(self, exp_dir: Path):
        self.key = str(exp_dir)

    def __call__(self, trial) -> str:
        if self.key not in TrialNamer._names:  # first call in this process (run or resume)
            existing = sorted(p.name for p in Path(self.key).glob("trial_*") if p.is_dir())
            TrialNamer._names[self.key] = {f"existing-{i}": n for i, n in enumerate(existing)}
        names = TrialNamer._names[self.key]
        if trial.trial_id not in names:
            taken = set(names.values())
            number = next(i for i in range(1, len(names) + 2) if f"trial_{i:03d}" not in taken)
            names[trial.trial_id] = name = f"trial_{number:03d}"
            # a freed name's driver-side folder, left by an earlier driver on the same Ray
            # session (a cluster, a notebook), would make Ray add a suffix to the new trial's
            staging = getattr(getattr(trial, "storage", None), "experiment_driver_staging_path",
                              None)
            if staging and Path(staging).resolve() != Path(self.key).resolve():
                shutil.rmtree(Path(staging) / name, ignore_errors=True)
        return names[trial.trial_id]


def check_target(spec: ExperimentSpec, storage: str | None, *, overwrite: bool) -> Path:
    """The experiment's folder, checked: its space is valid, no experiment of that name is
    there (unless `overwrite`), the storage root is a folder."""
    if spec.space_module != "auto":
        spec.space()  # a bad [space] fails before the data loads
    root = storage_root(storage)
    exp_dir = root / spec.name
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


def prepare(spec: ExperimentSpec, storage: str | None, *, overwrite: bool = False):
    """Validate everything that can fail before Ray starts: space, data, storage. Returns the
    spec resolved for the data (tuner.auto), what it derived, the space, data and folder."""
    from tuner.auto import fit_to_data
    from tuner.data import load_spec_data

    exp_dir = check_target(spec, storage, overwrite=overwrite)
    if spec.mlflow:
        try:
            import mlflow  # noqa: F401
        except ImportError:
            raise UserError(f"{spec.path}: [logging] mlflow needs MLflow, which is not "
                            f"installed: pip install 'tuner[mlflow]'") from None
    data = load_spec_data(spec)
    spec, derived = fit_to_data(spec, data)
    space = spec.space()
    from tuner.models import check_compatible

    check_compatible(spec.factory, data.input_shape, data.variable_length,
                     where=f"{spec.path}: [model] factory")
    reported = TASK_METRICS[data.task]
    if spec.search.metric not in reported:
        raise UserError(
            f"{spec.path}: [search] metric (or --metric): {data.task} trials report "
            f"{', '.join(reported)}, not {spec.search.metric!r}; pick one of those"
        )
    return spec, derived, space, data, exp_dir


def run(
    spec: ExperimentSpec,
    *,
    storage: str | None = None,
    address: str | None = None,
    overwrite: bool = False,
    warm_start: str | None = None,
    warm_top: int = 10,
    dry_run: bool = False,
    out=None,
    ray_output: bool = False,
) -> int:
    """Tune the experiment; returns the exit code (0 done, 1 every trial failed).

    `warm_start` names an earlier experiment whose `warm_top` best trials seed the searcher.
    `dry_run`: validate and print the plan and the space, start nothing, write nothing.
    `ray_output`: show what the trials' processes print (a local Ray's workers), and Ray's
    log, instead of keeping them out of the terminal or notebook cell.
    """
    out = out or sys.stdout
    spec, derived, space, data, exp_dir = prepare(spec, storage,
                                                  overwrite=overwrite or dry_run)
    warm = None
    if warm_start:  # checked before anything is printed or started
        from tuner.search.warmstart import load_warm_start

        warm = load_warm_start(warm_start, storage, space, metric=spec.search.metric,
                               mode=spec.search.mode, top=warm_top, searcher=spec.search.searcher)
    print_plan(spec, space, data, exp_dir, out, warm, derived)
    if dry_run:
        print(file=out)
        print_space(space, spec.space_module, out, derived)
        print("dry run: valid; nothing started", file=out)
        return 0
    if overwrite and exp_dir.exists():
        for child in exp_dir.iterdir():  # inputs/: what an experiment made in Python reads
            if child.name != INPUTS:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    s = spec.search
    quiet_ray(address)
    from tuner.search.searchers import SEARCHERS, check_installed

    check_installed(s.searcher)
    if address is None and spec.resources.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UserError(f'{spec.path}: [resources] device = "cuda", but torch sees no GPU on '
                            f'this machine; use device = "auto" to fall back to the CPU')
    timing = {"started_at": time.time()}
    # only while a local Ray starts: joining a cluster takes a fraction of a second, with
    # nothing to overlap, and its client code is better left to import alone
    imports = Prefetch(*SEARCHERS[s.searcher].modules, *PREFETCH) if address is None else None
    started_ray = init_ray(address, quiet=not ray_output)
    try:
        if imports is not None:
            imports.join()
        skip_callback_census()
        searcher, scheduler, param_space = _search_algorithms(spec, space, warm)
        return _search(spec, space, data, exp_dir, (searcher, param_space, scheduler), timing,
                       out)
    finally:
        stop_ray(started_ray)


def _search_algorithms(spec: ExperimentSpec, space, warm):
    """(searcher, scheduler, param_space) of the experiment, the searcher warm-started."""
    from tuner.search import build_scheduler, build_searcher

    s = spec.search
    searcher, param_space = build_searcher(
        s.searcher,
        space,
        metric=s.metric,
        mode=s.mode,
        seed=s.seed,
        samples=s.samples,
        initial=s.initial_points,
    )
    if warm:
        from tuner.search.warmstart import seed_searcher

        seed_searcher(searcher, s.searcher, space, warm)
    scheduler = build_scheduler(
        s.scheduler,
        metric=s.metric,
        mode=s.mode,
        max_epochs=s.max_epochs,
        grace_period=s.grace_period,
        reduction_factor=s.reduction_factor,
        searcher=s.searcher,
    )
    return searcher, scheduler, param_space


def _search(spec, space, data, exp_dir, search, timing: dict, out) -> int:
    """Tuner.fit on a started Ray; the searcher and scheduler come built (and validated)."""
    import ray

    from tuner.tracking.callback import TunerCallback
    from tuner.tracking.progress import LiveSummary

    searcher, param_space, scheduler = search
    s = spec.search
    timing["ray_ready_at"] = time.time()
    cluster = ray.cluster_resources()
    gpu = gpu_share(spec, cluster, out)
    check_fits_a_node(spec, gpu, ray.nodes())

    exp_dir.mkdir(parents=True, exist_ok=True)
    save_spec(spec, exp_dir)

    slots = s.max_concurrent or trial_slots(cluster, spec.resources.cpu, gpu)
    trainable = _trainable(spec, space, data, gpu)
    callback = TunerCallback(
        exp_dir, spec.name, space, s.metric, s.mode, s.max_epochs, s.samples, LiveSummary(out),
        best_metrics=TASK_METRICS[data.task],
    )
    tuner = _tuner(spec, exp_dir, trainable, search, slots, callback)
    print(
        f"  ray    {slots} trial(s) at a time, {spec.resources.cpu:g} CPU"
        f"{f' + {gpu:g} GPU' if gpu else ''} each",
        file=out,
    )
    out.flush()
    timing["search_started_at"] = time.time()
    interrupted = _fit(tuner, exp_dir)
    timing.update(finished_at=time.time(), first_result_at=callback.first_result_at, slots=slots,
                  trials=len(callback.records),
                  searcher_suggest_s=getattr(searcher, "suggest_s", None), **driver_usage())
    write_timing(exp_dir, timing)
    return report(exp_dir, spec, timing["finished_at"] - timing["started_at"], out,
                  interrupted=interrupted)


def _tuner(spec: ExperimentSpec, exp_dir: Path, trainable, search, slots: int, callback):
    """The ray.tune.Tuner of the search."""
    from ray import tune
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

    searcher, param_space, scheduler = search
    s = spec.search
    return tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=scheduler,
            num_samples=s.samples,
            max_concurrent_trials=slots,
            # One worker process per slot for the whole search instead of one per trial: a new
            # process imports torch again (seconds, against epochs of a fraction of a second),
            # which made the digits search 4× slower than its compute. Safe here because each
            # trial builds its model, optimizer and batch order afresh and seeds every random
            # source from the experiment seed and its config; only imports and the read-only
            # data carry over (the same seed gives the same trials: tested).
            # Hyperband (and BOHB) pause trials and resume them later; resuming a paused trial
            # in a reused worker hung a test run, so those schedulers start a worker per trial.
            reuse_actors=s.scheduler in ("asha", "median", "fifo") and s.searcher != "bohb",
            time_budget_s=s.time_budget or None,
            trial_name_creator=TrialNamer(exp_dir),
            trial_dirname_creator=TrialNamer(exp_dir),
        ),
        run_config=tune.RunConfig(
            name=spec.name,
            storage_path=str(exp_dir.parent),
            callbacks=[callback, CSVLoggerCallback(), JsonLoggerCallback(),
                       *mlflow_callbacks(spec)],
            # every checkpoint registered, none deleted by Tune: each trial keeps its two newest
            # itself (training/trial.py, prune_checkpoints). With num_to_keep set, Tune saves
            # its whole experiment state after every checkpoint of every trial, work that grows
            # with the trials so far (a 500-trial search of short trials spent 3/4 of its time
            # there); it now saves on its own period, and `tuner resume` keeps the trials that
            # finished after that save (tune_state.keep_unsaved_finished_trials)
            checkpoint_config=tune.CheckpointConfig(num_to_keep=None),
            failure_config=tune.FailureConfig(max_failures=s.max_failures),
            verbose=0,
            progress_reporter=quiet_reporter(),
        ),
    )


def quiet_reporter():
    """A Tune progress reporter that shows nothing: the live summary is tuner's. Without it,
    in a notebook Tune picks its HTML reporter, which clears the cell's output (the plan
    printed above it) and leaves an empty display behind."""
    from ray.tune import ProgressReporter

    class Quiet(ProgressReporter):
        def should_report(self, trials, done=False):
            return False

        def report(self, trials, done, *sys_info):
            pass

    return Quiet()


def _fit(tuner, exp_dir: Path) -> bool:
    """Run the search; True when Ctrl-C stopped it (the records then follow Tune's state)."""
    TrialNamer._names.pop(str(exp_dir), None)  # names follow the folder as it is now
    with CtrlC() as ctrl_c, SteadyWorkingDir(exp_dir):
        tuner.fit()
    if ctrl_c.pressed:
        from tuner.tune_state import reopen_interrupted_trials

        reopen_interrupted_trials(exp_dir)
    return ctrl_c.pressed


def mlflow_callbacks(spec: ExperimentSpec) -> list:
    """Ray Tune's own MLflow logger when [logging] mlflow names a tracking URI: one MLflow run
    per trial (named like its TensorBoard run) with its config as params and every epoch's
    metrics, in an MLflow experiment named after this one."""
    if not spec.mlflow:
        return []
    from ray.air.integrations.mlflow import MLflowLoggerCallback

    return [MLflowLoggerCallback(tracking_uri=spec.mlflow, experiment_name=spec.name,
                                 save_artifact=False)]


def driver_usage() -> dict:
    """This process's CPU seconds and peak resident memory so far (Linux, macOS)."""
    try:
        import resource
    except ImportError:  # Windows
        return {}
    u = resource.getrusage(resource.RUSAGE_SELF)
    peak = u.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)  # bytes, or KiB
    return {"driver_cpu_s": round(u.ru_utime + u.ru_stime, 2),
            "driver_peak_rss_mb": round(peak, 1)}


def write_timing(exp_dir: Path, timing: dict) -> None:
    """timing.json: wall-clock moments of this run (time.time()), for benchmarks and users who
    want to know where the minutes went (Ray start, first result, search)."""
    import json

    (exp_dir / "timing.json").write_text(json.dumps(timing, indent=1) + "\n")


def _trainable(spec: ExperimentSpec, space, data, gpu: float):
    """The trial function with the data (train + valid only) and setup sent to workers once."""
    from ray import tune

    from tuner.training.trial import TrialSetup, run_trial

    s = spec.search
    setup = TrialSetup(spec.factory, space, s.max_epochs, s.seed, spec.resources.cpu, gpu,
                       folds=spec.data.folds or 1, objects=_python_objects(spec))
    return tune.with_resources(
        tune.with_parameters(run_trial, data=data.for_tuning(), setup=setup),
        {"cpu": spec.resources.cpu, "gpu": gpu},
    )


def _python_objects(spec: ExperimentSpec) -> dict:
    """A factory made in Python: its pickled bytes, for the workers (which may not share this
    machine's disk) to unpickle with a clear message when they cannot import what it uses."""
    from tuner.user_code import is_python_object, python_object

    if not is_python_object(spec.factory):
        return {}
    import cloudpickle

    return {spec.factory: cloudpickle.dumps(python_object(spec.factory,
                                                          where="[model] factory"))}


def resume(
    name_or_dir: str, *, storage: str | None = None, address: str | None = None, out=None,
    ray_output: bool = False,
) -> int:
    """Continue an interrupted experiment from its folder (finished trials are kept)."""
    from tuner.data import load_spec_data
    from tuner.store import find_experiment

    out = out or sys.stdout
    exp_dir = find_experiment(name_or_dir, storage)
    spec = load_saved(exp_dir)
    if not any(exp_dir.glob("experiment_state-*.json")):
        raise UserError(
            f"{exp_dir}: Ray Tune saved no state there, so there is nothing to "
            f"resume; start it again with `tuner run ... --overwrite`"
        )
    space = spec.space()
    data = load_spec_data(spec)
    from tuner.tune_state import reconcile

    reconcile(exp_dir, out)
    done = [r for r in load_records(exp_dir) if r.status.ended]
    print(
        f"tuner: resuming {spec.name} ({len(done)}/{spec.search.samples} trials finished) "
        f"from {exp_dir}",
        file=out,
    )
    out.flush()
    quiet_ray(address)
    from ray import tune

    skip_callback_census()
    started = time.monotonic()
    started_ray = init_ray(address, quiet=not ray_output)
    try:
        import ray

        gpu = gpu_share(spec, ray.cluster_resources(), out)
        tuner = tune.Tuner.restore(
            str(exp_dir),
            trainable=_trainable(spec, space, data, gpu),
            resume_unfinished=True,
            resume_errored=False,
        )
        interrupted = _fit(tuner, exp_dir)
        return report(exp_dir, spec, time.monotonic() - started, out, interrupted=interrupted)
    finally:
        stop_ray(started_ray)


