"""The searcher wrapper that makes Ray Tune see the config a trial trains (imports Ray)."""

from __future__ import annotations

import time

from ray.tune.search import Searcher
from ray.tune.search.util import _set_search_properties_backwards_compatible

from tuner.spaces.space import SearchSpace


class ResolvedConfigs(Searcher):
    """Passes everything through to the searcher it wraps; resolves what it suggests.

    The wrapped searcher keeps its own record of what it suggested (HyperOpt its labels
    and choice indices, Optuna its trial, BOHB its ConfigSpace point), so it learns from
    results as before while Ray only ever sees the config that trains.
    """

    def __init__(self, searcher, space: SearchSpace):
        self.searcher, self.space = searcher, space
        self.suggest_s = 0.0  # the searcher's own time choosing configs (timing.json)
        super().__init__(metric=searcher.metric, mode=searcher.mode)

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        return _set_search_properties_backwards_compatible(
            self.searcher.set_search_properties, metric, mode, config, **spec)

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        return self.searcher.set_max_concurrency(max_concurrent)

    def suggest(self, trial_id: str):
        start = time.perf_counter()
        try:
            config = self.searcher.suggest(trial_id)
        finally:
            self.suggest_s += time.perf_counter() - start
        if config is None or config == Searcher.FINISHED:
            return config
        return self.space.resolve(config)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        self.searcher.on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result=None, error: bool = False) -> None:
        self.searcher.on_trial_complete(trial_id, result=result, error=error)

    def on_pause(self, trial_id: str) -> None:  # HyperBandForBOHB pauses through these
        self.searcher.on_pause(trial_id)

    def on_unpause(self, trial_id: str) -> None:
        self.searcher.on_unpause(trial_id)

    # Ray saves the wrapped searcher itself and each wrapper's state beside it: this one's is
    # its space, which the experiment's tuner.pkl already holds
    def get_state(self) -> dict:
        return {}

    def set_state(self, state: dict) -> None:
        pass

    def save(self, checkpoint_path: str) -> None:
        self.searcher.save(checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        self.searcher.restore(checkpoint_path)

    @property
    def metric(self) -> str:
        return self.searcher.metric

    @property
    def mode(self) -> str:
        return self.searcher.mode
