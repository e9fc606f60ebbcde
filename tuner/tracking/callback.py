"""The Ray Tune callback that keeps tuner's records, TensorBoard runs and live summary current."""

from __future__ import annotations

import re
import time
from pathlib import Path

from ray import tune

from tuner.spaces.space import SearchSpace
from tuner.store import (
    TrialRecord,
    best_document,
    best_record,
    load_records,
    save_records,
    to_toml,
)
from tuner.tracking.progress import LiveSummary, short_config, status_line
from tuner.tracking.tensorboard import BEST, TrialBoard, write_experiment
from tuner.vocabulary import Status


def _error_reason(trial) -> str:
    """The exception that ended the trial, whole (its message may span lines, as Ray's
    "Unable to set up cluster storage" does), from the traceback Ray saved for it."""
    try:
        text = Path(trial.error_file).read_text()
    except (OSError, TypeError):
        return "the trial raised an error (see error.txt in its folder)"
    return last_exception(text) or "error"


_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Failure|Died)\b.*")


def last_exception(text: str) -> str:
    """The last exception line of a traceback and the message lines that follow it (Ray wraps
    a trial's exception in its own: the innermost, last one says what happened)."""
    lines = [ln.rstrip() for ln in text.strip().splitlines()]
    starts = [i for i, ln in enumerate(lines) if _EXCEPTION.match(ln)]
    if not starts:
        kept = [ln.strip() for ln in lines if ln.strip()]
        return kept[-1] if kept else ""
    return "\n".join(ln for ln in lines[starts[-1]:] if ln.strip()).strip()


def _node_of(trial) -> str:
    """The address of the node a trial's process ran on, as Ray Tune last knew it."""
    location = getattr(getattr(trial, "temporary_state", None), "location", None)
    return str(getattr(location, "hostname", "") or "")


TABLE_EVERY_S = 5.0  # trials.csv, a view of trials.json, is rewritten at most this often
BEST_EVERY_S = 1.0  # best.toml is brought up to date at most this often (and at the end)


