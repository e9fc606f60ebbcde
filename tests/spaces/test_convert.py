"""Conversions to searcher domains, run under each searcher's own loop (no Ray started).

.venv/bin/python -m pytest tests/spaces/test_convert.py -q
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from tuner.spaces import (
    SPACES,
    Choice,
    Fixed,
    IntRange,
    LogUniform,
    PerLayer,
    SearchSpace,
    When,
    load_space,
)
from tuner.spaces.convert import points_for_hyperopt, to_hyperopt, to_optuna, to_ray

NAMES = SPACES.names()


def small() -> SearchSpace:
    return SearchSpace(
        {
            "layers": IntRange(1, 3),
            "units": PerLayer(IntRange(16, 64, step=16), count="layers"),
            "width": IntRange(1, 64, log=True),
            "opt": Choice(["adam", "sgd"]),
            "momentum": When(Choice([0.8, 0.9]), "opt", "sgd"),
            "lr": LogUniform(1e-4, 1e-1),
            "act": Fixed("relu"),
        }
    )


def assert_active_exactly(space: SearchSpace, config: dict) -> None:
    for name, p in space.priors.items():
        assert (name in config) == (p.when is None or p.when.holds(config)), (name, config)


# -- HyperOpt -------------------------------------------------------------------------------------


def run_hyperopt(space: SearchSpace, evals: int = 15, seed: int = 0) -> list[dict]:
    from hyperopt import STATUS_OK, fmin, tpe

    rng = random.Random(seed)
    configs = []

    def objective(raw):
        config = space.resolve(raw)
        configs.append(space.check(config, where="hyperopt"))
        return {"loss": rng.random(), "status": STATUS_OK}

    fmin(
        objective,
        to_hyperopt(space),
        algo=tpe.suggest,
        max_evals=evals,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )
    return configs


@pytest.mark.parametrize("name", NAMES)
def test_hyperopt_tpe_proposes_valid_configs_for_every_builtin_space(name):
    space = load_space(name)
    configs = run_hyperopt(space)
    assert len(configs) == 15
    for c in configs:
        assert_active_exactly(space, c)


def test_hyperopt_nests_children_inside_their_parent_branches():
    from hyperopt.pyll.stochastic import sample

    space = small()
    hp_space = to_hyperopt(space)
    assert hp_space["act"] == "relu"
    assert set(hp_space) == {"layers", "units_1", "width", "opt", "lr", "act"}
    rng = np.random.default_rng(0)
    for _ in range(50):
        raw = sample(hp_space, rng=rng)
        assert set(raw["opt"]) == ({"opt", "momentum"} if raw["opt"]["opt"] == "sgd" else {"opt"})
        assert len(raw["layers"]) == raw["layers"]["layers"]  # layers + units_2..units_<layers>
        config = space.check(space.resolve(raw), where="hyperopt")
        assert 1 <= config["width"] <= 64


def test_points_for_hyperopt_resolve_back_to_the_same_config():
    space = load_space("cnn")
    configs = [space.sample(random.Random(s)) for s in range(30)]
    for point, config in zip(points_for_hyperopt(space, configs), configs, strict=True):
        assert space.resolve(point) == config


# -- Optuna ---------------------------------------------------------------------------------------


def run_optuna(space: SearchSpace, trials: int, sampler) -> list[tuple[dict, dict]]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=sampler)
    define = to_optuna(space)
    rng = random.Random(0)
    out = []
    for _ in range(trials):
        trial = study.ask()
        constants = define(trial) or {}
        config = space.check(space.resolve({**trial.params, **constants}), where="optuna")
        out.append((dict(trial.params), config))
        study.tell(trial, rng.random())
    return out


@pytest.mark.parametrize("name", NAMES)
def test_optuna_tpe_proposes_valid_configs_for_every_builtin_space(name):
    import optuna

    space = load_space(name)
    sampler = optuna.samplers.TPESampler(seed=0, n_startup_trials=5)
    for params, config in run_optuna(space, 15, sampler):
        assert_active_exactly(space, config)
        tuned = {n: v for n, v in config.items() if not isinstance(space.priors[n], Fixed)}
        assert params == tuned


@pytest.mark.parametrize("name", [n for n in NAMES if n != "trees"])  # trees: none
def test_optuna_never_suggests_an_inactive_child(name):
    import optuna

    space = load_space(name)
    conditional = {n: p for n, p in space.priors.items() if p.when is not None}
    assert conditional, f"{name} has no conditional dimensions"
    seen = {n: set() for n in conditional}
    for params, config in run_optuna(space, 40, optuna.samplers.RandomSampler(seed=1)):
        for n, p in conditional.items():
            active = p.when.holds(config)
            assert (n in config) == active
            if not isinstance(p, Fixed):
                assert (n in params) == active
            seen[n].add(active)
    # both sides of every condition were drawn
    assert all(sides == {True, False} for sides in seen.values()), seen


def test_optuna_returns_fixed_values_as_constants_and_never_suggests_them():
    import optuna

    space = small()
    for params, config in run_optuna(space, 10, optuna.samplers.RandomSampler(seed=0)):
        assert "act" not in params and config["act"] == "relu"
        assert 1 <= params["width"] <= 64
    no_fixed = SearchSpace({"x": IntRange(1, 3)})
    trial = optuna.create_study().ask()
    assert to_optuna(no_fixed)(trial) is None and set(trial.params) == {"x"}


# -- Ray Tune -------------------------------------------------------------------------------------


def test_to_ray_gives_one_ray_domain_per_prior():
    from ray.tune.search.sample import Categorical, Domain, Float

    r = to_ray(small())
    assert list(r) == small().order()
    assert r["act"] == "relu"  # fixed values stay plain
    assert all(isinstance(v, Domain) for k, v in r.items() if k != "act")
    assert isinstance(r["opt"], Categorical) and r["opt"].categories == ["adam", "sgd"]
    assert isinstance(r["lr"], Float) and (r["lr"].lower, r["lr"].upper) == (1e-4, 1e-1)
    assert type(r["lr"].sampler).__name__ == "_LogUniform"
    # integers: a continuous range half a step beyond each end, snapped by resolve
    assert (r["units_2"].lower, r["units_2"].upper) == (8, 72)
    assert type(r["units_2"].sampler).__name__ == "_Uniform"
    assert (r["width"].lower, r["width"].upper) == (0.5, 64.5)
    assert type(r["width"].sampler).__name__ == "_LogUniform"


@pytest.mark.parametrize("name", NAMES)
def test_random_search_domains_resolve_to_valid_configs(name):
    from ray.tune.search.sample import Domain

    space = load_space(name)
    domains = to_ray(space)
    for seed in range(50):
        raw = {
            k: v.sample(random_state=seed) if isinstance(v, Domain) else v
            for k, v in domains.items()
        }
        config = space.check(space.resolve(raw), where="ray")
        assert_active_exactly(space, config)


def test_ray_is_not_started():
    """Converting a space builds domains only; it must not start Ray (checked in a fresh process)."""
    import subprocess
    import sys

    code = (
        "import ray; from tuner.spaces import load_space; from tuner.spaces.convert import "
        "to_ray; to_ray(load_space('cnn')); print(ray.is_initialized())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
