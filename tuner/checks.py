"""Checks of a parsed experiment's values, each with its one-line message: a section's keys,
a value's type, a choice among names, a range. Constraints are declared beside the fields they
check (scikit-learn's `Interval` / `StrOptions` style): `Interval(1, 100_000, fix="...")` in a
dataclass field's metadata, checked by `check_fields`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tuner.errors import UserError, did_you_mean


def known_keys(table: dict, allowed, where: str) -> None:
    """UserError naming the first key of `table` not in `allowed` (`where`: its label's start,
    e.g. "exp.toml: [search] ")."""
    for k in table:
        if k not in allowed:
            raise UserError(
                f"{where}{k}: unknown key{did_you_mean(k, allowed)}; "
                f"allowed: {', '.join(allowed)}"
            )


def section(raw: dict, key: str, path: str, allowed: dict) -> dict:
    sec = raw.get(key, {})
    if not isinstance(sec, dict):
        raise UserError(f"{path}: [{key}] must be a table (a [{key}] section), but got {sec!r}")
    known_keys(sec, allowed, f"{path}: [{key}] ")
    return sec


def typed(sec: dict, key: str, default: Any, label: str) -> Any:
    v = sec.get(key, default)
    want = type(default)
    if want is float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise UserError(f"{label}: must be a number, but got {v!r}")
        if not math.isfinite(v):
            raise UserError(f"{label}: must be a finite number, but got {v!r}")
        return float(v)
    if want is int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise UserError(f"{label}: must be an integer, but got {v!r}")
        return v
    if want is str and not isinstance(v, str):
        raise UserError(f"{label}: must be a string, but got {v!r}")
    return v


def choice(value: str, valid, where: str, what: str) -> str:
    if value not in valid:
        raise UserError(
            f"{where}: unknown {what} {value!r}{did_you_mean(value, valid)}; "
            f"choose one of {', '.join(valid)}"
        )
    return value


def in_range(value, lo, hi, where: str, fix: str) -> None:
    if not (lo <= value <= hi):
        bound = f">= {lo}" if hi == math.inf else f"between {lo} and {hi}"
        raise UserError(f"{where}: must be {bound}, but got {value!r}; {fix}")


@dataclass(frozen=True)
class Interval:
    """lo <= value <= hi; `hi` may name another field of the same section (grace_period <=
    max_epochs). `fix` is the advice the message ends with."""

    lo: float
    hi: float | str
    fix: str

    def __call__(self, value, where: str, values: dict) -> None:
        hi = values[self.hi] if isinstance(self.hi, str) else self.hi
        in_range(value, self.lo, hi, where, self.fix)


@dataclass(frozen=True)
class Options:
    """One of the names `valid()` gives (looked up on use: registries import on use)."""

    valid: Callable[[], Any]
    what: str

    def __call__(self, value, where: str, values: dict) -> None:
        choice(value, self.valid(), where, self.what)


def constraint(default, check, **kw):
    """A dataclass field with its check: `samples: int = constraint(20, Interval(1, ...))`."""
    return dataclasses.field(default=default, metadata={"check": check}, **kw)


def read_fields(cls, sec: dict, label: Callable[[str], str],
                adjust: Callable[[dict], None] | None = None) -> dict:
    """The fields of dataclass `cls` from a section: typed like their defaults, `adjust`ed
    (defaults that follow from other values), then each checked by the constraint declared
    beside it, in the order they are declared."""
    defaults = cls()
    values = {f.name: typed(sec, f.name, getattr(defaults, f.name), label(f.name))
              for f in dataclasses.fields(cls)}
    if adjust is not None:
        adjust(values)
    for f in dataclasses.fields(cls):
        if "check" in f.metadata:
            f.metadata["check"](values[f.name], label(f.name), values)
    return values
