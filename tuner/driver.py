"""The driver: a validated experiment → a Ray Tune run → records, TensorBoard, best config.

from tuner.experiment import load
from tuner.driver import run
run(load("experiments/digits_cnn.toml"))
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

from tuner.errors import UserError
from tuner.experiment import ExperimentSpec, load_saved, save_spec
from tuner.results import load_records, storage_root
from tuner.vocabulary import TASK_METRICS, Status


class TrialNamer:
    """trial_001, trial_002, ... in creation order (continuing after existing trials on resume).

    Ray copies the creator for every trial, so the counter lives at module level, keyed by the
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
            names[trial.trial_id] = f"trial_{len(names) + 1:03d}"
        return names[trial.trial_id]


def init_ray(address: str | None, *, quiet: bool = True) -> bool:
    """Join a cluster at `address`, or start a local Ray bound to 127.0.0.1 only.

    True when this call started a local Ray, which `stop_ray` then stops.
    """
    import ray

    if ray.is_initialized():
        return False
    level = logging.ERROR if quiet else logging.INFO
    if address:
        ray.init(address=address, logging_level=level, log_to_driver=not quiet)
    else:
        ray.init(
            _node_ip_address="127.0.0.1",
            include_dashboard=False,
            logging_level=level,
            log_to_driver=not quiet,
            configure_logging=True,
        )
    return not address


def stop_ray(started: bool) -> None:
    """Stop the local Ray that `init_ray` started (not a cluster that was joined)."""
    if not started:
        return
    import ray

    try:
        from ray._private import ray_constants, worker

        # The autoscaler's monitor outlives SIGTERM by the full second Ray then waits for it;
        # on one machine it has nothing to save, so it goes first, without the wait.
        worker._global_node._kill_process_type(
            ray_constants.PROCESS_TYPE_MONITOR, allow_graceful=False, check_alive=False)
    except Exception:  # another Ray version's internals: the plain shutdown still works
        pass
    ray.shutdown()


def loopback_only() -> None:
    """Make the local Ray this process starts listen on 127.0.0.1 only.

    On Linux, Ray 2.60 swaps 127.0.0.1 given as the node address for the machine's outward
    address and its servers listen on every interface. With multi-node mode off (the setting
    macOS and Windows get by default), a local Ray keeps to loopback. Must run before `ray`
    is imported; never for a driver joining a cluster, whose nodes must reach it.
    """
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


def _quiet_ray(address: str | None = None) -> None:
    if address is None:
        loopback_only()
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"  # we add CSV/JSON; TB is ours
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "100")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    # Ray starts one idle worker per CPU for tasks; Tune's trials run in actors, which get
    # processes of their own, so those workers only take CPU from the first trials
    os.environ.setdefault("RAY_prestart_worker_first_driver", "0")
    # no usage statistics sent anywhere from a tuning job (it may run offline, on loopback)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    for name in ("ray", "ray.tune", "ray.train", "ray.air"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # A failing trial is tuner's to report (status, reason, and the traceback in the trial's
    # error.txt); Tune would also print each traceback in the middle of the live summary.
    logging.getLogger("ray.tune.execution.tune_controller").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", module="ray")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)


def _skip_callback_census() -> None:
    """Skip Ray Tune's count of the callbacks it was given, kept for its usage statistics.

    To count them it imports every logging integration it knows (MLflow, Weights & Biases,
    Comet, Aim); with MLflow installed that is 0.7 s at the start of each search, while the
    first trials wait for the driver. With usage statistics off the count is never sent.
    Call it once Ray Tune is imported (importing it here would cost the driver a second).
    """
    if os.environ.get("RAY_USAGE_STATS_ENABLED") != "0":
        return
    try:
        from ray.air._internal import usage
    except ImportError:  # another Ray layout: the census stays, and so does correctness
        return
    usage.tag_callbacks = lambda callbacks: False


