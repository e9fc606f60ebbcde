"""Warm start: seed a new search with an earlier experiment's best configs and their results.

    tuner run experiments/digits_cnn.toml --warm-start digits_cnn --top 10

The searcher receives them as trials it has already seen (configs with their scores), so TPE
models them from its first suggestion instead of spending its random start-up trials; nothing
is trained again. Configs that no longer fit the space (a narrowed range, a removed choice, a
dimension that did not exist) are skipped and counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tuner.errors import UserError
from tuner.spaces.space import SearchSpace


@dataclass
class WarmStart:
    source: str  # the earlier experiment's folder
    configs: list[dict] = field(default_factory=list)  # active configs, best first
    values: list[float] = field(default_factory=list)  # their best value of the metric
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (trial, why)
    considered: int = 0

    def summary(self) -> str:
        why = ""
        if self.skipped:
            trial, reason = self.skipped[0]
            why = f"; {len(self.skipped)} skipped as outside this space (e.g. {trial}: {reason})"
        return (f"reused {len(self.configs)} of the {self.considered} best trials of "
                f"{self.source}{why}")


def load_warm_start(source: str, storage: str | None, space: SearchSpace, *, metric: str,
                    mode: str, top: int, searcher: str) -> WarmStart:
    """The `top` best trials of the earlier experiment `source` (a name or folder) that fit
    `space`, scored by `metric`. UserError for a searcher that cannot take them or an earlier
    experiment without results for the metric."""
    from tuner.store import find_experiment, load_records

    if searcher not in SEEDERS:
        raise UserError(
            f"--warm-start: searcher {searcher!r} cannot learn from earlier results; use "
            f"--searcher hyperopt or --searcher optuna (or drop --warm-start)"
        )
    exp = find_experiment(source, storage)
    records = [r for r in load_records(exp) if not r.status.failed
               and math.isfinite(r.value(metric))]
    if not records:
        raise UserError(
            f"--warm-start {source}: no trial in {exp} has a result for {metric!r}; warm-start "
            f"from an experiment that tuned the same metric"
        )
    sign = -1 if mode == "max" else 1
    records.sort(key=lambda r: sign * r.value(metric))
    out = WarmStart(str(exp))
    for r in records:
        if len(out.configs) == top:
            break
        out.considered += 1
        try:
            config = space.check(r.config, where=r.trial)
        except UserError as e:
            out.skipped.append((r.trial, str(e).removeprefix(f"{r.trial}: ")))
            continue
        out.configs.append(config)
        out.values.append(r.value(metric))
    if not out.configs:
        raise UserError(f"--warm-start {source}: {out.summary()}; nothing fits this space")
    return out


def seed_searcher(searcher, name: str, space: SearchSpace, warm: WarmStart) -> None:
    """Add the warm configs with their scores to a built searcher's history (a searcher
    `load_warm_start` accepted)."""
    from tuner.search.searchers import unwrapped

    SEEDERS[name](unwrapped(searcher), space, warm)


def _seed_hyperopt(searcher, space: SearchSpace, warm: WarmStart) -> None:
    """Finished HyperOpt trials (their values in HyperOpt's own form, every label of the space
    listed, inactive ones empty) with loss = metric_op × value, as HyperOpt minimises."""
    import hyperopt as hpo

    from tuner.spaces.convert import hyperopt_vals

    trials = searcher._hpopt_trials
    labels = list(searcher.domain.params)
    tids = trials.new_trial_ids(len(warm.configs))
    for tid, config, value in zip(tids, warm.configs, warm.values, strict=True):
        vals = hyperopt_vals(space, config)
        misc = {"tid": tid, "cmd": ("domain_attachment", "FMinIter_Domain"), "workdir": None,
                "idxs": {lb: [tid] if lb in vals else [] for lb in labels},
                "vals": {lb: [vals[lb]] if lb in vals else [] for lb in labels}}
        result = {"loss": searcher.metric_op * value, "status": hpo.STATUS_OK}
        (doc,) = trials.new_trial_docs([tid], [None], [result], [misc])
        doc["state"] = hpo.JOB_STATE_DONE
        trials.insert_trial_docs([doc])
    trials.refresh()


def _seed_optuna(searcher, space: SearchSpace, warm: WarmStart) -> None:
    """Completed Optuna trials with the distributions tuner's space gives each dimension
    (the define-by-run space rules out Ray's own evaluated_rewards)."""
    import optuna

    from tuner.spaces.convert import optuna_distribution
    from tuner.spaces.priors import Fixed

    for config, value in zip(warm.configs, warm.values, strict=True):
        params = {k: v for k, v in config.items() if not isinstance(space.priors[k], Fixed)}
        searcher._ot_study.add_trial(optuna.trial.create_trial(
            params=params, distributions={k: optuna_distribution(space.priors[k]) for k in params},
            value=value))


# the searchers that can take earlier results, and how each is given them
SEEDERS = {"hyperopt": _seed_hyperopt, "optuna": _seed_optuna}
