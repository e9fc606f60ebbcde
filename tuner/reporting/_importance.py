"""Hyperparameter importance: fANOVA (Optuna's evaluator) over the full-budget trials."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from tuner.reporting._data import Experiment, choice_index
from tuner.spaces import Choice, IntRange, Prior

# fANOVA's cost grows faster than the trials it reads (a forest grown and marginalized on
# them); beyond this many full-budget trials it reads a seeded random sample of them, which
# estimates the same shares: 300 trials took 10 s, 2000 would take minutes
MAX_TRIALS = 400


@dataclass
class Importance:
    values: dict[str, float] = field(default_factory=dict)  # name -> share, largest first
    trials: int = 0  # the trials it was computed on
    of: int = 0  # the full-budget trials there were (more than `trials` when sampled)
    left_out: dict[str, str] = field(default_factory=dict)  # name -> why it was left out
    problem: str = ""  # why there are no values, when there are none

    def ranking(self) -> list[str]:
        return list(self.values)


def fanova(exp: Experiment) -> Importance:
    """fANOVA on the trials that ran the full budget, over the hyperparameters all of them have.

    Trials stopped early are left out: their best value measures how fast a config starts, not
    how good it ends (see the heatmap note). Conditional hyperparameters (filters_2 only when
    conv_blocks >= 2, momentum only for SGD) are left out, named, where some trial lacks them:
    fANOVA's forest needs every trial to have a value for every dimension.
    """
    trials = exp.full
    if len(trials) > MAX_TRIALS:
        import random

        trials = sorted(random.Random(0).sample(trials, MAX_TRIALS), key=lambda r: r.trial)
    out = Importance(trials=len(trials), of=len(exp.full))
    used = []
    for name in exp.params:
        p = exp.space.priors[name]
        missing = sum(name not in r.config for r in trials)
        if missing:
            when = f" (only when {p.when})" if p.when else ""
            out.left_out[name] = f"inactive in {missing} of {len(trials)} trials{when}"
        elif not all(p.contains(r.config[name]) for r in trials):
            out.left_out[name] = (f"values outside its prior {p.describe()}: the space changed "
                                  f"since the run")
        else:
            used.append(name)
    values = [r.value(exp.metric) for r in trials]
    if not used:
        out.problem = "no tunable hyperparameter is set in every full-budget trial"
    elif max(values) == min(values):
        out.problem = (f"all {len(trials)} full-budget trials reached the same {exp.metric} "
                       f"{values[0]:.4g}: there is no variance to explain")
    elif len(used) == 1:
        out.values = {used[0]: 1.0}
    else:
        try:
            out.values = _evaluate(trials, {n: exp.space.priors[n] for n in used}, exp)
        except (ValueError, RuntimeError, ZeroDivisionError) as e:  # a degenerate forest
            out.problem = f"fANOVA failed on these trials ({type(e).__name__}: {e})"
    return out


def _evaluate(trials, priors: dict[str, Prior], exp: Experiment) -> dict[str, float]:
    import optuna

    from tuner.spaces.convert import optuna_distribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {n: optuna_distribution(p) for n, p in priors.items()}
    frozen = [
        optuna.trial.create_trial(
            params={n: _value(p, r.config[n]) for n, p in priors.items()},
            distributions=dists,
            value=r.value(exp.metric),
        )
        for r in trials
    ]
    study = optuna.create_study(direction="maximize" if exp.mode == "max" else "minimize")
    study.add_trials(frozen)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's experimental-feature warnings
        shares = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
    return {n: float(v) for n, v in sorted(shares.items(), key=lambda kv: -kv[1])}


def _value(p: Prior, v):
    if isinstance(p, Choice):
        return p.options[choice_index(p, v)]
    return int(v) if isinstance(p, IntRange) else float(v)
