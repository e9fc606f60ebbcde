"""Warm start: an earlier experiment's best trials seed HyperOpt and Optuna with their results."""

import pytest

from tests.conftest import EXPERIMENTS
from tuner.errors import UserError
from tuner.experiment import load, save_spec
from tuner.search import build_searcher
from tuner.search.searchers import unwrapped
from tuner.search.warmstart import load_warm_start, seed_searcher
from tuner.spaces import load_space
from tuner.store import TrialRecord, save_records


def _earlier(tmp_path, n=8):
    """An earlier digits_mlp experiment whose accuracy grows with lr; trial_008 is the best."""
    import random

    spec = load(EXPERIMENTS / "digits_mlp.toml")
    space = load_space("mlp")
    exp = tmp_path / "digits_mlp"
    exp.mkdir(parents=True)
    save_spec(spec, exp)
    rng = random.Random(0)
    records = []
    for i in range(n):
        config = space.sample(rng)
        config["lr"] = 1e-4 * 2 ** i
        r = TrialRecord(f"trial_{i + 1:03d}", f"id{i}", config, epochs=3)
        r.update({"epoch": 3, "accuracy": 0.5 + 0.05 * i, "val_loss": 1.0 - 0.1 * i},
                 "accuracy")
        r.finish(3)
        records.append(r)
    save_records(exp, records)
    return exp, space


def test_the_best_trials_come_first_and_those_outside_the_space_are_counted(tmp_path):
    exp, space = _earlier(tmp_path)
    narrowed = space.override({"lr": {"loguniform": [1e-4, 5e-3]}})  # drops the 2 best
    warm = load_warm_start(str(exp), None, narrowed, metric="accuracy", mode="max", top=3,
                           searcher="hyperopt")
    assert [round(v, 2) for v in warm.values] == [0.75, 0.7, 0.65]
    assert [c["lr"] for c in warm.configs] == [pytest.approx(1e-4 * 2 ** i) for i in (5, 4, 3)]
    assert [t for t, _ in warm.skipped] == ["trial_008", "trial_007"]
    assert warm.summary().startswith(f"reused 3 of the 5 best trials of {exp}; 2 skipped as "
                                     f"outside this space (e.g. trial_008: lr = ")


def test_searchers_that_cannot_learn_from_results_and_empty_sources_are_refused(tmp_path):
    exp, space = _earlier(tmp_path)
    with pytest.raises(UserError, match="searcher 'random' cannot learn from earlier results; "
                                        "use --searcher hyperopt or --searcher optuna"):
        load_warm_start(str(exp), None, space, metric="accuracy", mode="max", top=3,
                        searcher="random")
    with pytest.raises(UserError, match="no trial in .* has a result for 'mae'"):
        load_warm_start(str(exp), None, space, metric="mae", mode="min", top=3,
                        searcher="hyperopt")
    narrow = space.override({"layers": 4})
    with pytest.raises(UserError, match="nothing fits this space"):
        load_warm_start(str(exp), None, narrow, metric="accuracy", mode="max", top=3,
                        searcher="hyperopt")


@pytest.mark.parametrize("name", ["hyperopt", "optuna"])
def test_the_searcher_holds_them_as_finished_trials_and_suggests_new_ones(name, tmp_path):
    exp, space = _earlier(tmp_path)
    warm = load_warm_start(str(exp), None, space, metric="accuracy", mode="max", top=4,
                           searcher=name)
    searcher, _ = build_searcher(name, space, metric="accuracy", mode="max", seed=0,
                                 samples=20)
    seed_searcher(searcher, name, space, warm)
    inner = unwrapped(searcher)  # the searcher itself, inside the wrapper that resolves configs
    if name == "hyperopt":
        done = inner._hpopt_trials.trials
        assert [d["result"]["loss"] for d in done] == [-v for v in warm.values]  # minimised
        assert all(d["state"] == 2 for d in done)  # JOB_STATE_DONE: history, not a queue
    else:
        done = inner._ot_study.trials
        assert [t.value for t in done] == warm.values
        assert {t.params["lr"] for t in done} == {c["lr"] for c in warm.configs}
    suggested = [space.resolve(searcher.suggest(f"t{i}")) for i in range(3)]
    for config in suggested:  # new trials, from the space, not replays of the warm ones
        assert space.check(config, where="suggested") == config
        assert config not in warm.configs


def test_run_with_warm_start_prints_what_it_reused(ray_session, tuner_cli, tmp_path):
    exp, _ = _earlier(tmp_path / "old")
    code, out, err = tuner_cli("run", EXPERIMENTS / "digits_mlp.toml", "--samples", "2",
                               "--epochs", "1", "--storage", tmp_path / "new",
                               "--warm-start", exp, "--top", "5")
    assert code == 0, err + out
    assert f"  warm   reused 5 of the 5 best trials of {exp}" in out
    code, out, err = tuner_cli("run", EXPERIMENTS / "digits_mlp.toml", "--storage",
                               tmp_path / "new2", "--warm-start", exp, "--searcher", "random")
    assert code == 2 and out == ""
    assert "searcher 'random' cannot learn from earlier results" in err


def test_hyperopt_values_read_back_as_the_same_config():
    import random

    from hyperopt import space_eval

    from tuner.spaces.convert import hyperopt_vals, to_hyperopt

    for name in ("mlp", "cnn", "rnn"):
        space = load_space(name)
        rng = random.Random(1)
        for _ in range(20):
            config = space.sample(rng)
            back = space.resolve(space_eval(to_hyperopt(space), hyperopt_vals(space, config)))
            assert back == config
