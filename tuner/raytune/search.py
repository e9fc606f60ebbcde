"""The Ray Tune side of a search: the trainable, the `tune.Tuner` (new or restored) and its fit.

`build_tuner(plan, ...)` takes the built searcher and scheduler and the plan; `fit` runs it and
says whether Ctrl-C stopped it (after which tuner's records follow Ray's saved state).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tuner.raytune.naming import TrialNamer
from tuner.raytune.session import CtrlC, SteadyWorkingDir


@dataclass(frozen=True)
class Algorithms:
    """What searches: the searcher (warm-started), the Ray param_space it samples, the
    scheduler that stops trials early."""

    searcher: object
    param_space: dict
    scheduler: object


def trainable(plan, gpu: float):
    """The trial function with the data (train + valid only) and setup sent to workers once."""
    from ray import tune

    from tuner.training.trial import TrialSetup, run_trial

    spec, s = plan.spec, plan.spec.search
    setup = TrialSetup(spec.factory, plan.space, s.max_epochs, s.seed, spec.resources.cpu, gpu,
                       spec.resources.device, folds=spec.data.folds or 1,
                       objects=_python_objects(spec))
    return tune.with_resources(
        tune.with_parameters(run_trial, data=plan.data.for_tuning(), setup=setup),
        {"cpu": spec.resources.cpu, "gpu": gpu},
    )


def _python_objects(spec) -> dict:
    """A factory made in Python: its pickled bytes, for the workers (which may not share this
    machine's disk) to unpickle with a clear message when they cannot import what it uses."""
    from tuner.user_code import is_python_object, python_object

    if not is_python_object(spec.factory):
        return {}
    import cloudpickle

    return {spec.factory: cloudpickle.dumps(python_object(spec.factory,
                                                          where="[model] factory"))}


def build_tuner(plan, trainable, algorithms: Algorithms, slots: int, callback):
    """The ray.tune.Tuner of the search."""
    from ray import tune
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

    spec, s, exp_dir = plan.spec, plan.spec.search, plan.exp_dir
    return tune.Tuner(
        trainable,
        param_space=algorithms.param_space,
        tune_config=tune.TuneConfig(
            search_alg=algorithms.searcher,
            scheduler=algorithms.scheduler,
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
            **storage_of(plan),
            callbacks=[callback, CSVLoggerCallback(), JsonLoggerCallback(),
                       *mlflow_callbacks(spec)],
            # every checkpoint registered, none deleted by Tune: each trial keeps its two newest
            # itself (raytune/checkpoints.py, prune_checkpoints). With num_to_keep set, Tune
            # saves its whole experiment state after every checkpoint of every trial, work that
            # grows with the trials so far (a 500-trial search of short trials spent 3/4 of its
            # time there); it now saves on its own period, and `tuner resume` keeps the trials
            # that finished after that save (raytune/reconcile.py)
            checkpoint_config=tune.CheckpointConfig(num_to_keep=None),
            failure_config=tune.FailureConfig(max_failures=s.max_failures),
            verbose=0,
            progress_reporter=quiet_reporter(),
        ),
    )


def storage_of(plan) -> dict:
    """RunConfig's storage: the experiment folder's parent, or a URI's filesystem and root
    (Ray Tune then writes checkpoints and its state there, from every node)."""
    if plan.remote is None:
        return {"storage_path": str(plan.exp_dir.parent)}
    return {"storage_path": plan.remote.path(), "storage_filesystem": plan.remote.fs}


def restore(plan, trainable):
    """The Tuner of an interrupted search, from Ray Tune's saved state in its folder."""
    from ray import tune

    where = ({"path": str(plan.exp_dir)} if plan.remote is None else
             {"path": plan.remote.path(plan.spec.name), "storage_filesystem": plan.remote.fs})
    return tune.Tuner.restore(**where, trainable=trainable, resume_unfinished=True,
                              resume_errored=False)


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


def fit(tuner, exp_dir: Path) -> bool:
    """Run the search; True when Ctrl-C stopped it (the records then follow Tune's state)."""
    TrialNamer._names.pop(str(exp_dir), None)  # names follow the folder as it is now
    with CtrlC() as ctrl_c, SteadyWorkingDir(exp_dir):
        tuner.fit()
    if ctrl_c.pressed:
        from tuner.raytune.reconcile import reopen_interrupted_trials

        reopen_interrupted_trials(exp_dir)
    return ctrl_c.pressed


def mlflow_callbacks(spec) -> list:
    """Ray Tune's own MLflow logger when [logging] mlflow names a tracking URI: one MLflow run
    per trial (named like its TensorBoard run) with its config as params and every epoch's
    metrics, in an MLflow experiment named after this one."""
    if not spec.mlflow:
        return []
    from ray.air.integrations.mlflow import MLflowLoggerCallback

    return [MLflowLoggerCallback(tracking_uri=spec.mlflow, experiment_name=spec.name,
                                 save_artifact=False)]
