"""The driver: a plan → a Ray Tune run → records, TensorBoard, best config.

from tuner.experiment import load
from tuner.driver import run
run(load("experiments/digits_cnn.toml"))

Everything Ray-specific beyond `ray.init` is in tuner.raytune; this module decides what runs.
"""

from __future__ import annotations

import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from tuner.console import print_plan, print_space, summary
from tuner.errors import UserError
from tuner.experiment import ExperimentSpec, load_saved, save_spec
from tuner.plan import Plan, for_saved, prepare
from tuner.raytune.session import (
    PREFETCH,
    Prefetch,
    init_ray,
    quiet_ray,
    skip_callback_census,
    stop_ray,
)
from tuner.resources import check_fits_a_node, gpu_share, trial_slots
from tuner.store import load_records
from tuner.user_code import INPUTS
from tuner.vocabulary import TASK_METRICS


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
    plan = prepare(spec, storage, overwrite=overwrite or dry_run)
    warm = None
    if warm_start:  # checked before anything is printed or started
        from tuner.search.warmstart import load_warm_start

        s = plan.spec.search
        warm = load_warm_start(warm_start, storage, plan.space, metric=s.metric, mode=s.mode,
                               top=warm_top, searcher=s.searcher)
    print_plan(plan, out, warm)
    if dry_run:
        print(file=out)
        print_space(plan.space, plan.spec.space_module, out, plan.derived)
        print("dry run: valid; nothing started", file=out)
        return 0
    if overwrite and plan.exp_dir.exists():
        _clear(plan.exp_dir)
    if overwrite and plan.remote is not None:
        plan.remote.delete(plan.spec.name, keep=INPUTS)
    return _start(plan, warm, address, ray_output, out)


def check_local_device(spec) -> None:
    """device = "cuda" or "mps" on a machine whose torch sees no such device: one line."""
    import torch

    from tuner.training.loop import mps_available

    wanted = spec.resources.device
    if wanted == "cuda" and not torch.cuda.is_available():
        raise UserError(f'{spec.path}: [resources] device = "cuda", but torch sees no GPU on '
                        f'this machine; use device = "auto" to fall back to the CPU')
    if wanted == "mps" and not mps_available():
        raise UserError(f'{spec.path}: [resources] device = "mps", but torch sees no Apple '
                        f'GPU (MPS) on this machine; use device = "auto" to fall back to the CPU')


def _clear(exp_dir: Path) -> None:
    """An experiment folder emptied for --overwrite, but for inputs/ (what an experiment made
    in Python reads)."""
    for child in exp_dir.iterdir():
        if child.name != INPUTS:
            shutil.rmtree(child) if child.is_dir() else child.unlink()


def _start(plan: Plan, warm, address: str | None, ray_output: bool, out) -> int:
    """Start or join Ray, build the searcher and scheduler, search."""
    from tuner.search.searchers import SEARCHERS, check_installed

    spec = plan.spec
    quiet_ray(address)
    check_installed(spec.search.searcher)
    if address is None and spec.resources.device in ("cuda", "mps"):
        check_local_device(spec)
    timing = {"started_at": time.time()}
    # only while a local Ray starts: joining a cluster takes a fraction of a second, with
    # nothing to overlap, and its client code is better left to import alone
    imports = (Prefetch(*SEARCHERS[spec.search.searcher].modules, *PREFETCH)
               if address is None else None)
    started_ray = init_ray(address, quiet=not ray_output)
    try:
        if imports is not None:
            imports.join()
        skip_callback_census()
        return _search(plan, algorithms(plan, warm), timing, out)
    finally:
        stop_ray(started_ray)


def algorithms(plan: Plan, warm=None):
    """The searcher (warm-started), its param_space and the scheduler of the plan."""
    from tuner.raytune.search import Algorithms
    from tuner.search import build_scheduler, build_searcher

    s = plan.spec.search
    searcher, param_space = build_searcher(s.searcher, plan.space, metric=s.metric,
                                           mode=s.mode, seed=s.seed, samples=s.samples,
                                           initial=s.initial_points)
    if warm:
        from tuner.search.warmstart import seed_searcher

        seed_searcher(searcher, s.searcher, plan.space, warm)
    scheduler = build_scheduler(s.scheduler, metric=s.metric, mode=s.mode,
                                max_epochs=s.max_epochs, grace_period=s.grace_period,
                                reduction_factor=s.reduction_factor, searcher=s.searcher)
    return Algorithms(searcher, param_space, scheduler)


