"""Every searcher and every scheduler tunes a real (tiny) experiment to the end."""

import pytest

from tests.conftest import EXPERIMENTS
from tuner.search import SCHEDULERS, SEARCHERS
from tuner.spaces import load_space
from tuner.store import load_records

# searches already run in this module, by their flags: `--searcher random` and `--searcher
# random --scheduler asha` are one search (the file's scheduler is asha), run once for both
_RUNS: dict = {}


def _run(tuner_cli, tmp_path, *flags):
    key = tuple(flags) if flags[-2:] != ("--scheduler", "asha") else tuple(flags[:-2])
    if key in _RUNS:
        return _RUNS[key]
    code, out, err = tuner_cli(
        "run",
        EXPERIMENTS / "digits_mlp.toml",
        "--samples",
        "3",
        "--epochs",
        "3",
        "--storage",
        tmp_path,
        *flags,
    )
    _RUNS[key] = code, out, err, load_records(tmp_path / "digits_mlp"), tmp_path
    return _RUNS[key]


@pytest.mark.parametrize("searcher", SEARCHERS)
def test_searcher_runs_the_space_unchanged(searcher, ray_session, tuner_cli, tmp_path):
    code, out, err, records, storage = _run(tuner_cli, tmp_path, "--searcher", searcher)
    assert code == 0, err + out
    assert len(records) == 3
    space = load_space("mlp")
    for r in records:
        assert space.check(r.config, where=r.trial) == r.config  # active, typed, in range
        assert r.status in {"completed", "stopped early"}
    if searcher == "bohb":
        assert "hyperband (BOHB)" in out
    # Ray Tune's own reader sees the configs that trained, not the searcher's raw values
    from ray.tune import ExperimentAnalysis

    analysis = ExperimentAnalysis(str(storage / "digits_mlp"))
    by_id = {r.trial_id: r.config for r in records}
    assert {t.trial_id: t.config for t in analysis.trials} == by_id


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_scheduler_runs(scheduler, ray_session, tuner_cli, tmp_path):
    code, out, err, records, _ = _run(
        tuner_cli, tmp_path, "--searcher", "random", "--scheduler", scheduler
    )
    assert code == 0, err + out
    assert len(records) == 3 and all(r.epochs >= 1 for r in records)
    if scheduler == "fifo":
        assert all(r.status == "completed" and r.epochs == 3 for r in records)


def test_diverging_trials_end_with_a_reason_not_a_crash(ray_session, tuner_cli, tmp_path):
    exp = tmp_path / "boom.toml"
    exp.write_text(
        'name = "boom"\n[model]\nfactory = "mlp"\n'
        '[space]\noptimizer = "sgd"\nlr = 1e12\nmomentum = 0.99\nlr_schedule = "none"\n'
        '[search]\nsamples = 2\nmax_epochs = 3\nscheduler = "fifo"\n'
    )
    code, out, err = tuner_cli("run", exp, "--storage", tmp_path / "r")
    records = load_records(tmp_path / "r" / "boom")
    assert [r.status for r in records] == ["diverged", "diverged"]
    assert all("lower the learning rate" in r.reason for r in records)
    assert all(r.epochs == 1 for r in records)
    # every trial failed: exit 1 and a message saying so
    assert code == 1 and "every trial diverged or errored" in out


def test_a_searcher_whose_packages_are_missing_is_named_before_anything_starts(monkeypatch):
    import importlib.util

    from tuner.errors import UserError
    from tuner.search.searchers import check_installed

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "hpbandster" else real(name, *a))
    with pytest.raises(UserError) as e:
        check_installed("bohb")
    assert str(e.value) == ("searcher 'bohb' needs hpbandster, which is not installed; run: "
                            "pip install 'tuner[bohb]' (or pick hyperopt, optuna or random)")
    check_installed("hyperopt")  # nothing optional


def test_ray_tunes_readers_give_the_config_tuner_best_prints(ray_session, tuner_cli, tmp_path):
    import tomllib

    from ray import tune

    from tuner.training.trial import run_trial

    code, out, err, records, _ = _run(tuner_cli, tmp_path, "--metric", "val_loss", "--seed", "5")
    assert code == 0, err + out
    exp = str(tmp_path / "digits_mlp")
    code, shown, _ = tuner_cli("best", "digits_mlp", "--storage", tmp_path)
    best = tomllib.loads(shown)["config"]
    analysis = tune.ExperimentAnalysis(exp)
    assert analysis.get_best_config(metric="val_loss", mode="min", scope="all") == best
    grid = tune.Tuner.restore(exp, trainable=run_trial).get_results()
    assert grid.get_best_result(metric="val_loss", mode="min", scope="all").config == best
    assert sorted(map(repr, (r.config for r in grid))) == sorted(repr(r.config) for r in records)
    assert all(type(v) is int for v in (best["batch_size"], best["layers"], best["units_1"]))
    assert not any(isinstance(v, dict) for v in best.values())  # nested choices are flat
