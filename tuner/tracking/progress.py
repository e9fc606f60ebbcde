"""The live summary: one status line instead of Ray's wall of log lines.

[1:02] 14/20 trials · 2 running · 8 stopped early · 4 completed · 0 errored
        · best accuracy 0.9852 (trial_009: conv_blocks=2, lr=0.0031, ...)
"""

from __future__ import annotations

import shutil
import sys
import time

from tuner.store import TrialRecord
from tuner.vocabulary import STATUSES, Status


def short_config(config: dict, limit: int = 6) -> str:
    parts = []
    for k, v in config.items():
        parts.append(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}")
    more = f", +{len(parts) - limit}" if len(parts) > limit else ""
    return ", ".join(parts[:limit]) + more


def counts(records: list[TrialRecord]) -> dict[Status, int]:
    """How many trials stand at each status (every status present, 0 when none)."""
    c = dict.fromkeys(STATUSES, 0)
    for r in records:
        c[r.status] += 1
    return c


def status_line(
    records, samples: int, metric: str, best: TrialRecord | None, elapsed: float
) -> str:
    c = counts(records)
    done = len(records) - c[Status.RUNNING]
    m, s = divmod(int(elapsed), 60)
    parts = [
        f"[{m}:{s:02d}] {done}/{samples} trials",
        f"{c[Status.RUNNING]} running",
        f"{c[Status.STOPPED_EARLY]} stopped early",
        f"{c[Status.COMPLETED]} completed",
        f"{c[Status.ERRORED] + c[Status.DIVERGED]} errored",
    ]
    line = " · ".join(parts)
    if best is not None:
        shown = short_config(best.config, 4)
        line += f" · best {metric} {best.best[metric]:.4f} ({best.trial}: {shown})"
    return line


class LiveSummary:
    """Prints trial endings as lines and keeps one status line current (in a terminal).

    In a Jupyter notebook it is one display instead, updated in place: the latest trial
    endings and the status line, so a long search does not grow a wall of lines in the cell.
    """

    SHOWN_EVENTS = 12  # the trial endings a notebook's display keeps (tuner status lists all)

    def __init__(self, stream=None, every_s: float = 30.0):
        self.stream = stream or sys.stdout
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.notebook = in_notebook(self.stream)
        self.display = None  # the notebook's display handle, made at the first update
        self.every_s = every_s if not self.live else 0.5
        self.start = time.monotonic()
        self.last_print = 0.0
        self.last_line = ""
        self.pending = False
        self.events: list[str] = []
        self.n_events = 0

    def _clear(self):
        if self.tty and self.pending:
            self.stream.write("\r\033[K")
            self.pending = False

    @property
    def live(self) -> bool:
        """True where the status line is rewritten in place (a terminal, a notebook)."""
        return self.tty or self.notebook

    def event(self, text: str) -> None:
        if self.notebook:
            self.n_events += 1
            self.events = [*self.events, text][-self.SHOWN_EVENTS:]
            self._render()
            return
        self._clear()
        self.stream.write(text + "\n")
        self.stream.flush()

    def due(self) -> bool:
        """Whether a status line would be shown now (so the caller may skip making one)."""
        return time.monotonic() - self.last_print >= self.every_s

    def redraw(self) -> None:
        """In a terminal, show the last status line again, as it was, under an event line
        that replaced it (a notebook's display keeps it already)."""
        if self.tty and self.last_line and not self.pending:
            self._rewrite(self.last_line)
            self.stream.flush()

    def _rewrite(self, line: str) -> None:
        """The terminal's status line, replaced in place (cut to the terminal's width)."""
        width = shutil.get_terminal_size((120, 20)).columns
        self.stream.write("\r\033[K" + line[: width - 1])
        self.pending = True

    def status(self, line: str, force: bool = False) -> None:
        now = time.monotonic()
        if not force and (now - self.last_print < self.every_s or line == self.last_line):
            return
        self.last_print, self.last_line = now, line
        if self.notebook:
            self._render()
        elif self.tty:
            self._rewrite(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def _render(self) -> None:
        from IPython.display import Pretty, display

        earlier = self.n_events - len(self.events)
        lines = ([f"  ... {earlier} earlier trial endings (tuner.status(NAME) lists every trial)"]
                 if earlier else [])
        shown = Pretty("\n".join([*lines, *self.events, self.last_line]).strip("\n"))
        if self.display is None:
            self.display = display(shown, display_id=True)
        else:
            self.display.update(shown)

    def close(self) -> None:
        self._clear()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start


def in_notebook(stream) -> bool:
    """True when `stream` is the output of a Jupyter kernel's cell."""
    if stream is not sys.stdout or "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"
