"""Advice on the space, in plain words, with the numbers taken from the results."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tuner.reporting._data import Experiment, fmt, is_log, is_numeric, position, value_at
from tuner.reporting._importance import Importance
from tuner.spaces import IntRange, PerLayer, Prior
from tuner.store import toml_value

# below this share of the metric's variance a dimension barely matters: fix it
LOW = 0.05
# "on an edge": in the outer tenth of a numeric range (of its log range for log priors)
EDGE = 0.10
# TPE's rule of thumb, in trials per dimension it models (see `budget`)
PER_DIM = (10, 20)
# fANOVA's forest needs about this many full-budget trials per dimension before a low
# importance means "barely matters" rather than "these trials did not probe it"
MIN_PER_DIM = 2


@dataclass
class Item:
    topic: str  # fix | edge | budget | note
    text: str
    toml: str = ""  # the [space] line that applies it, when there is one


def advise(exp: Experiment, imp: Importance) -> list[Item]:
    """Fixes for dimensions that barely matter, ranges to widen, and the trials the space needs."""
    items = fixes(exp, imp) + edges(exp, imp)
    return items + budget(exp, imp, items)


def reliable(imp: Importance) -> bool:
    return len(imp.values) >= 2 and imp.trials >= MIN_PER_DIM * len(imp.values)


def fixes(exp: Experiment, imp: Importance) -> list[Item]:
    if not imp.values:
        return []
    if not reliable(imp):
        need = MIN_PER_DIM * len(imp.values)
        rate = len(exp.records) / len(exp.full)
        return [Item(
            "note",
            f"No dimension is called unimportant yet: the importances come from {imp.trials} "
            f"full-budget trials over {len(imp.values)} dimensions, and telling a dimension "
            f"that barely matters from one these trials did not probe takes about "
            f"{MIN_PER_DIM} per dimension ({need}). At this search's rate ({len(exp.full)} of "
            f"{len(exp.records)} trials ran the full budget) that is about "
            f"{math.ceil(need * rate)} trials; until then read the importances as rough.")]
    best = exp.full[0]
    out = []
    for name, share in sorted(imp.values.items(), key=lambda kv: kv[1]):
        if share >= LOW:
            continue
        p = exp.space.priors[name]
        v = _rounded(p, best.config[name])
        out.append(Item(
            "fix",
            f"fix {name} at its best value {fmt(v)} ({best.trial}'s): importance {share:.3f}, "
            f"under {LOW}; it explains {share:.1%} of the variance of {exp.metric} across the "
            f"{imp.trials} full-budget trials",
            _line(exp, name, toml_value(v))))
    return out


def edges(exp: Experiment, imp: Importance) -> list[Item]:
    """Numeric ranges whose best trials crowd into one end: the optimum may lie beyond it.

    The best full-budget trial must sit in the outer EDGE of the range and at least half of the
    k best in the outer 2 x EDGE: the top few of ~30 trials rarely all land in one tenth even
    when the metric keeps rising towards the edge.
    """
    k = min(5, max(3, len(exp.full) // 4))
    out = []
    for name in exp.params:
        p = exp.space.priors[name]
        if not is_numeric(p) or name in imp.left_out or (
                reliable(imp) and imp.values.get(name, 0.0) < LOW):
            continue  # a dimension that barely matters is fixed, not widened
        top = [r for r in exp.full if name in r.config][:k]
        if len(top) < 2:
            continue
        at = [position(p, r.config[name]) for r in top]
        for side in ("high", "low"):
            near = [_outer(x, side, 2 * EDGE) for x in at]
            if _outer(at[0], side, EDGE) and sum(near) >= max(2, math.ceil(len(top) / 2)):
                out.append(_edge(exp, name, p, side, top, sum(near)))
    return out


def _outer(x: float, side: str, share: float) -> bool:
    return x >= 1 - share if side == "high" else x <= share


def _edge(exp: Experiment, name: str, p: Prior, side: str, top, n_near: int) -> Item:
    up = side == "high"
    bound = p.high if up else p.low
    scale = "log range" if is_log(p) else "range"
    limit = value_at(p, 1 - 2 * EDGE if up else 2 * EDGE)
    if isinstance(p, IntRange):
        limit = p.snap(limit)
    sign = "=" if limit == bound else ">=" if up else "<="
    best = top[0]
    evidence = (f"the best full-budget trial ({best.trial}, {name} {fmt(best.config[name])}) "
                f"sits in the {'top' if up else 'bottom'} {EDGE:.0%} of its {scale} "
                f"{fmt(p.low)}..{fmt(p.high)} and {n_near} of the {len(top)} best have {name} "
                f"{sign} {fmt(limit)} (the {'top' if up else 'bottom'} {2 * EDGE:.0%})")
    new = _widened(p, side)
    if new is None:  # the range already starts at 0 (or at 1 for a count on a log scale)
        return Item("edge", f"fix {name} at {fmt(bound)}, the low end of its range, which "
                            f"cannot go lower: {evidence}", _line(exp, name, toml_value(bound)))
    lo, hi = (p.low, new) if up else (new, p.high)
    return Item("edge", f"widen {name} {'above' if up else 'below'} {fmt(bound)}: {evidence}; "
                        f"the optimum may lie beyond the edge, so extend it to {fmt(new)}",
                _line(exp, name, _prior_toml(p, lo, hi)))


def _widened(p: Prior, side: str):
    """A quarter of the range (of the log range) beyond the edge; None where the bound's sign
    rules that out (a dropout range starting at 0, a layer count starting at 1)."""
    lo, hi, up = p.low, p.high, side == "high"
    factor = (hi / lo) ** 0.25 if is_log(p) else 1.0
    if isinstance(p, IntRange):
        if p.log:
            new = max(math.ceil(hi * factor), hi + 1) if up else min(math.floor(lo / factor),
                                                                     lo - 1)
        else:
            steps = max(1, math.ceil((hi - lo) / 4 / p.step))
            while not up and lo > 0 and lo - steps * p.step <= 0 and steps > 1:
                steps -= 1
            new = hi + steps * p.step if up else lo - steps * p.step
    else:
        if is_log(p):
            new = hi * factor if up else lo / factor
        else:
            new = hi + (hi - lo) / 4 if up else lo - (hi - lo) / 4
            if not up and lo > 0 >= new:
                new = lo / 2
        short = float(f"{new:.2g}")
        new = short if (short > hi if up else short < lo) else new
    if not up and ((lo > 0 and new <= 0) or (lo >= 0 and new < 0) or (is_log(p) and new <= 0)
                   or (isinstance(p, IntRange) and p.log and new < 1)):
        return None
    return new


def budget(exp: Experiment, imp: Importance, advice: list[Item]) -> list[Item]:
    size = exp.space.size()
    dims, always = size["dimensions"], size["always_active"]
    combos, continuous = size["discrete_combinations"], len(size["continuous"])
    n, n_full = len(exp.records), len(exp.full)
    lo, hi = (m * dims for m in PER_DIM)
    out = [Item("budget",
                f"The space has {dims} tunable dimensions ({always} always active, "
                f"{dims - always} conditional): {combos:,} discrete combinations x "
                f"{continuous} continuous dimensions, far more than any search visits, so what "
                f"sets the trials needed is the number of dimensions the searcher models.")]
    if n < lo:
        verdict = (f"{n / lo:.0%} of the low end: too few for TPE to have learned the space, so "
                   f"read the importances and the ranking as rough")
    elif n < hi:
        verdict = "within the range"
    else:
        verdict = "enough for TPE on this space"
    out.append(Item(
        "budget",
        f"Rule of thumb: TPE needs roughly {PER_DIM[0]}-{PER_DIM[1]} trials per dimension. It "
        f"splits the trials so far into the best quarter or so and the rest and fits one density "
        f"per dimension to each group; until the best group holds a few points in every "
        f"dimension those densities are mostly the prior and TPE samples close to random. For "
        f"{dims} dimensions that is {lo}-{hi} trials; this search ran {n} ({n_full} to the full "
        f"{exp.max_epochs} epochs): {verdict}."))
    left = _dimensions_after(exp, advice)
    if left is not None and left < dims:
        n = sum(bool(i.toml) for i in advice)
        out.append(Item(
            "budget",
            f"The {n} [space] line{'s' * (n > 1)} above leave{'s' * (n == 1)} {left} tunable "
            f"dimension{'s' * (left != 1)} (fixing a parent drops or settles its conditional "
            f"children) and bring{'s' * (n == 1)} that down to {PER_DIM[0] * left}-"
            f"{PER_DIM[1] * left} trials."))
    if exp.spec.search.searcher == "random":
        out.append(Item(
            "budget",
            f"Random search models nothing: each trial lands in the best 5% of the space with "
            f"probability 0.05, so {n} trials hold one there with probability "
            f"{1 - 0.95 ** n:.0%} (59 trials give 95%), whatever the dimension count."))
    return out


def _dimensions_after(exp: Experiment, advice: list[Item]) -> int | None:
    """The tunable dimensions left once the advice's [space] lines are applied."""
    import tomllib

    from tuner.errors import UserError

    overrides: dict = {}
    try:
        for line in (i.toml for i in advice if i.toml):
            for k, v in tomllib.loads(line).items():  # two layers of one family: the first
                overrides.setdefault(k, v)
        if not overrides:
            return None
        return exp.space.override(overrides).size()["dimensions"]
    except (UserError, ValueError):  # a line the space rejects: say nothing rather than guess
        return None


def _line(exp: Experiment, name: str, value: str) -> str:
    """The [space] line that sets `name`; a per-layer prior (filters_2) is set for all layers
    at once (filters = ...), as the experiment file requires."""
    base, _, index = name.rpartition("_")
    if name not in exp.space.entries and isinstance(exp.space.entries.get(base), PerLayer) \
            and index.isdigit():
        return f"{base} = {value}  # all layers: per-layer priors are set together"
    return f"{name} = {value}"


def _rounded(p: Prior, v):
    """Two significant digits for a float, kept inside the prior (a fix must be valid)."""
    if not isinstance(v, float):
        return v
    r = float(f"{v:.2g}")
    return min(max(r, p.low), p.high) if is_numeric(p) else r


def _prior_toml(p: Prior, lo, hi) -> str:
    if isinstance(p, IntRange):
        extra = (f", step = {p.step}" if p.step != 1 else "") + (", log = true" if p.log else "")
        return f"{{ int = [{lo}, {hi}]{extra} }}"
    return f"{{ {p.kind} = [{toml_value(float(lo))}, {toml_value(float(hi))}] }}"