class TunerCallback(tune.Callback):
    def __init__(
        self,
        exp_dir: Path,
        name: str,
        space: SearchSpace,
        metric: str,
        mode: str,
        max_epochs: int,
        samples: int,
        summary: LiveSummary | None = None,
        best_metrics: tuple[str, ...] = BEST,
    ):
        self.exp_dir = Path(exp_dir)
        self.name, self.space = name, space
        self.metric, self.mode = metric, mode
        self.max_epochs, self.samples = max_epochs, samples
        self.summary = summary or LiveSummary()
        self.best_metrics = best_metrics
        self.records: dict[str, TrialRecord] = {}
        self.boards: dict[str, TrialBoard] = {}
        self.first_result_at: float | None = None  # time.time() of this run's first result
        self._backed_up: dict = {}  # the Ray state set last copied (raytune.reconcile)
        self._table_due = 0.0  # when trials.csv is next rewritten (time.monotonic())
        self._best_text = ""  # best.toml as last written
        self._best_due = 0.0  # when best.toml is next brought up to date (time.monotonic())
        self._encoded: dict[str, str] = {}  # trial_id -> its trials.json line, while unchanged

    def __getstate__(self):
        # Tune pickles callbacks with the experiment (for `tuner resume`): keep the settings,
        # not the open writers or the terminal; setup() rebuilds records from trials.json.
        state = dict(self.__dict__)
        state.update(records={}, boards={}, summary=None, first_result_at=None, _backed_up={},
                     _table_due=0.0, _best_text="", _best_due=0.0, _encoded={})
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        for k, v in (("_backed_up", {}), ("_table_due", 0.0), ("_best_text", ""),
                     ("_best_due", 0.0), ("_encoded", {})):
            self.__dict__.setdefault(k, v)
        if self.summary is None:
            self.summary = LiveSummary()

    # -- Ray hooks --------------------------------------------------------------------------
    def setup(self, **info):
        self.exp_dir.mkdir(parents=True, exist_ok=True)
        for r in load_records(self.exp_dir):  # a resumed experiment keeps its finished trials
            self.records[r.trial_id] = r
        write_experiment(self.exp_dir, self.space, self.best_metrics)

    def _record(self, trial) -> TrialRecord:
        """The trial's record, to change: its trials.json line is encoded again."""
        self._encoded.pop(trial.trial_id, None)
        r = self.records.get(trial.trial_id)
        if r is None:
            r = TrialRecord(
                Path(trial.local_path).name, trial.trial_id, self.space.resolve(trial.config)
            )
            self.records[trial.trial_id] = r
        return r

    def on_trial_start(self, iteration, trials, trial, **info):
        r = self._record(trial)
        r.status = Status.RUNNING

    def on_trial_result(self, iteration, trials, trial, result, **info):
        if self.first_result_at is None:
            self.first_result_at = time.time()
        r = self._record(trial)
        r.update(result, self.metric)
        step = r.epochs
        if trial.trial_id not in self.boards:
            self.boards[trial.trial_id] = TrialBoard(self._run_dir(trial), step)
        self.boards[trial.trial_id].curves(result, step)

    def on_trial_complete(self, iteration, trials, trial, **info):
        r = self._record(trial)
        r.finish(self.max_epochs)
        self._finished(trial, r)

    def on_trial_error(self, iteration, trials, trial, **info):
        r = self._record(trial)
        r.status, r.reason = Status.ERRORED, _error_reason(trial)
        r.node = r.node or _node_of(trial)
        self._finished(trial, r)

    def on_step_end(self, iteration, trials, **info):
        if self.summary.due():  # the line reads every record: only when it will be shown
            self.summary.status(self.line())
        from tuner.raytune.reconcile import back_up_state

        back_up_state(self.exp_dir, self._backed_up)

    def on_experiment_end(self, trials, **info):
        # Trials Tune ended are finished; any other (running, paused or pending when Ctrl-C
        # stopped the run) stays "running" for `tuner resume` to continue.
        ended = {t.trial_id for t in trials if t.status in ("TERMINATED", "ERROR")}
        for r in self.records.values():
            if r.trial_id in ended:
                r.finish(self.max_epochs)
        self._encoded.clear()
        self._save(final=True)
        if self.summary.notebook:  # the display keeps the last status line: the final one
            self.summary.status(self.line(), force=True)
        self.summary.close()
        from tuner.raytune.reconcile import back_up_state

        self._backed_up.pop("next_look", None)
        back_up_state(self.exp_dir, self._backed_up)

    # -- ours -------------------------------------------------------------------------------
    def _run_dir(self, trial) -> Path:
        """The trial's folder in the experiment folder. Not `trial.local_path`: that is Ray's
        staging copy under /tmp/ray/session_*, synced to the experiment folder only now and
        then and new for every run, so TensorBoard would show curves late and a resumed run
        would not see what the interrupted one wrote."""
        return self.exp_dir / Path(trial.local_path).name

    def best(self) -> TrialRecord | None:
        return best_record(list(self.records.values()), self.metric, self.mode)

    def line(self) -> str:
        return status_line(
            list(self.records.values()),
            self.samples,
            self.metric,
            self.best(),
            self.summary.elapsed,
        )

    def _finished(self, trial, r: TrialRecord) -> None:
        board = self.boards.pop(trial.trial_id, None)
        if board is None:  # no result in this run (a resumed trial already at its last epoch):
            # purge nothing the earlier run drew
            board = TrialBoard(self._run_dir(trial), r.epochs + 1)
        board.finish(r.config, r.status, r.best, r.epochs, self.space, r.trial)
        v = r.best.get(self.metric)
        shown = f"{self.metric} {v:.4f}" if v is not None else "no result"
        why = f" — {r.reason}" if r.reason else ""
        self.summary.event(
            f"  {r.trial} {r.status:<13} epoch {r.epochs:>3} · {shown}"
            f" · {short_config(r.config, 5)}{why}"
        )
        self._save()
        # the status line reads every record: made afresh only when due, else shown as it was
        if self.summary.due():
            self.summary.status(self.line(), force=self.summary.live)
        else:
            self.summary.redraw()

    def _save(self, final: bool = False) -> None:
        """trials.json at every trial's end (the ledger resume trusts; an unchanged record's
        line is not encoded again); trials.csv, a view of it, every few seconds and at the end;
        best.toml when the best trial changed, looked at every second and at the end. Each reads
        every record: done at every trial end, they made a long search slower at each trial."""
        records = sorted(self.records.values(), key=lambda r: r.trial)
        now = time.monotonic()
        table = final or now >= self._table_due
        if table:
            self._table_due = now + TABLE_EVERY_S
        save_records(self.exp_dir, records, table=table, encoded=self._encoded)
        if not final and now < self._best_due:
            return
        self._best_due = now + BEST_EVERY_S
        best = best_record(records, self.metric, self.mode)
        if best is not None:
            doc = best_document(self.name, best, self.metric, self.mode)
            text = to_toml(doc, f"Best trial so far of {self.name}")
            if text != self._best_text:
                (self.exp_dir / "best.toml").write_text(text)
                self._best_text = text
