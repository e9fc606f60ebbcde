"""The one place where our priors become searcher domains (Ray Tune, HyperOpt, Optuna).

Each searcher gets the space in the form that keeps conditions real:
- HyperOpt: a parent with children becomes `hp.choice` over branches, so TPE never models an
  inactive layer's width.
- Optuna (TPE, and random search through its RandomSampler): a define-by-run function that
  only suggests active dimensions.
- BOHB: flat Ray Tune domains; inactive values are dropped by `resolve`.

Integer ranges are sampled as continuous values over [low - step/2, high + step/2] and snapped,
so every searcher sees the same ordered, evenly weighted integers (and a log scale when asked).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from tuner.spaces.priors import Choice, Fixed, IntRange, Prior, Uniform
from tuner.spaces.space import SearchSpace


def _int_bounds(p: IntRange) -> tuple[float, float]:
    if p.log:
        return max(p.low - 0.5, 0.5), p.high + 0.5
    return p.low - p.step / 2, p.high + p.step / 2


def to_ray(space: SearchSpace) -> dict[str, Any]:
    """Flat Ray Tune domains (BOHB's space)."""
    from ray import tune

    out: dict[str, Any] = {}
    for name in space.order():
        p = space.priors[name]
        if isinstance(p, Fixed):
            out[name] = p.value
        elif isinstance(p, Uniform):
            out[name] = (tune.loguniform if p.log else tune.uniform)(p.low, p.high)
        elif isinstance(p, IntRange):
            lo, hi = _int_bounds(p)
            out[name] = tune.loguniform(lo, hi) if p.log else tune.uniform(lo, hi)
        elif isinstance(p, Choice):
            out[name] = tune.choice(list(p.options))
        else:  # pragma: no cover - new prior types must be added here
            raise TypeError(f"no Ray domain for {p!r}")
    return out


def _hp(p: Prior, label: str):
    from hyperopt import hp

    if isinstance(p, Fixed):
        return p.value
    if isinstance(p, Uniform) and p.log:
        return hp.loguniform(label, math.log(p.low), math.log(p.high))
    if isinstance(p, Uniform):
        return hp.uniform(label, p.low, p.high)
    if isinstance(p, IntRange):
        lo, hi = _int_bounds(p)
        if p.log:
            return hp.loguniform(label, math.log(lo), math.log(hi))
        return hp.uniform(label, lo, hi)
    if isinstance(p, Choice):
        return hp.choice(label, list(p.options))
    raise TypeError(f"no HyperOpt domain for {p!r}")  # pragma: no cover


def to_hyperopt(space: SearchSpace) -> dict[str, Any]:
    """HyperOpt space: conditional children live inside their parent's `hp.choice` branches."""
    from hyperopt import hp

    out: dict[str, Any] = {}
    for name in space.order():
        p = space.priors[name]
        if p.when is not None:
            continue
        kids = space.children(name)
        if not kids:
            out[name] = _hp(p, name)
            continue
        branches = []
        for v in p.values():
            branch: dict[str, Any] = {name: v}
            for k in kids:
                kp = space.priors[k]
                if kp.when.holds({name: v}):
                    # labels must be unique per branch in HyperOpt
                    branch[k] = _hp(kp, f"{k}|{name}={v}")
            branches.append(branch)
        out[name] = hp.choice(name, branches)
    return out


class OptunaSpace:
    """Define-by-run space for Optuna: suggests only the dimensions that are active.

    A class rather than a closure so that Tune can pickle the searcher with the experiment.
    """

    def __init__(self, space: SearchSpace):
        self.space = space

    def __call__(self, trial) -> dict[str, Any] | None:
        chosen: dict[str, Any] = {}
        constants: dict[str, Any] = {}
        for name in self.space.order():
            p = self.space.priors[name]
            if p.when is not None and not p.when.holds({**chosen, **constants}):
                continue
            if isinstance(p, Fixed):
                constants[name] = p.value
            elif isinstance(p, Uniform):
                chosen[name] = trial.suggest_float(name, p.low, p.high, log=p.log)
            elif isinstance(p, IntRange):
                chosen[name] = trial.suggest_int(name, p.low, p.high, step=p.step, log=p.log)
            elif isinstance(p, Choice):
                chosen[name] = trial.suggest_categorical(name, list(p.options))
        return constants or None


def optuna_distribution(p: Prior):
    """The Optuna distribution of a prior (warm starts and fANOVA importance use it)."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if isinstance(p, Uniform):
        return FloatDistribution(p.low, p.high, log=p.log)
    if isinstance(p, IntRange):
        return IntDistribution(p.low, p.high, step=p.step, log=p.log)
    if isinstance(p, Choice):
        return CategoricalDistribution(list(p.options))
    raise TypeError(f"no Optuna distribution for {p!r}")  # pragma: no cover


def to_optuna(space: SearchSpace) -> Callable:
    """Define-by-run function for Optuna (see OptunaSpace)."""
    return OptunaSpace(space)


def hyperopt_vals(space: SearchSpace, config: dict) -> dict[str, Any]:
    """An active config as HyperOpt records a finished trial: label -> value, choices as the
    index of the option (labels as `to_hyperopt` names them; inactive ones left out)."""

    def val(p: Prior, v):
        return list(p.options).index(v) if isinstance(p, Choice) else v

    out: dict[str, Any] = {}
    for name in space.order():
        p = space.priors[name]
        if p.when is not None or isinstance(p, Fixed):
            continue
        v = config[name]
        kids = space.children(name)
        if not kids:
            out[name] = val(p, v)
            continue
        out[name] = list(p.values()).index(v)
        for k in kids:
            kp = space.priors[k]
            if k in config and not isinstance(kp, Fixed) and kp.when.holds({name: v}):
                out[f"{k}|{name}={v}"] = val(kp, config[k])
    return out


def points_for_hyperopt(space: SearchSpace, configs: list[dict]) -> list[dict]:
    """Active configs as HyperOpt `points_to_evaluate` (nested like `to_hyperopt`)."""
    out = []
    for c in configs:
        point: dict[str, Any] = {}
        for name in space.order():
            p = space.priors[name]
            if p.when is not None or isinstance(p, Fixed):
                continue
            kids = space.children(name)
            if kids:
                point[name] = {name: c[name], **{k: c[k] for k in kids if k in c}}
            else:
                point[name] = c[name]
        out.append(point)
    return out
