"""Searchers: HyperOpt TPE (default), Optuna TPE, BOHB and random search.

Each builder returns (search algorithm, param_space for the Tuner). Spaces reach the searchers
through tuner.spaces.convert only. Every searcher is wrapped in `ResolvedConfigs`, so the config
Ray Tune gives a trial, saves with the experiment and returns from its own readers
(`ExperimentAnalysis`, `ResultGrid`) is the one the trial trains: integers as integers, steps
snapped, inactive conditional dimensions absent, nested choices flat.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tuner.errors import UserError, did_you_mean
from tuner.spaces.space import SearchSpace


def initial_points(samples: int, asked: int) -> int:
    """Random configs before TPE models the results: a quarter of the budget, 3 to 10."""
    return asked if asked > 0 else max(3, min(10, samples // 4))


def resolved(searcher, space: SearchSpace):
    """`searcher` as a Ray Tune Searcher whose suggestions are `space.resolve`d configs."""
    from tuner.search.resolved import ResolvedConfigs

    return ResolvedConfigs(searcher, space)


def unwrapped(searcher):
    """The searcher `resolved` wraps (for warm starts, which write into its history)."""
    return getattr(searcher, "searcher", searcher)


def _hyperopt(space: SearchSpace, metric, mode, seed, n_init):
    from ray.tune.search.hyperopt import HyperOptSearch

    from tuner.spaces.convert import to_hyperopt

    return HyperOptSearch(
        space=to_hyperopt(space),
        metric=metric,
        mode=mode,
        n_initial_points=n_init,
        random_state_seed=seed,
    ), {}


def _optuna(space: SearchSpace, metric, mode, seed, n_init):
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    from tuner.spaces.convert import to_optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_init)
    return OptunaSearch(space=to_optuna(space), metric=metric, mode=mode, sampler=sampler), {}


def _random(space: SearchSpace, metric, mode, seed, n_init):
    """Uniform sampling of the active dimensions only (Optuna's RandomSampler over the same
    define-by-run space as TPE): a seeded random baseline that never draws an inactive layer."""
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    from tuner.spaces.convert import to_optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.RandomSampler(seed=seed)
    return OptunaSearch(space=to_optuna(space), metric=metric, mode=mode, sampler=sampler), {}


def _bohb(space: SearchSpace, metric, mode, seed, n_init):
    check_installed("bohb")
    from ray.tune.search.bohb import TuneBOHB

    from tuner.spaces.convert import to_ray

    return TuneBOHB(space=to_ray(space), metric=metric, mode=mode, seed=seed), {}


@dataclass(frozen=True)
class Entry:
    build: Callable  # (space, metric, mode, seed, n_initial) -> (searcher, param_space)
    modules: tuple[str, ...]  # what it imports: loaded while a local Ray starts
    needs: tuple[str, ...] = ()  # optional packages, checked before Ray starts (not imported)


# The searchers by name: `[search] searcher`, --searcher, and the contract tests iterate this.
SEARCHERS: dict[str, Entry] = {
    "hyperopt": Entry(_hyperopt, ("ray.tune.search.hyperopt",)),
    "optuna": Entry(_optuna, ("optuna", "ray.tune.search.optuna")),
    "bohb": Entry(_bohb, ("ray.tune.search.bohb",), needs=("hpbandster", "ConfigSpace")),
    "random": Entry(_random, ("optuna", "ray.tune.search.optuna")),
}


def check_installed(name: str) -> None:
    """UserError naming the packages a searcher needs that are not installed (none imported)."""
    from importlib.util import find_spec

    missing = [m for m in SEARCHERS[name].needs if find_spec(m) is None]
    if missing:
        raise UserError(
            f"searcher {name!r} needs {' and '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed; "
            f"run: pip install 'tuner[{name}]' (or pick hyperopt, optuna or random)"
        )


def build_searcher(
    name: str,
    space: SearchSpace,
    *,
    metric: str,
    mode: str,
    seed: int,
    samples: int,
    initial: int = 0,
) -> tuple[Any, dict]:
    """(search_alg, param_space), e.g. `build_searcher("hyperopt", space, metric=..., ...)`."""
    if name not in SEARCHERS:
        raise UserError(
            f"unknown searcher {name!r}{did_you_mean(name, SEARCHERS)}; "
            f"choose one of {', '.join(SEARCHERS)}"
        )
    searcher, param_space = SEARCHERS[name].build(space, metric, mode, seed,
                                                  initial_points(samples, initial))
    return resolved(searcher, space), param_space
