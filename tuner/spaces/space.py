"""SearchSpace: named priors, per-layer groups and conditions, independent of any searcher.

>>> from tuner.spaces import IntRange, PerLayer, SearchSpace
>>> units = PerLayer(IntRange(16, 64, step=16), count="layers")
>>> s = SearchSpace({"layers": IntRange(1, 3), "units": units})
>>> sorted(s.resolve({"layers": 1, "units_1": 30, "units_2": 64}).items())
[('layers', 1), ('units_1', 32)]
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tuner.errors import UserError, did_you_mean
from tuner.spaces.priors import Condition, Fixed, Prior, prior_from_dict


@dataclass(frozen=True)
class PerLayer:
    """One prior per layer: `units_1 .. units_K`, K = the largest value of `count`.

    `units_i` is only active when `count >= i`, so searchers never tune a layer that is absent.
    """

    prior: Prior
    count: str


@dataclass(frozen=True)
class When:
    """A prior that is only active when `parent == value` (e.g. momentum only for SGD), or,
    with a tuple of values, when the parent takes one of them."""

    prior: Prior
    parent: str
    value: Any


Entry = Prior | PerLayer | When


def _bounds(p: Prior) -> list:
    return p.values() if p.discrete else [p.low, p.high]


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_kind(where: str, base: Prior, new: Prior) -> None:
    """An override keeps the kind of value the model reads, as the space module's prior says:
    one of its categories, integers for an integer prior, numbers of the same sign otherwise.

    >>> from tuner.spaces import Choice
    >>> _check_kind("[space] batch_size", Choice([32, 64]), Fixed(0))
    Traceback (most recent call last):
    ...
    tuner.errors.UserError: [space] batch_size: must be > 0 like the space's prior \
choice(32, 64), but got 0
    """
    old, got = _bounds(base), _bounds(new)
    if any(isinstance(v, (str, bool)) for v in old):  # categories: the model knows these only
        if isinstance(base, Fixed):  # one category fixed by the module: the type must match
            odd = [v for v in got if type(v) is not type(base.value)]
            if odd:
                raise UserError(f"{where}: must be a {type(base.value).__name__} like the "
                                f"space's {base.describe()}, but got {odd[0]!r}")
            return
        odd = [v for v in got if not any(type(v) is type(o) and v == o for o in old)]
        if odd:
            raise UserError(f"{where}: {odd[0]!r} is not one of the options the model takes: "
                            f"{', '.join(map(repr, old))}")
        return
    integers = base.discrete and all(_is_int(v) for v in old)
    if integers and not new.discrete:
        raise UserError(f"{where}: takes integers (the space's prior is {base.describe()}), so "
                        f"write {{ int = [low, high] }} or a choice, not {new.kind}")
    what = "an integer" if integers else "a finite number"
    for v in got:
        number = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        if not number or (integers and not _is_int(v)):
            raise UserError(f"{where}: must be {what} like the space's prior {base.describe()}, "
                            f"but got {v!r}")
    low, lowest = min(old), min(got)
    if (low > 0 and lowest <= 0) or (low >= 0 and lowest < 0):
        raise UserError(f"{where}: must be {'> 0' if low > 0 else '>= 0'} like the space's "
                        f"prior {base.describe()}, but got {lowest!r}")


class SearchSpace:
    """An ordered set of priors with conditions; see the module docstring."""

    def __init__(self, entries: Mapping[str, Entry], *, description: str = "",
                 defaults: Mapping[str, Any] | None = None):
        self.entries: dict[str, Entry] = dict(entries)
        self.description = description
        # what a config saved before a prior was added meant by leaving it out (a best.toml
        # from an older version still trains the same model)
        self.defaults: dict[str, Any] = dict(defaults or {})
        self.priors: dict[str, Prior] = self._expand()

    # -- building ---------------------------------------------------------------------------
    def _expand(self) -> dict[str, Prior]:
        out: dict[str, Prior] = {}
        for name, e in self.entries.items():
            if isinstance(e, Prior):
                out[name] = e.named(name)
            elif isinstance(e, When):
                several = isinstance(e.value, tuple)
                out[name] = e.prior.named(name, Condition(e.parent, "in" if several else "==",
                                                          e.value))
        for name, e in self.entries.items():
            if isinstance(e, PerLayer):
                parent = out.get(e.count)
                if (
                    parent is None
                    or not parent.discrete
                    or not all(
                        isinstance(v, int) and not isinstance(v, bool) and v >= 0
                        for v in parent.values()
                    )
                ):
                    raise UserError(
                        f"{name}: per-layer prior needs {e.count!r} to be an integer prior "
                        f"(int range, choice of integers or a fixed integer)"
                    )
                lo, hi = min(parent.values()), max(parent.values())
                if hi > 64:
                    raise UserError(f"{e.count}: at most 64 layers, but got up to {hi}")
                for i in range(1, hi + 1):
                    cond = None if i <= lo else Condition(e.count, ">=", i)
                    out[f"{name}_{i}"] = e.prior.named(f"{name}_{i}", cond)
        for p in out.values():
            if p.when is None:
                continue
            parent = out.get(p.when.parent)
            if parent is None:
                raise UserError(
                    f"{p.name}: depends on {p.when.parent!r}, which is not in the space"
                    f"{did_you_mean(p.when.parent, out)}"
                )
            if parent.when is not None:
                raise UserError(
                    f"{p.name}: depends on {parent.name!r}, which is itself conditional; "
                    f"only one level of conditions is supported"
                )
            if not parent.discrete:
                raise UserError(f"{p.name}: depends on {parent.name!r}, which must be discrete")
        # a child whose condition can never hold (its parent fixed to another value) is inactive
        return {
            n: p
            for n, p in out.items()
            if p.when is None or p.when.can_hold(out[p.when.parent].values())
        }

    def override(self, overrides: Mapping[str, Any], *, where: str = "[space]") -> SearchSpace:
        """A new space with some priors replaced by experiment-file forms (see prior_from_dict)."""
        entries = dict(self.entries)
        kinds = []  # (where, the module's prior, the override): checked once the space holds
        for key in sorted(overrides):
            raw = overrides[key]
            target = key
            if key not in entries:
                base, _, idx = key.rpartition("_")
                if base in entries and isinstance(entries[base], PerLayer) and idx.isdigit():
                    raise UserError(
                        f"{where} {key}: per-layer priors are set for all layers at once; "
                        f"write {base} = ... instead"
                    )
                raise UserError(
                    f"{where} {key}: unknown hyperparameter{did_you_mean(key, entries)}; "
                    f"this space has: {', '.join(entries)}"
                )
            prior = prior_from_dict(f"{where} {key}", raw)
            old = entries[target]
            kinds.append((f"{where} {key}", old.prior if isinstance(old, PerLayer | When) else old,
                          prior))
            if isinstance(old, PerLayer):
                entries[target] = PerLayer(prior, old.count)
            elif isinstance(old, When):
                entries[target] = When(prior, old.parent, old.value)
            else:
                entries[target] = prior
        try:
            space = SearchSpace(entries, description=self.description, defaults=self.defaults)
        except UserError as e:
            raise UserError(f"{where}: {e}") from None
        for args in kinds:
            _check_kind(*args)
        return space

    # -- using ------------------------------------------------------------------------------
    def order(self) -> list[str]:
        """Names with unconditional priors first, each group sorted, so conversions are stable."""
        free = sorted(n for n, p in self.priors.items() if p.when is None)
        cond = sorted(n for n, p in self.priors.items() if p.when is not None)
        return free + cond

    def children(self, parent: str) -> list[str]:
        return sorted(
            n for n, p in self.priors.items() if p.when is not None and p.when.parent == parent
        )

    def resolve(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The active, typed config from what a searcher proposed (nested dicts are flattened)."""
        flat: dict[str, Any] = {}

        def walk(d):
            for k, v in d.items():
                if isinstance(v, Mapping):
                    walk(v)
                else:
                    flat[k] = v

        walk(raw)
        out: dict[str, Any] = {}
        for name in self.order():
            p = self.priors[name]
            if p.when is not None and not p.when.holds(out):
                continue
            if isinstance(p, Fixed):
                out[name] = p.value
            elif name in flat:
                out[name] = p.snap(flat[name])
        return {n: out[n] for n in self.priors if n in out}

    def check(self, config: Mapping[str, Any], *, where: str) -> dict[str, Any]:
        """Validate a complete config (e.g. a best.toml); returns the active part, typed.
        Fixed values it leaves out are filled in."""
        # a choice today's prior no longer offers (a default for configs saved before it,
        # or an override) may switch on a child this space holds inactive
        dormant = {n: e for n, e in self.entries.items()
                   if isinstance(e, When) and n not in self.priors and n in config}
        unknown = sorted(set(config) - set(self.priors) - set(dormant))
        if unknown:
            raise UserError(
                f"{where}: unknown hyperparameter {unknown[0]!r}"
                f"{did_you_mean(unknown[0], self.priors)}; is this config from another space?"
            )
        out: dict[str, Any] = {}
        for name in self.order():
            p = self.priors[name]
            if p.when is not None and not p.when.holds(out):
                continue
            if name not in config and isinstance(p, Fixed):
                out[name] = p.value  # nothing to choose: a config may leave it out
                continue
            if name not in config and name in self.defaults:
                # what it meant then, even where today's prior no longer offers it
                out[name] = self.defaults[name]
                continue
            if name not in config:
                raise UserError(f"{where}: {name} is missing; the space has it as {p.describe()}")
            v = config[name]
            if isinstance(p, Fixed):
                v = p.value if v == p.value else v
            if not p.contains(v):
                raise UserError(f"{where}: {name} = {v!r} is outside the prior {p.describe()}")
            out[name] = v
        for name, e in dormant.items():
            parent = config.get(e.parent, self.defaults.get(e.parent))
            if parent in (e.value if isinstance(e.value, tuple) else (e.value,)):
                if not e.prior.contains(config[name]):
                    raise UserError(f"{where}: {name} = {config[name]!r} is outside the prior "
                                    f"{e.prior.describe()}")
                out[name] = config[name]
        return {n: out[n] for n in [*self.priors, *dormant] if n in out}

    def sample(self, rng: random.Random) -> dict[str, Any]:
        """One random active config (used by tests and `tuner space --samples`)."""
        out: dict[str, Any] = {}
        for name in self.order():
            p = self.priors[name]
            if p.when is not None and not p.when.holds(out):
                continue
            if p.discrete:  # one value (a fixed prior) draws nothing: the others' draws stay
                values = p.values()
                out[name] = values[0] if len(values) == 1 else rng.choice(values)
            elif p.log:
                out[name] = math.exp(rng.uniform(math.log(p.low), math.log(p.high)))
            else:
                out[name] = rng.uniform(p.low, p.high)
        return {n: out[n] for n in self.priors if n in out}

    def size(self) -> dict[str, Any]:
        """Discrete combinations (conditions respected) and continuous dimensions."""
        free = [p for p in self.priors.values() if p.when is None]
        parents = sorted({p.when.parent for p in self.priors.values() if p.when is not None})
        other = [p for p in free if p.name not in parents]
        combos = 1
        for p in other:
            if p.discrete:
                combos *= len(p.values())
        # enumerate the parents jointly: children of one parent depend on that parent only
        for parent in parents:
            total = 0
            for v in self.priors[parent].values():
                n = 1
                for c in self.children(parent):
                    cp = self.priors[c]
                    if cp.discrete and cp.when.holds({parent: v}):
                        n *= len(cp.values())
                total += n
            combos *= total
        continuous = [p.name for p in self.priors.values() if not p.discrete]
        always = [p.name for p in free if not p.discrete or len(p.values()) > 1]
        tunable = [p.name for p in self.priors.values() if not isinstance(p, Fixed)]
        return {
            "discrete_combinations": combos,
            "continuous": continuous,
            "dimensions": len(tunable),
            "always_active": len(always),
        }

    def to_dict(self) -> dict[str, Any]:
        return {n: p.to_dict() for n, p in self.priors.items()}

    def __repr__(self) -> str:
        return f"SearchSpace({', '.join(f'{n}={p.describe()}' for n, p in self.priors.items())})"
