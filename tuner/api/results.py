"""What the verbs return: a search's Result (read from its folder whenever you look), its
Trials, a space's listing, a TensorBoard in the background."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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
    # `tuner.best(...)`'s trial: what `tuner best -o best.toml` writes (config, metrics,
    # epoch), and the experiment's folder
    document: dict = field(default_factory=dict, repr=False, compare=False)
    folder: Path | None = field(default=None, repr=False, compare=False)


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
        from tuner.console import INTERRUPTED

        return self.exit_code == INTERRUPTED

    @property
    def best(self) -> Trial | None:
        """The best trial (ties broken as `tuner best` breaks them), None before any result."""
        from tuner.store import best_record, load_records

        r = best_record(load_records(self.folder), self.metric, self.mode)
        return None if r is None else trial_of(r, self.metric)

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


def trial_of(r, metric: str, document: dict | None = None, folder: Path | None = None) -> Trial:
    """The Trial of a record (with its best.toml document and folder, for the best trial)."""
    return Trial(r.trial, str(r.status), dict(r.config), dict(r.best),
                 r.best_epoch.get(metric, r.epochs), r.epochs, r.reason, document or {}, folder)


def located(name_or_result) -> str:
    """The name or folder a verb looks up: a Result's folder, an Experiment's name, or the
    name or folder given."""
    from tuner.api.experiment import Experiment

    if isinstance(name_or_result, Result):
        return str(name_or_result.folder)
    if isinstance(name_or_result, Experiment):
        return name_or_result.name
    return str(name_or_result)


def outcome(exp_dir: Path, spec, code: int) -> Result:
    """The Result of a search that ended with exit code `code`."""
    return Result(spec.name, exp_dir, spec.search.metric, spec.search.mode, code)


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


@dataclass
class Board:
    """TensorBoard serving in the background: open `url`; `stop()` ends it."""

    url: str
    logdir: Path
    process: Any = field(repr=False)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def _repr_html_(self) -> str:
        link = f'<a href="{self.url}" target="_blank">{self.url}</a>'
        return f"TensorBoard for {self.logdir}: {link}"