def prepare(spec: ExperimentSpec, storage: str | None, *, overwrite: bool = False):
    """Validate everything that can fail before Ray starts: space, data, storage."""
    from tuner.data import load_spec_data

    space = spec.space()
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
    if spec.mlflow:
        try:
            import mlflow  # noqa: F401
        except ImportError:
            raise UserError(f"{spec.path}: [logging] mlflow needs MLflow, which is not "
                            f"installed: pip install 'tuner[mlflow]'") from None
    data = load_spec_data(spec)
    from tuner.models import check_compatible

    check_compatible(spec.factory, data.input_shape, data.variable_length,
                     where=f"{spec.path}: [model] factory")
    reported = TASK_METRICS[data.task]
    if spec.search.metric not in reported:
        raise UserError(
            f"{spec.path}: [search] metric (or --metric): {data.task} trials report "
            f"{', '.join(reported)}, not {spec.search.metric!r}; pick one of those"
        )
    return space, data, exp_dir


def batch_size_note(space, n_train: int) -> str | None:
    """A hint when the largest batch size leaves two or fewer updates per epoch, else None.

    Small sets (a few hundred series) are common in this course's work; the shared prior's
    32-256 suits thousands of examples and would make most sampled trials barely train.
    """
    prior = space.priors.get("batch_size")
    if prior is None or not prior.discrete:
        return None
    largest = max(int(v) for v in prior.values())
    updates = -(-n_train // largest)
    if updates > 2:
        return None
    top = max(2, 1 << max(0, (n_train // 4).bit_length() - 1))  # ≥ 4 updates per epoch
    suggest = ", ".join(str(b) for b in (top // 4, top // 2, top) if b >= 1)
    return (f"batch_size up to {largest} on {n_train} training examples leaves "
            f"{'only one update' if updates == 1 else f'{updates} updates'} per epoch; "
            f"smaller batches train more per epoch, e.g. in [space]: "
            f"batch_size = {{ choice = [{suggest}] }}")


def run(
    spec: ExperimentSpec,
    *,
    storage: str | None = None,
    address: str | None = None,
    overwrite: bool = False,
    warm_start: str | None = None,
    warm_top: int = 10,
    out=None,
) -> int:
    """Tune the experiment; returns the exit code (0 done, 1 every trial failed).

    `warm_start` names an earlier experiment whose `warm_top` best trials seed the searcher.
    """
    out = out or sys.stdout
    space, data, exp_dir = prepare(spec, storage, overwrite=overwrite)
    warm = None
    if warm_start:  # checked before anything is printed or started
        from tuner.search.warmstart import load_warm_start

        warm = load_warm_start(warm_start, storage, space, metric=spec.search.metric,
                               mode=spec.search.mode, top=warm_top, searcher=spec.search.searcher)
    if overwrite and exp_dir.exists():
        shutil.rmtree(exp_dir)
    s = spec.search
    print(f"tuner: {spec.name} — {spec.description}".rstrip(" —"), file=out)
    print(f"  data   {data.summary()}", file=out)
    size = space.size()
    print(
        f"  space  {spec.space_module}: {size['dimensions']} dimensions "
        f"({len(size['continuous'])} continuous), {size['discrete_combinations']:,} discrete "
        f"combinations",
        file=out,
    )
    sched = "hyperband (BOHB)" if s.searcher == "bohb" else s.scheduler
    print(
        f"  search {s.samples} trials × ≤{s.max_epochs} epochs"
        f"{f' within {s.time_budget} s' if s.time_budget else ''}, {s.searcher} + {sched}, "
        f"{s.mode} {s.metric}, seed {s.seed}",
        file=out,
    )
    print(f"  output {exp_dir}", file=out)
    note = batch_size_note(space, len(data.x_train))
    if note:
        print(f"  note   {note}", file=out)
    out.flush()

    _quiet_ray(address)
    from tuner.search.searchers import MODULES, check_installed

    check_installed(s.searcher)
    if address is None and spec.resources.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UserError(f'{spec.path}: [resources] device = "cuda", but torch sees no GPU on '
                            f'this machine; use device = "auto" to fall back to the CPU')
    timing = {"started_at": time.time()}
    # only while a local Ray starts: joining a cluster takes a fraction of a second, with
    # nothing to overlap, and its client code is better left to import alone
    imports = Prefetch(*MODULES[s.searcher], *PREFETCH) if address is None else None
    started_ray = init_ray(address)
    try:
        if imports is not None:
            imports.join()
        _skip_callback_census()
        searcher, scheduler, param_space = _search_algorithms(spec, space, warm, out)
        return _search(spec, space, data, exp_dir, (searcher, param_space, scheduler), timing,
                       out)
    finally:
        stop_ray(started_ray)


# what the driver imports for Tuner.fit, besides the searcher's modules
PREFETCH = ("ray.tune", "ray.tune.schedulers", "ray.tune.logger", "tuner.tracking.callback")


class Prefetch:
    """Import modules in a thread while the main thread waits for Ray's processes to start.

    `ray.init` spends most of its 3-4 s waiting for the raylet and its agents, and Ray Tune and
    HyperOpt (SciPy included) take 2 s to import: done side by side, `tuner run` reaches its
    first trial about a second and a half sooner. A module that fails here is imported again,
    with its real error, where it is used.
    """

    def __init__(self, *modules: str):
        import importlib
        import threading

        import ray  # noqa: F401  (Ray's own package first, by the thread that starts Ray)

        def load():
            for m in modules:
                try:
                    importlib.import_module(m)
                except BaseException:  # noqa: BLE001 (reported again, properly, on use)
                    pass

        self.thread = threading.Thread(target=load, name="tuner-prefetch", daemon=True)
        self.thread.start()

    def join(self) -> None:
        self.thread.join()


def _search_algorithms(spec: ExperimentSpec, space, warm, out):
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
        print(f"  warm   {warm.summary()}", file=out)
        out.flush()
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
    from ray import tune
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

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

    slots = s.max_concurrent or _slots(cluster, spec.resources.cpu, gpu)
    trainable = _trainable(spec, space, data, gpu)
    callback = TunerCallback(
        exp_dir, spec.name, space, s.metric, s.mode, s.max_epochs, s.samples, LiveSummary(out),
        best_metrics=TASK_METRICS[data.task],
    )
    tuner = tune.Tuner(
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
            # one checkpoint per trial: Tune then saves the experiment state after each, so a
            # killed driver loses no trial that reported (tested)
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            failure_config=tune.FailureConfig(max_failures=s.max_failures),
            verbose=0,
        ),
    )
    print(
        f"  ray    {slots} trial(s) at a time, {spec.resources.cpu:g} CPU"
        f"{f' + {gpu:g} GPU' if gpu else ''} each",
        file=out,
    )
    out.flush()
    timing["search_started_at"] = time.time()
    with CtrlC() as ctrl_c, SteadyWorkingDir(exp_dir):
        tuner.fit()
    timing.update(finished_at=time.time(), first_result_at=callback.first_result_at, slots=slots)
    write_timing(exp_dir, timing)
    if ctrl_c.pressed:
        from tuner.tune_state import reopen_interrupted_trials

        reopen_interrupted_trials(exp_dir)
    return report(exp_dir, spec, timing["finished_at"] - timing["started_at"], out,
                  interrupted=ctrl_c.pressed)


def mlflow_callbacks(spec: ExperimentSpec) -> list:
    """Ray Tune's own MLflow logger when [logging] mlflow names a tracking URI: one MLflow run
    per trial (named like its TensorBoard run) with its config as params and every epoch's
    metrics, in an MLflow experiment named after this one."""
    if not spec.mlflow:
        return []
    from ray.air.integrations.mlflow import MLflowLoggerCallback

    return [MLflowLoggerCallback(tracking_uri=spec.mlflow, experiment_name=spec.name,
                                 save_artifact=False)]


def write_timing(exp_dir: Path, timing: dict) -> None:
    """timing.json: wall-clock moments of this run (time.time()), for benchmarks and users who
    want to know where the minutes went (Ray start, first result, search)."""
    import json

    (exp_dir / "timing.json").write_text(json.dumps(timing, indent=1) + "\n")


def check_fits_a_node(spec: ExperimentSpec, gpu: float, nodes: list[dict]) -> None:
    """A trial runs on one node: asking more than the largest node has would wait forever."""
    alive = [n.get("Resources", {}) for n in nodes if n.get("Alive")]
    for kind, want, key in (("CPU", spec.resources.cpu, "cpu"), ("GPU", gpu, "gpu")):
        largest = max((float(r.get(kind, 0)) for r in alive), default=0.0)
        if want > largest:
            raise UserError(
                f"{spec.path}: [resources] {key} = {want:g} per trial (or --{key}s-per-trial), "
                f"but the largest Ray node has {largest:g} {kind}s and a trial runs on one node; "
                f"ask for at most {largest:g}"
            )


def gpu_share(spec: ExperimentSpec, cluster: dict, out=None) -> float:
    """The share of a GPU each trial asks Ray for, from [resources] and the cluster's GPUs.

    device = "auto": a GPU per trial (or the `gpu` share) when the cluster has GPUs, else the
    CPU (said once); "cuda": GPUs required; "cpu": none.
    """
    res = spec.resources
    gpus = float(cluster.get("GPU", 0))
    if res.device == "cpu":
        return 0.0
    if gpus <= 0:
        if res.device == "cuda":
            raise UserError(
                f'{spec.path}: [resources] device = "cuda", but the Ray cluster has no GPU; '
                f'use device = "auto" to fall back to the CPU, or join a cluster with GPUs'
            )
        if res.gpu > 0:
            print(f"  note   [resources] gpu = {res.gpu:g}, but the Ray cluster has no GPU: "
                  f"trials run on the CPU", file=out or sys.stdout)
        return 0.0
    return res.gpu or 1.0


def _trainable(spec: ExperimentSpec, space, data, gpu: float):
    """The trial function with the data (train + valid only) and setup sent to workers once."""
    from ray import tune

    from tuner.training.trial import TrialSetup, run_trial

    s = spec.search
    setup = TrialSetup(spec.factory, space, s.max_epochs, s.seed, spec.resources.cpu, gpu)
    return tune.with_resources(
        tune.with_parameters(run_trial, data=data.for_tuning(), setup=setup),
        {"cpu": spec.resources.cpu, "gpu": gpu},
    )


def resume(
    name_or_dir: str, *, storage: str | None = None, address: str | None = None, out=None
) -> int:
    """Continue an interrupted experiment from its folder (finished trials are kept)."""
    from tuner.data import load_spec_data
    from tuner.results import find_experiment

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
    from tuner.tune_state import (
        drop_unsaved_trials,
        mark_finished_trials,
        repoint_deleted_checkpoints,
    )

    for name in drop_unsaved_trials(exp_dir):
        print(f"  {name} started after Ray Tune last saved the experiment: it runs again "
              f"as a new trial", file=out)
    finished = mark_finished_trials(exp_dir)
    if finished:
        print(f"  {', '.join(finished)} had finished after Ray Tune last saved the experiment: "
              f"kept as they ended", file=out)
    for name, named, used in repoint_deleted_checkpoints(exp_dir):
        print(f"  {name}: Ray Tune's saved state names {named}, deleted since; it continues "
              f"from {used}", file=out)
    done = [r for r in load_records(exp_dir) if r.status.ended]
    print(
        f"tuner: resuming {spec.name} ({len(done)}/{spec.search.samples} trials finished) "
        f"from {exp_dir}",
        file=out,
    )
    out.flush()
    _quiet_ray(address)
    from ray import tune

    _skip_callback_census()
    started = time.monotonic()
    started_ray = init_ray(address)
    try:
        import ray

        gpu = gpu_share(spec, ray.cluster_resources(), out)
        tuner = tune.Tuner.restore(
            str(exp_dir),
            trainable=_trainable(spec, space, data, gpu),
            resume_unfinished=True,
            resume_errored=False,
        )
        with CtrlC() as ctrl_c, SteadyWorkingDir(exp_dir):
            tuner.fit()
        if ctrl_c.pressed:
            from tuner.tune_state import reopen_interrupted_trials

            reopen_interrupted_trials(exp_dir)
        return report(exp_dir, spec, time.monotonic() - started, out, interrupted=ctrl_c.pressed)
    finally:
        stop_ray(started_ray)


class SteadyWorkingDir:
    """Keep `Tuner.fit` from failing after its trials because the working directory went.

    A Ray job's driver runs in the job's unpacked `working_dir`, under Ray's temp dir, which
    Ray deletes once no process on the node uses it; with several nodes on one machine
    sharing that temp dir, another node's agent deletes it while the driver still runs, and
    Ray Tune's closing steps (`os.path.relpath`, so `os.getcwd()`) raised FileNotFoundError
    after every trial had finished. Everything the run reads from there is read by now, so
    such a driver moves to the experiment folder first; any other driver whose directory
    vanishes mid-run ends the same way instead of with a traceback (Tune saved its state:
    what finished is kept, and `tuner resume` finishes the rest).
    """

    def __init__(self, exp_dir: Path):
        self.exp_dir = Path(exp_dir)

    def __enter__(self):
        try:
            if "runtime_resources" in Path(os.getcwd()).parts:
                os.chdir(self.exp_dir)
        except FileNotFoundError:
            os.chdir(self.exp_dir)
        return self

    def __exit__(self, kind, error, tb):
        if kind is None or not issubclass(kind, FileNotFoundError):
            return False
        try:
            os.getcwd()
            return False  # another missing file: a real error
        except FileNotFoundError:
            os.chdir(self.exp_dir)
            return True


class CtrlC:
    """Whether Ctrl-C (SIGINT) ended `Tuner.fit` early.

    Ray Tune catches the first Ctrl-C itself: it stops the trials, saves the experiment and
    returns as if the search were done, putting back the handler it found. So the handler in
    place after `fit` tells: Tune's own means no Ctrl-C came, the one from before means it did.
    """

    def __enter__(self):
        import signal
        import threading

        self.pressed = False
        self.watching = (threading.current_thread() is threading.main_thread()
                         and os.environ.get("TUNE_DISABLE_SIGINT_HANDLER", "0") == "0")
        self.before = signal.getsignal(signal.SIGINT) if self.watching else None
        return self

    def __exit__(self, *exc):
        import signal

        if self.watching:
            self.pressed = signal.getsignal(signal.SIGINT) is self.before
            signal.signal(signal.SIGINT, self.before)
        return False


def _slots(resources: dict, cpu: float, gpu: float) -> int:
    n = int(resources.get("CPU", 1) // cpu) if cpu else 1_000
    if gpu:
        n = min(n, int(resources.get("GPU", 0) // gpu))
    return max(n, 1)


def report(exp_dir: Path, spec: ExperimentSpec, wall_s: float, out, *,
           interrupted: bool = False) -> int:
    """Print the end-of-run summary; 0 when some trial produced a result, 1 when none did,
    130 when Ctrl-C stopped the search (state saved for `tuner resume`)."""
    from tuner.results import best_record
    from tuner.tracking.progress import counts, short_config

    records = load_records(exp_dir)
    s = spec.search
    c = counts(records)
    best = best_record(records, s.metric, s.mode)
    unfinished = sum(not r.status.ended for r in records)
    print(
        f"\n{'interrupted after' if interrupted else 'done in'} {wall_s:.0f} s: "
        f"{len(records)} trials · {c[Status.COMPLETED]} completed · "
        f"{c[Status.STOPPED_EARLY]} stopped early · {c[Status.DIVERGED]} diverged · "
        f"{c[Status.ERRORED]} errored{f' · {unfinished} unfinished' if unfinished else ''}",
        file=out,
    )
    failed = [r for r in records if r.status.failed]
    for r in failed[:8]:
        print(f"  {r.trial} {r.status}: {r.reason}", file=out)
    if len(failed) > 8:
        print(f"  ... and {len(failed) - 8} more: tuner status {spec.name}", file=out)
    errored = [r for r in failed if r.status == Status.ERRORED]
    if errored:
        print(f"  full tracebacks: error.txt in each errored trial's folder, e.g. "
              f"{exp_dir / errored[0].trial / 'error.txt'}", file=out)
    if interrupted:
        again = (spec.name if exp_dir.parent.resolve() == storage_root(None).resolve()
                 else str(exp_dir))
        print(f"stopped by Ctrl-C; Ray Tune saved the experiment: finished trials are kept, "
              f"unfinished ones continue from their last checkpoint with\n"
              f"       tuner resume {again}", file=out)
        return 130
    if best is None:
        print(
            f"no trial produced a result: every trial diverged or errored; see the reasons "
            f"with `tuner status {spec.name}`",
            file=out,
        )
        return 1
    print(
        f"best   {best.trial}: {s.metric} {best.best[s.metric]:.4f} at epoch "
        f"{best.best_epoch[s.metric]} ({best.status})",
        file=out,
    )
    print(f"       {short_config(best.config, 99)}", file=out)
    print(f"next   tuner best {spec.name} -o best.toml", file=out)
    print(f"       tuner train {spec.path} --config best.toml", file=out)
    print(f"       tensorboard --logdir {exp_dir}", file=out)
    return 0
