"""The driver's Ray session: starting or joining Ray quietly and on loopback, imports overlapped
with its start, and what stops a search from outside (Ctrl-C, a vanished working directory).

Nothing here imports Ray at module level, so the CLI can import it for `loopback_only`.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path


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


def local_ray_processes() -> tuple[str, set[int]]:
    """(the node address, the process ids) of the local Ray this process started or joined."""
    from ray._private import worker

    node = worker._global_node
    return node.node_ip_address, {p.process.pid for procs in node.all_processes.values()
                                  for p in procs}


def loopback_only() -> None:
    """Make the local Ray this process starts listen on 127.0.0.1 only.

    On Linux, Ray 2.60 swaps 127.0.0.1 given as the node address for the machine's outward
    address and its servers listen on every interface. With multi-node mode off (the setting
    macOS and Windows get by default), a local Ray keeps to loopback. Must run before `ray`
    is imported; never for a driver joining a cluster, whose nodes must reach it.
    """
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


def quiet_ray(address: str | None = None) -> None:
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
    # In a notebook without ipywidgets, importing Ray says so (at INFO) and tqdm, imported
    # with it, warns: neither is the user's concern, so both are silenced before the import.
    logging.getLogger("ray.widgets").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="IProgress not found")
    import ray  # noqa: F401  (its import sets its loggers' levels: set ours after it)

    for name in ("ray", "ray.tune", "ray.train", "ray.air"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # A failing trial is tuner's to report (status, reason, and the traceback in the trial's
    # error.txt); Tune would also print each traceback in the middle of the live summary.
    logging.getLogger("ray.tune.execution.tune_controller").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", module="ray")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)


def skip_callback_census() -> None:
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
