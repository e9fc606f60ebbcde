"""The verbs that start trials: `run`, `resume`, `submit`."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from tuner.api.experiment import as_experiment
from tuner.api.results import Result, located, outcome
from tuner.errors import UserError, did_you_mean


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
    from tuner.plan import check_target

    exp = as_experiment(experiment)
    spec = with_flags(exp.spec, flags)
    storage = storage if storage is not None else (spec.storage or None)  # the flag wins
    exp_dir = check_target(spec, storage, overwrite=overwrite or dry_run)
    fresh = not exp_dir.exists()
    # an experiment made in Python reads its data from inputs/; a dry run writes nothing
    # there, so its data is checked from a temporary copy
    inputs = None
    if exp.inputs:
        inputs = Path(tempfile.mkdtemp(prefix="tuner-dry-")) if dry_run else exp_dir
        exp.write_inputs(inputs)
        spec = with_flags(exp.with_inputs_in(inputs), flags)
    try:
        code = driver.run(spec, storage=storage, address=address, overwrite=overwrite,
                          warm_start=warm_start, warm_top=top, dry_run=dry_run, out=out,
                          ray_output=ray_output)
    except UserError:
        if fresh and exp_dir.exists() and not (exp_dir / "experiment.json").exists():
            shutil.rmtree(exp_dir)  # nothing started: leave no folder behind
        raise
    finally:
        if inputs is not None and dry_run:
            shutil.rmtree(inputs, ignore_errors=True)
    return None if dry_run else outcome(exp_dir, spec, code)


def with_flags(spec, flags: dict):
    """The spec with the command line's overrides, given by experiment key (None: not set)."""
    from tuner.flags import by_experiment_key

    allowed = by_experiment_key()
    for k in flags:
        if k not in allowed:
            raise UserError(f"{k}: unknown flag{did_you_mean(k, allowed)}; run and submit take "
                            f"{', '.join(allowed)}")
    return spec.with_overrides(**flags) if flags else spec


def resume(name, *, storage: str | None = None, address: str | None = None,
           out=None, ray_output: bool = False) -> Result:
    """Continue an interrupted search (by name, folder or Result); `tuner resume`."""
    from tuner import driver
    from tuner.experiment import load_saved
    from tuner.store import find_experiment

    exp_dir = find_experiment(located(name), storage)
    code = driver.resume(str(exp_dir), storage=storage, address=address, out=out,
                         ray_output=ray_output)
    return outcome(exp_dir, load_saved(exp_dir), code)


def submit(experiment, address: str, *, storage: str | None = None, overwrite: bool = False,
           out=None, **flags) -> str:
    """Start an experiment file as a Ray Job on a cluster; returns the job id (`tuner submit`).

    A job runs `tuner run` on the cluster, so it takes an experiment file whose data, model
    and space the cluster can import; one built from your arrays or notebook classes runs
    with `tuner.run(exp, address=...)` instead."""
    from tuner import jobs
    from tuner.flags import forwarded
    from tuner.store import storage_root
    from tuner.store.storage import remote_storage

    exp = as_experiment(experiment)
    if exp.inputs:
        raise UserError(f"{exp.where}: submit ships an experiment file to the cluster, and "
                        f"this one holds data or code made in Python; use "
                        f"tuner.run(exp, address={address!r}) instead")
    spec = with_flags(exp.spec, flags)
    jobs.check_address(address)
    storage = storage if storage is not None else (spec.storage or None)  # the flag wins
    root = storage_root(storage)
    remote = remote_storage(storage)
    exists = (remote.has_experiment(spec.name) if remote is not None
              else (root / spec.name / "experiment.json").exists())
    where = remote.uri(spec.name) if remote is not None else root / spec.name
    if exists and not overwrite:
        raise UserError(
            f"{where}: an experiment named {spec.name!r} already exists; start "
            f"another with --name NEW_NAME, or replace it with --overwrite")
    words = forwarded(flags) + (["--overwrite"] if overwrite else [])
    # a URI goes to the job as it was given: every node resolves it with its own credentials
    _, job_id = jobs.submit(spec, address, root, words, out=out,
                            shown=remote.shown if remote is not None else None)
    return job_id


def follow(job_id: str, address: str, *, storage: str | None = None, out=None) -> int:
    """Stream a submitted job's output until it ends; its exit code (0 when it succeeded, 1
    when it failed or was stopped), as `tuner submit --follow` does."""
    from tuner import jobs
    from tuner.store import storage_root

    return jobs.follow(jobs.connect(address), job_id, storage_root(storage), out=out)
