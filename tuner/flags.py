"""The run flags: one table from which `tuner run` / `tuner submit` parse them, the experiment
takes them as overrides (and names them in its errors), and `tuner submit` forwards them to the
job's `tuner run`. No torch, no Ray.

>>> FLAGS["epochs"].section, FLAGS["epochs"].key, FLAGS["cpus-per-trial"].key
('search', 'max_epochs', 'cpu')
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass


def positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, but got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, but got {text!r}")
    return v


def count(text: str) -> int:
    """A non-negative integer that fits a seed (0 .. 2**32-1)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a non-negative integer, but got {text!r}"
        ) from None
    if not 0 <= v < 2**32:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**32-1, but got {text!r}")
    return v


def share(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, but got {text!r}") from None
    if not v >= 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a non-negative number, but got {text!r}")
    return v


def searchers():
    from tuner.search import SEARCHERS

    return SEARCHERS


def schedulers():
    from tuner.search import SCHEDULERS

    return SCHEDULERS


@dataclass(frozen=True)
class Flag:
    name: str  # on the command line: --name
    section: str  # where the experiment file keeps it: "search", "resources" or "" (top level)
    key: str  # its key there
    help: str = ""
    type: Callable | None = None
    metavar: str | None = None
    choices: Callable | None = None  # () -> the valid values, looked up when the parser is built

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        extra = {"choices": self.choices()} if self.choices else {}
        parser.add_argument(f"--{self.name}", type=self.type, metavar=self.metavar,
                            help=self.help or None, **extra)


FLAGS: dict[str, Flag] = {f.name: f for f in (
    Flag("samples", "search", "samples", "number of trials", positive),
    Flag("epochs", "search", "max_epochs", "max epochs per trial", positive),
    Flag("searcher", "search", "searcher", choices=searchers),
    Flag("scheduler", "search", "scheduler", choices=schedulers),
    Flag("metric", "search", "metric", "metric to optimize (val_loss, accuracy, f1, ...)"),
    Flag("mode", "search", "mode", choices=lambda: ("min", "max")),
    Flag("seed", "search", "seed", type=count),
    Flag("max-concurrent", "search", "max_concurrent", "trials at a time (default: all CPUs)",
         positive),
    Flag("time-budget", "search", "time_budget",
         "stop the search after this many seconds of wall time", positive, "SECONDS"),
    Flag("max-failures", "search", "max_failures",
         "retries of a trial whose worker or node died, from its last checkpoint", count, "N"),
    Flag("cpus-per-trial", "resources", "cpu",
         "CPUs each trial asks Ray for (default: [resources] cpu, else 1)", share, "N"),
    Flag("gpus-per-trial", "resources", "gpu",
         "GPUs each trial asks for, 0.25 packs four on one (default: [resources] gpu)", share,
         "N"),
    Flag("name", "", "name", "experiment name (default: the file's name)"),
)}


def by_key(section: str) -> dict[str, Flag]:
    """The flags that set keys of one section of the experiment file, by key."""
    return {f.key: f for f in FLAGS.values() if f.section == section}


def overrides(args: argparse.Namespace) -> dict:
    """The experiment keys the parsed flags set (None: not given), for `with_overrides`."""
    return {f.key: getattr(args, f.dest, None) for f in FLAGS.values()}


def by_experiment_key() -> dict[str, Flag]:
    """Every flag by the experiment key it sets (samples, max_epochs, cpu, name, ...)."""
    return {f.key: f for f in FLAGS.values()}


def forwarded(values: dict) -> list[str]:
    """Flag values by experiment key (None: not given) as command-line words again, for the
    job's `tuner run`: `forwarded({"max_epochs": 3})` is `["--epochs", "3"]`."""
    words = []
    for f in FLAGS.values():
        v = values.get(f.key)
        if v is not None:
            words += [f"--{f.name}", f"{v:g}" if isinstance(v, float) else str(v)]
    return words
