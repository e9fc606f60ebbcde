"""Priors: small validated value objects for one hyperparameter each.

Every prior knows how to check itself, describe itself, round-trip to the TOML/JSON form used in
experiment files, and `snap` a raw value that a searcher proposed back into its own domain.

    >>> IntRange(16, 128, step=16).values()[:3]
    [16, 32, 48]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tuner.errors import UserError

Scalar = (str, int, float, bool)


def _number(name: str, value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserError(f"{name}: {what} must be a number, but got {value!r}")
    if not math.isfinite(value):
        raise UserError(f"{name}: {what} must be finite, but got {value!r}")
    return value


@dataclass(frozen=True)
class Condition:
    """Activates a prior only when `parent <op> value` holds (op is '==', '>=' or 'in': one
    of a tuple of values)."""

    parent: str
    op: str
    value: Any

    def holds(self, config: dict) -> bool:
        got = config.get(self.parent)
        if got is None:
            return False
        if self.op == "in":
            return got in self.value
        return got == self.value if self.op == "==" else got >= self.value

    def can_hold(self, values) -> bool:
        """Whether the parent taking one of `values` can make it hold (a parent fixed to
        another value leaves the child inactive)."""
        if self.op == "in":
            return any(v in self.value for v in values)
        return self.op != "==" or self.value in values

    def __str__(self) -> str:
        if self.op == "in":
            return f"{self.parent} in {{{', '.join(map(repr, self.value))}}}"
        return f"{self.parent} {self.op} {self.value!r}"


@dataclass(frozen=True)
class Prior:
    """Base for all priors. `name` is filled in by the search space."""

    name: str = field(default="", kw_only=True)
    when: Condition | None = field(default=None, kw_only=True)

    kind = "prior"
    discrete = True

    def named(self, name: str, when: Condition | None = None) -> Prior:
        import dataclasses

        return dataclasses.replace(self, name=name, when=when if when else self.when)

    def values(self) -> list:
        raise NotImplementedError

    def snap(self, value: Any) -> Any:
        raise NotImplementedError

    def contains(self, value: Any) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def to_dict(self) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Uniform(Prior):
    """Floats in [low, high], sampled evenly, or evenly in log space with `log=True` (the
    form of Optuna's `FloatDistribution(low, high, log=...)`)."""

    low: float
    high: float
    log: bool = field(default=False, kw_only=True)
    discrete = False

    @property
    def kind(self) -> str:
        return "loguniform" if self.log else "uniform"

    def __post_init__(self):
        _number(self.name or self.kind, self.low, "low")
        _number(self.name or self.kind, self.high, "high")
        if not self.low < self.high:
            raise UserError(
                f"{self.name or self.kind}: low < high must hold, but got low={self.low}, "
                f"high={self.high}"
            )
        if self.log and self.low <= 0:
            raise UserError(
                f"{self.name or 'loguniform'}: low > 0 must hold on a log scale, but got "
                f"low={self.low}"
            )

    def snap(self, value):
        return float(min(max(float(value), self.low), self.high))

    def contains(self, value):
        return (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and (self.low <= value <= self.high)
        )

    def describe(self):
        return f"{self.kind}({self.low:g}, {self.high:g})"

    def to_dict(self):
        return {self.kind: [self.low, self.high]}


def LogUniform(low: float, high: float, **kw) -> Uniform:  # noqa: N802 (reads as a prior)
    """`Uniform(low, high, log=True)`: floats sampled evenly in log space (learning rates)."""
    return Uniform(low, high, log=True, **kw)


@dataclass(frozen=True)
class IntRange(Prior):
    """Integers low..high (both included) in steps of `step`, optionally sampled on a log scale."""

    low: int
    high: int
    step: int = field(default=1, kw_only=True)
    log: bool = field(default=False, kw_only=True)
    kind = "int"

    def __post_init__(self):
        n = self.name or "int"
        for what, v in (("low", self.low), ("high", self.high), ("step", self.step)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise UserError(f"{n}: {what} must be an integer, but got {v!r}")
        if not isinstance(self.log, bool):
            raise UserError(f"{n}: log must be true or false, but got {self.log!r}")
        if not self.low <= self.high:
            raise UserError(
                f"{n}: low <= high must hold, but got low={self.low}, high={self.high}"
            )
        if self.step < 1:
            raise UserError(f"{n}: step >= 1 must hold, but got step={self.step}")
        if (self.high - self.low) % self.step:
            raise UserError(
                f"{n}: high - low must be a multiple of step, but got low={self.low}, "
                f"high={self.high}, step={self.step}"
            )
        if self.log and self.step != 1:
            raise UserError(f"{n}: log = true needs step = 1, but got step={self.step}")
        if self.log and self.low < 1:
            raise UserError(f"{n}: low >= 1 must hold on a log scale, but got low={self.low}")
        if (self.high - self.low) // self.step >= 10_000_000:
            raise UserError(f"{n}: the range holds more than 10 million values; narrow it")

    def values(self):
        return list(range(self.low, self.high + 1, self.step))

    def snap(self, value):
        k = round((float(value) - self.low) / self.step)
        k = min(max(k, 0), (self.high - self.low) // self.step)
        return int(self.low + k * self.step)

    def contains(self, value):
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and self.low <= value <= self.high
            and (value - self.low) % self.step == 0
        )

    def describe(self):
        extra = f", step={self.step}" if self.step != 1 else ""
        extra += ", log" if self.log else ""
        return f"int({self.low}..{self.high}{extra})"

    def to_dict(self):
        out: dict = {"int": [self.low, self.high]}
        if self.step != 1:
            out["step"] = self.step
        if self.log:
            out["log"] = True
        return out


@dataclass(frozen=True)
class Choice(Prior):
    options: tuple
    kind = "choice"

    def __post_init__(self):
        n = self.name or "choice"
        if not isinstance(self.options, (list, tuple)) or not self.options:
            raise UserError(
                f"{n}: choice needs a non-empty list of options, but got {self.options!r}"
            )
        object.__setattr__(self, "options", tuple(self.options))
        for o in self.options:
            if not isinstance(o, Scalar):
                raise UserError(
                    f"{n}: choice options must be strings, numbers or booleans, but got {o!r}"
                )
        if len({(type(o), o) for o in self.options}) != len(self.options):
            raise UserError(f"{n}: choice options must be distinct, but got {list(self.options)}")

    def values(self):
        return list(self.options)

    def snap(self, value):
        if value in self.options:
            return self.options[self.options.index(value)]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            # HyperOpt and ConfigSpace sometimes hand back an index
            i = int(value)
            if 0 <= i < len(self.options) and i == value:
                return self.options[i]
        raise ValueError(f"{self.name}: {value!r} is not one of {list(self.options)}")

    def contains(self, value):
        return any(type(value) is type(o) and value == o for o in self.options) or (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and value
            in [o for o in self.options if isinstance(o, (int, float)) and not isinstance(o, bool)]
        )

    def describe(self):
        return "choice(" + ", ".join(map(repr, self.options)) + ")"

    def to_dict(self):
        return {"choice": list(self.options)}


@dataclass(frozen=True)
class Fixed(Prior):
    value: Any
    kind = "fixed"

    def __post_init__(self):
        if not isinstance(self.value, Scalar):
            raise UserError(
                f"{self.name or 'fixed'}: a fixed value must be a string, number or boolean, "
                f"but got {self.value!r}"
            )

    def values(self):
        return [self.value]

    def snap(self, value):
        return self.value

    def contains(self, value):
        return value == self.value

    def describe(self):
        return f"fixed({self.value!r})"

    def to_dict(self):
        return self.value


_FORMS = (
    "{ uniform = [lo, hi] }, { loguniform = [lo, hi] }, "
    "{ int = [lo, hi], step = 1, log = false }, { choice = [...] } or a plain value"
)


def prior_from_dict(name: str, raw: Any) -> Prior:
    """Parse the experiment-file form of a prior.

    >>> prior_from_dict("lr", {"loguniform": [1e-4, 1e-2]}).describe()
    'loguniform(0.0001, 0.01)'
    """
    if isinstance(raw, Scalar):
        return Fixed(raw, name=name)
    if not isinstance(raw, dict):
        raise UserError(f"{name}: a prior must be one of {_FORMS}, but got {raw!r}")
    kinds = [k for k in ("uniform", "loguniform", "int", "choice") if k in raw]
    if len(kinds) != 1:
        raise UserError(f"{name}: a prior must be one of {_FORMS}, but got {raw!r}")
    kind = kinds[0]
    allowed = {kind} | ({"step", "log"} if kind == "int" else set())
    extra = sorted(set(raw) - allowed)
    if extra:
        raise UserError(
            f"{name}: unknown key {extra[0]!r} in {'an' if kind == 'int' else 'a'} {kind} prior; "
            f"allowed: {sorted(allowed)}"
        )
    args = raw[kind]
    if kind == "choice":
        return Choice(args, name=name)
    if not isinstance(args, (list, tuple)) or len(args) != 2:
        raise UserError(f"{name}: {kind} needs [low, high], but got {args!r}")
    if kind == "int":
        return IntRange(
            args[0], args[1], step=raw.get("step", 1), log=raw.get("log", False), name=name
        )
    return Uniform(args[0], args[1], log=kind == "loguniform", name=name)
