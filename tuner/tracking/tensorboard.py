"""TensorBoard: one run per trial with readable curves, plus the HParams view over all trials.

Written on the driver from the results Tune already collects, so it works for trials on any node
and knows how each trial ended (completed, stopped early, diverged, errored), which a trial itself
cannot know when a scheduler stops it.

Layout under the experiment folder:
    events.out.tfevents.*      HParams experiment: every hyperparameter's domain and the metrics
    trial_001/events.out...    curves: loss/train, loss/val, metrics/accuracy, metrics/f1, lr
                               + at the end: hyperparameters, best/<metric>, trial/epochs
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from tuner.spaces.priors import Choice, Fixed, IntRange, Uniform
from tuner.spaces.space import SearchSpace
from tuner.vocabulary import METRICS, STATUSES, TASK_METRICS, Status

# result key -> TensorBoard tag
CURVES = {**{name: m.tag for name, m in METRICS.items()}, "lr": "lr"}
# metrics shown as HParams columns (the driver passes its task's): the best value over the
# epochs, not the last
BEST = TASK_METRICS["classification"]


def _hparam_value(v):
    if isinstance(v, bool) or isinstance(v, str):
        return v
    return float(v)


def experiment_summary(space: SearchSpace, best: tuple[str, ...] = BEST):
    """The HParams experiment proto: one column per hyperparameter, the best metrics, status."""
    from tensorboard.plugins.hparams import summary_v2 as hp

    hparams = []
    for name, p in space.priors.items():
        if isinstance(p, Fixed):
            domain = hp.Discrete([_hparam_value(p.value)])
        elif isinstance(p, Choice):
            vals = [_hparam_value(v) for v in p.options]
            # HParams wants one type per column: mixed options are shown as text
            if len({type(v) for v in vals}) > 1:
                vals = [str(v) for v in p.options]
            domain = hp.Discrete(vals)
        elif isinstance(p, IntRange):
            domain = hp.IntInterval(p.low, p.high)
        elif isinstance(p, Uniform):
            domain = hp.RealInterval(float(p.low), float(p.high))
        else:  # pragma: no cover
            continue
        hparams.append(hp.HParam(name, domain))
    hparams.append(hp.HParam("status", hp.Discrete([str(s) for s in STATUSES])))
    metrics = [hp.Metric(f"best/{m}", display_name=f"best {m}") for m in best]
    metrics.append(hp.Metric("trial/epochs", display_name="epochs"))
    return hp.hparams_config_pb(hparams, metrics)


def trial_summaries(config: dict, status: str, space: SearchSpace, trial_name: str):
    """Session start (hyperparameters + status) and session end protos for one trial."""
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
    from tensorboard.plugins.hparams import summary_v2 as hp

    values = {}
    for name, v in config.items():
        p = space.priors.get(name)
        if isinstance(p, Choice) and len({type(o) for o in p.options}) > 1:
            v = str(v)
        values[name] = _hparam_value(v)
    status = Status(status)
    values["status"] = str(status)
    start = hp.hparams_pb(values, trial_id=trial_name)
    # stopped early ended normally (the status column says how)
    code = (api_pb2.STATUS_RUNNING if not status.ended else
            api_pb2.STATUS_FAILURE if status.failed else api_pb2.STATUS_SUCCESS)
    info = plugin_data_pb2.SessionEndInfo(status=code, end_time_secs=time.time())
    content = plugin_data_pb2.HParamsPluginData(session_end_info=info, version=0)
    end = Summary(value=[Summary.Value(tag=metadata.SESSION_END_INFO_TAG,
                                       metadata=metadata.create_summary_metadata(content))])
    return start, end


class EventFile:
    """One TensorBoard event file, written synchronously and flushed after every add.

    TensorBoard's record format and protos, without torch's SummaryWriter: the driver never
    imports torch (1.6 s of start-up, paid while the first trials' workers start) and writes
    no thread per trial. One event carries all of an epoch's scalars, so a trial's curves are
    on disk as soon as Tune reports the epoch.
    """

    _uid = 0  # tells apart the files one process opens within the same second

    def __init__(self, logdir: Path, purge_step: int | None = None):
        import os
        import socket

        from tensorboard.compat.proto.event_pb2 import Event, SessionLog
        from tensorboard.summary.writer.record_writer import RecordWriter

        logdir = Path(logdir)
        logdir.mkdir(parents=True, exist_ok=True)
        EventFile._uid += 1
        name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
                f"{os.getpid()}.{EventFile._uid:06d}")  # sorts in the order written
        self.path = logdir / name
        self._records = RecordWriter(open(self.path, "wb"))  # noqa: SIM115 (closed by close)
        self._event = Event
        self._write(Event(wall_time=time.time(), file_version="brain.Event:2"))
        if purge_step is not None:
            # readers drop every event at or after `purge_step` written before this one
            self._write(Event(wall_time=time.time(), step=purge_step,
                              session_log=SessionLog(status=SessionLog.START)))
        self._records.flush()

    def _write(self, event) -> None:
        self._records.write(event.SerializeToString())

    def summary(self, summary, step: int = 0) -> None:
        self._write(self._event(wall_time=time.time(), step=step, summary=summary))
        self._records.flush()

    def scalars(self, values: dict, step: int) -> None:
        """All `values` (tag -> number) at `step` in one event; non-finite ones are left out."""
        from tensorboard.compat.proto.summary_pb2 import Summary

        vals = [Summary.Value(tag=tag, simple_value=float(v)) for tag, v in values.items()
                if isinstance(v, (int, float)) and math.isfinite(v)]
        if vals:
            self.summary(Summary(value=vals), step)

    def close(self) -> None:
        self._records.close()


class TrialBoard:
    """The TensorBoard run of one trial."""

    def __init__(self, logdir: Path, first_step: int):
        # A trial continued by `tuner resume` writes its run again from `first_step` (the
        # epoch after its last checkpoint, or 1 when it had none): the purge step makes readers
        # drop what the interrupted run wrote from there on, so no epoch appears twice.
        resumed = any(Path(logdir).glob("events.out.tfevents.*"))
        self.events = EventFile(logdir, purge_step=first_step if resumed else None)

    def curves(self, result: dict, step: int) -> None:
        self.events.scalars({tag: result.get(key) for key, tag in CURVES.items()}, step)

    def finish(self, config, status, best: dict, epochs: int, space, trial_name) -> None:
        start, end = trial_summaries(config, status, space, trial_name)
        self.events.summary(start)
        self.events.scalars({**{f"best/{m}": v for m, v in best.items()},
                             "trial/epochs": epochs}, epochs)
        self.events.summary(end)
        self.events.close()


def write_experiment(logdir: Path, space: SearchSpace, best: tuple[str, ...] = BEST) -> None:
    """Write (once) the HParams experiment summary at the experiment's root."""
    if any(Path(logdir).glob("events.out.tfevents.*")):
        return
    events = EventFile(logdir)
    events.summary(experiment_summary(space, best))
    events.close()