def _search(plan: Plan, algorithms, timing: dict, out) -> int:
    """Tuner.fit on a started Ray; the searcher and scheduler come built (and validated)."""
    import ray

    from tuner.raytune.search import build_tuner, fit, trainable
    from tuner.tracking.callback import TunerCallback
    from tuner.tracking.progress import LiveSummary

    spec, s, exp_dir = plan.spec, plan.spec.search, plan.exp_dir
    timing["ray_ready_at"] = time.time()
    cluster = ray.cluster_resources()
    gpu = gpu_share(spec, cluster, out)
    check_fits_a_node(spec, gpu, ray.nodes())

    exp_dir.mkdir(parents=True, exist_ok=True)
    save_spec(spec, exp_dir)
    check_nodes(plan, gpu)

    slots = s.max_concurrent or trial_slots(cluster, spec.resources.cpu, gpu)
    callback = TunerCallback(
        exp_dir, spec.name, plan.space, s.metric, s.mode, s.max_epochs, s.samples,
        LiveSummary(out), best_metrics=TASK_METRICS[plan.data.task],
    )
    tuner = build_tuner(plan, trainable(plan, gpu), algorithms, slots, callback)
    print(
        f"  ray    {slots} trial(s) at a time, {spec.resources.cpu:g} CPU"
        f"{f' + {gpu:g} GPU' if gpu else ''} each",
        file=out,
    )
    out.flush()
    timing["search_started_at"] = time.time()
    with uploading(plan):
        interrupted = fit(tuner, exp_dir)
        timing.update(finished_at=time.time(), first_result_at=callback.first_result_at,
                      slots=slots, trials=len(callback.records),
                      searcher_suggest_s=getattr(algorithms.searcher, "suggest_s", None),
                      **driver_usage())
        write_timing(exp_dir, timing)
    return summary(exp_dir, spec, timing["finished_at"] - timing["started_at"], out,
                   interrupted=interrupted, storage=plan.remote)


def check_nodes(plan: Plan, gpu: float) -> None:
    """Every node that may run a trial reaches the experiment's storage, or one line."""
    from tuner.raytune.preflight import check_nodes_reach

    if plan.remote is not None:
        fs, path = plan.remote.fs, plan.remote.path(plan.spec.name)
        shown = plan.remote.uri(plan.spec.name)
    else:
        from pyarrow.fs import LocalFileSystem

        fs, path = LocalFileSystem(), str(plan.exp_dir)
        shown = path
    check_nodes_reach(fs, path, shown, cpu=plan.spec.resources.cpu, gpu=gpu)


@contextmanager
def uploading(plan: Plan):
    """While a search on a URI's storage runs, its mirror's files go up every few seconds,
    and once more when it ends (however it ends)."""
    if plan.remote is None:
        yield
        return
    from tuner.store.remote import Uploader

    uploader = Uploader(plan.remote, plan.exp_dir, plan.spec.name)
    try:
        yield
    finally:
        uploader.close()


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


def resume(
    name_or_dir: str, *, storage: str | None = None, address: str | None = None, out=None,
    ray_output: bool = False,
) -> int:
    """Continue an interrupted experiment from its folder (finished trials are kept)."""
    from tuner.store import find_experiment
    from tuner.store.storage import remote_storage

    out = out or sys.stdout
    exp_dir = find_experiment(name_or_dir, storage)
    remote = remote_storage(storage)
    spec = load_saved(exp_dir)
    if not any(exp_dir.glob("experiment_state-*.json")):
        raise UserError(
            f"{exp_dir}: Ray Tune saved no state there, so there is nothing to "
            f"resume; start it again with `tuner run ... --overwrite`"
        )
    plan = for_saved(exp_dir, spec, remote)
    from tuner.raytune.reconcile import reconcile

    reconcile(exp_dir, out)
    if remote is not None:
        # a trial Ray starts again leaves nothing behind in the bucket (its TensorBoard run
        # would be drawn twice), and what reconcile changed in Ray's state goes where Ray reads
        from tuner.raytune.reconcile import saved_trials

        keep = saved_trials(exp_dir) | {r.trial for r in load_records(exp_dir)}
        remote.delete_trials(spec.name, keep=keep)
        remote.push(exp_dir, spec.name)
    done = [r for r in load_records(exp_dir) if r.status.ended]
    print(
        f"tuner: resuming {plan.spec.name} ({len(done)}/{plan.spec.search.samples} trials "
        f"finished) from {exp_dir}",
        file=out,
    )
    out.flush()
    quiet_ray(address)
    skip_callback_census()
    started = time.monotonic()
    started_ray = init_ray(address, quiet=not ray_output)
    try:
        import ray

        from tuner.raytune.search import fit, restore, trainable

        gpu = gpu_share(plan.spec, ray.cluster_resources(), out)
        check_nodes(plan, gpu)
        with uploading(plan):
            interrupted = fit(restore(plan, trainable(plan, gpu)), exp_dir)
        return summary(exp_dir, plan.spec, time.monotonic() - started, out,
                       interrupted=interrupted, storage=remote)
    finally:
        stop_ray(started_ray)
