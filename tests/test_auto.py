"""Zero-edit experiments: what tuner derives from the data, cross-validated trials, ROCKET's
fixed front, ties within the validation noise, and final training over several seeds.

.venv/bin/python -m pytest tests/test_auto.py -q
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from searchspaces.common import batch_sizes
from tuner.auto import Profile, choose_factory, choose_folds, fit_to_data
from tuner.data import load_data
from tuner.data.forecast import seasonal_window
from tuner.errors import UserError
from tuner.experiment import load


def profile(**kw) -> Profile:
    base = dict(task="classification", kind="sequence", n_train=40, n_valid=10, classes=2,
                smallest_class=24, smallest_valid_class=5, steps=150, min_steps=150,
                channels=1, forecasting_window=False)
    return Profile(**{**base, **kw})


@pytest.mark.parametrize("kw, factory", [
    ({"kind": "image", "steps": 0, "channels": 0}, "cnn"),
    ({"kind": "tabular", "steps": 0, "channels": 0}, "table"),
    ({}, "rocket"),
    ({"task": "regression", "classes": 0}, "rocket"),
    ({"task": "forecasting", "classes": 0, "forecasting_window": True}, "forecast"),
])
def test_the_family_follows_the_shape_of_the_data(kw, factory):
    assert choose_factory(profile(**kw))[0] == factory


def test_a_small_validation_split_turns_on_cross_validation_and_says_why():
    folds, why = choose_folds(profile(), None, "x.toml: [data]")
    assert folds == 5
    assert why == ("10 validation examples (5 of the rarest class) cannot rank trials; each "
                   "trial cross-validates 5 models over the 50 examples of train + valid "
                   "([data] folds = 1 turns this off)")
    # never more folds than the rarest class has examples
    assert choose_folds(profile(smallest_class=3, smallest_valid_class=1), None, "")[0] == 3
    # enough validation examples: the split alone
    assert choose_folds(profile(n_train=800, n_valid=200, smallest_valid_class=90), None, "") \
        == (1, None)
    # forecasting windows: the plain chronological split unless the file asks for rolling origins
    assert choose_folds(profile(task="forecasting", classes=0, forecasting_window=True,
                                n_valid=10), None, "") == (1, None)
    assert choose_folds(profile(), 1, "") == (1, None)


def test_more_folds_than_a_class_has_examples_is_a_user_error():
    with pytest.raises(UserError) as e:
        choose_folds(profile(smallest_class=4), 10, "x.toml: [data]")
    assert str(e.value) == ("x.toml: [data] folds: 10 folds need at least 10 examples of every "
                            "class, but the rarest class has 4 in train + valid; set folds = 4 "
                            "or fewer")


def test_the_transforms_a_trial_can_afford_follow_the_data_size():
    from searchspaces import rocket
    from tuner.spaces import load_space

    space = load_space("rocket")
    # 50 series of 150 steps: every transform takes seconds
    assert [k for k, *_ in rocket.derive(profile(n_fit=40), space, "")] == ["head"]
    # 312 series of 2 000 steps, cross-validated on 5 folds: MiniRocket alone
    big = profile(n_train=218, n_valid=94, steps=2000, n_fit=250)
    (key, value, why), _ = rocket.derive(big, space, "")
    assert (key, value) == ("transform", "minirocket")
    assert why == ("312 series × 2000 steps × 5 folds: multirocket, hydra, multirocket_hydra "
                   "would take over 30 s of transform per trial on one core")
    # the same on the plain split: one pass, MultiRocket fits, the pair does not
    (key, value, why), _ = rocket.derive(profile(n_train=250, n_valid=62, steps=2000,
                                                 n_fit=250), space, "")
    assert value == {"choice": ["minirocket", "multirocket", "hydra"]}


def test_the_statistical_forecasters_are_left_out_of_long_series_and_several_channels():
    from searchspaces import forecast
    from tuner.spaces import load_space

    space = load_space("forecast")
    short = profile(task="forecasting", classes=0, forecasting_window=True, n_train=100,
                    n_valid=20)
    assert forecast.derive(short, space, "") == []
    long = profile(task="forecasting", classes=0, forecasting_window=True, n_train=2800,
                   n_valid=600)
    assert forecast.derive(long, space, "") == [(
        "family", {"choice": ["linear", "mlp", "rnn", "ets"]},
        "3400 windows: arima would take over 60 s a trial to filter each window")]
    longer = profile(task="forecasting", classes=0, forecasting_window=True, n_train=7000,
                     n_valid=1500)
    assert forecast.derive(longer, space, "")[0][1] == {"choice": ["linear", "mlp", "rnn"]}
    wide = profile(task="forecasting", classes=0, forecasting_window=True, channels=3)
    assert forecast.derive(wide, space, "")[0][1:] == (
        {"choice": ["linear", "mlp", "rnn"]},
        "windows of 3 channels: exponential smoothing and ARIMA read one series")


def test_batch_sizes_leave_several_steps_per_epoch():
    assert batch_sizes(40, [32, 64, 128, 256]) == (
        [2, 4, 8], "40 training examples per model: batches up to 8 leave at least 4 "
                   "optimizer steps per epoch")
    assert batch_sizes(200, [32, 64, 128, 256]) == (
        [4, 8, 16, 32], "200 training examples per model: batches up to 32 leave at least 4 "
                        "optimizer steps per epoch")
    assert batch_sizes(5000, [32, 64, 128, 256]) is None  # the space's own choices do


def test_the_window_of_a_series_is_two_of_its_cycles():
    t = np.arange(240.0)
    rng = np.random.default_rng(0)
    for period in (7, 12, 24):
        series = 3 * np.sin(2 * np.pi * t / period) + 0.02 * t + 0.3 * rng.standard_normal(240)
        window, why = seasonal_window(series)
        assert abs(window - 2 * period) <= 2, why  # the period, give or take a step of noise
    window, why = seasonal_window(rng.standard_normal(200))  # white noise: no cycle
    assert window == 12 and why.startswith("window 12: no cycle stands out")


GUNPOINT = '[data]\nsource = "aeon"\ndataset = "GunPoint"\n\n[search]\nmetric = "accuracy"\n'


def test_a_file_naming_only_its_data_gets_a_family_folds_priors_and_a_budget(tmp_path):
    path = tmp_path / "gunpoint.toml"
    path.write_text(GUNPOINT)
    spec = load(path)
    assert spec.factory == "auto"
    data = load_data("aeon", split=spec.data.split, seed=0, dataset="GunPoint")
    resolved, derived = fit_to_data(spec, data)
    assert resolved.factory == resolved.space_module == "rocket"
    assert resolved.data.folds == 5
    assert resolved.space_overrides["batch_size"] == {"choice": [2, 4, 8]}
    assert resolved.search.time_budget == 420 and resolved.search.max_epochs == 100
    assert [d.key for d in derived] == ["factory", "folds", "batch_size", "head", "max_epochs",
                                        "grace_period", "samples", "time_budget"]
    assert resolved.space_overrides["head"] == "ridge"  # 40 series: ROCKET's closed-form head
    assert resolved.search.samples == 50
    assert derived[2].line() == ('batch_size = { choice = [2, 4, 8] }: 40 training examples '
                                 'per model: batches up to 8 leave at least 4 optimizer steps '
                                 'per epoch')
    # resolving twice changes nothing: a saved experiment resumes with the same space
    again, more = fit_to_data(resolved, data)
    assert again == resolved and more == []


def test_what_the_file_says_wins(tmp_path):
    path = tmp_path / "gunpoint.toml"
    path.write_text(GUNPOINT.replace('[search]', '[data.x]\n[search]').replace('[data.x]\n', '')
                    + 'max_epochs = 40\n\n[model]\nfactory = "conv1d"\n\n[space]\n'
                      'batch_size = { choice = [16, 32] }\n')
    text = path.read_text().replace('dataset = "GunPoint"', 'dataset = "GunPoint"\nfolds = 1')
    path.write_text(text)
    spec = load(path)
    data = load_data("aeon", split=spec.data.split, seed=0, dataset="GunPoint")
    resolved, derived = fit_to_data(spec, data)
    assert resolved.factory == "conv1d" and resolved.data.folds == 1
    assert resolved.space_overrides["batch_size"] == {"choice": [16, 32]}
    assert resolved.search.max_epochs == 40 and resolved.search.time_budget == 0
    assert derived == []


def test_folds_larger_than_a_class_stop_the_run_before_ray(tmp_path, tuner_cli):
    path = tmp_path / "pickup.toml"
    path.write_text('[data]\nsource = "aeon"\ndataset = "PickupGestureWiimoteZ"\nfolds = 8\n')
    code, out, err = tuner_cli("run", str(path), "--storage", str(tmp_path / "r"))
    assert code == 2 and out == ""
    assert err.strip() == (f"tuner: error: {path}: [data] folds: 8 folds need at least 8 "
                           f"examples of every class, but the rarest class has 5 in train + "
                           f"valid; set folds = 5 or fewer")
    assert not (tmp_path / "r").exists()


def test_dry_run_shows_each_derived_choice_with_its_reason(tmp_path, tuner_cli):
    path = tmp_path / "gunpoint.toml"
    path.write_text(GUNPOINT)
    code, out, _ = tuner_cli("run", str(path), "--dry-run", "--storage", str(tmp_path / "r"))
    assert code == 0
    assert '  auto   factory = "rocket": 50 labelled series of 150 steps × 1 channel' in out
    assert "  auto   folds = 5: 10 validation examples" in out
    assert "  batch_size     choice(2, 4, 8)\n                 ↳ from the data: 40 training " \
           "examples per model" in out
    code, out, _ = tuner_cli("space", str(path))
    assert code == 0 and out.startswith('factory = "rocket": ')


# -- trials on folds, ROCKET's fixed front ------------------------------------------------------


def test_fold_indices_are_stratified_disjoint_and_cover_every_example():
    from tuner.training.folds import fold_indices

    y = np.array([0] * 12 + [1] * 7 + [2] * 5)
    folds = fold_indices(y, 5, seed=3, classification=True)
    joined = np.sort(np.concatenate(folds))
    assert (joined == np.arange(len(y))).all()
    for f in folds:
        assert set(y[f]) == {0, 1, 2}  # every class in every fold (5 of the rarest: one each)
    assert sorted(len(f) for f in folds) == [4, 5, 5, 5, 5]


def rocket_config(**kw) -> dict:
    return {"kernels": 200, "dropout": 0.0, "optimizer": "adam", "lr": 3e-3,
            "weight_decay": 1e-4, "batch_size": 8, "lr_schedule": "none", **kw}


@pytest.fixture(scope="module")
def gunpoint():
    return load_data("aeon", split=None, seed=0, dataset="GunPoint").for_tuning()


def test_a_cross_validated_trial_scores_every_example_and_resumes(gunpoint):
    from tuner.spaces import load_space
    from tuner.training.trial import Trial, TrialSetup

    setup = TrialSetup("rocket", load_space("rocket"), 10, 0, folds=5)
    trial = Trial(rocket_config(), gunpoint, setup)
    assert len(trial.folds) == 5
    # the fixed front ran once: every fold's batches hold the kernels' 2 × 200 features
    assert {tuple(p.batches.x.shape) for p in trial.folds} == {(40, 400)}
    for _ in range(3):
        m = trial.train_one_epoch()
    # out-of-fold predictions of all 50 series: accuracy moves in steps of 1/50
    assert m["accuracy"] * 50 == pytest.approx(round(m["accuracy"] * 50), abs=1e-4)
    k = round(m["accuracy"] * 50)
    assert m["accuracy_se"] == pytest.approx(  # the Beta(k + 1, 50 - k + 1) posterior's sd
        np.sqrt((k + 1) * (51 - k) / (52**2 * 53)))
    state = trial.state_dict()
    again = Trial(rocket_config(), gunpoint, setup)
    again.load_state_dict(state)
    assert again.epoch == 3 and len(state["folds"]) == 5
    resumed, went_on = again.train_one_epoch(), trial.train_one_epoch()
    assert resumed["epoch"] == went_on["epoch"] == 4
    # the same models and batch order (the fused optimizer's rounding aside)
    assert resumed["accuracy"] == pytest.approx(went_on["accuracy"], abs=0.041)


def test_rocket_learns_gunpoint_from_its_features(gunpoint):
    from tuner.spaces import load_space
    from tuner.training.trial import Trial, TrialSetup

    trial = Trial(rocket_config(kernels=500), gunpoint,
                  TrialSetup("rocket", load_space("rocket"), 30, 0))
    metrics = [trial.train_one_epoch() for _ in range(30)]
    assert max(m["accuracy"] for m in metrics) >= 0.9


@pytest.mark.parametrize("n, p", [(40, 300), (300, 40)])
def test_the_ridge_head_is_scikit_learns_ridge_classifier_with_its_leave_one_out_penalty(n, p):
    import torch
    from sklearn.linear_model import RidgeClassifierCV

    from tuner.models.rocket import RIDGE_ALPHAS, ridge_fit

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, n)
    z = rng.normal(size=(n, p))
    z[:, :5] += y[:, None] * 0.7
    z -= z.mean(axis=0)
    weight, bias = ridge_fit(torch.tensor(z), torch.tensor(y), 3)
    theirs = RidgeClassifierCV(alphas=RIDGE_ALPHAS.numpy()).fit(z, y)
    # the same solution, times the one factor that makes its scores calibrated logits
    scale = float(weight[0, 0] / theirs.coef_[0, 0])
    np.testing.assert_allclose(weight.numpy(), scale * theirs.coef_, atol=1e-8)
    np.testing.assert_allclose(bias.numpy(), scale * theirs.intercept_, atol=1e-8)
    assert 0.1 <= scale <= 100


def test_a_ridge_rocket_is_solved_at_once_and_its_trial_is_one_epoch(gunpoint):
    import torch

    from tuner.spaces import load_space
    from tuner.training.loop import trains
    from tuner.training.trial import Trial, TrialSetup

    trial = Trial(rocket_config(kernels=500, head="ridge"), gunpoint,
                  TrialSetup("rocket", load_space("rocket"), 30, 0))
    head = trial.folds[0].fit
    assert not trains(head)  # nothing left for gradient descent
    before = head.linear.weight.clone()
    m = trial.train_one_epoch()
    assert torch.equal(head.linear.weight, before)
    assert m["accuracy"] >= 0.9 and np.isfinite(m["train_loss"])
    # its scores are scaled into logits: a loss near a trained head's, not log 2 (uniform)
    assert m["val_loss"] < 0.35, m
    linear = Trial(rocket_config(kernels=500), gunpoint,
                   TrialSetup("rocket", load_space("rocket"), 30, 0))
    assert trains(linear.folds[0].fit)


def test_large_sets_get_rockets_gradient_trained_head(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6000, 20, 1)).astype(np.float32), rng.integers(0, 2, 6000)
    np.savez(tmp_path / "big.npz", X=x, y=y)
    (tmp_path / "e.toml").write_text(f'[data]\nsource = "file"\npath = "{tmp_path / "big.npz"}"\n'
                                     '[search]\nmetric = "accuracy"\n')
    spec = load(tmp_path / "e.toml")
    from tuner.data import load_spec_data

    resolved, derived = fit_to_data(spec, load_spec_data(spec))
    (head,) = [d for d in derived if d.key == "head"]
    assert head.value == "linear" and "closed-form ridge head is for sets of up to 4000" in (
        head.reason)
    assert resolved.space().priors["head"].values() == ["linear"]


def test_a_saved_rocket_loads_into_a_model_of_another_seed():
    import torch

    from tuner.models import build_model

    torch.manual_seed(0)
    a = build_model("rocket", rocket_config(), (60, 2), 3)
    torch.manual_seed(1)
    b = build_model("rocket", rocket_config(), (60, 2), 3)
    x = torch.randn(4, 60, 2)
    assert not torch.equal(a.eval()(x), b.eval()(x))
    b.load_state_dict(a.state_dict())
    torch.testing.assert_close(b(x), a(x))


# -- ties within the noise ---------------------------------------------------------------------


def test_a_difference_smaller_than_the_standard_error_is_a_tie_broken_by_the_loss():
    from tuner.store import best_record
    from tuner.store.records import TrialRecord

    def rec(name, acc, loss, se=0.05):
        return TrialRecord(name, name, {}, best={"accuracy": acc},
                           at_best={"accuracy": acc, "val_loss": loss, "accuracy_se": se})

    records = [rec("a", 0.96, 0.30), rec("b", 0.94, 0.10), rec("c", 0.80, 0.01)]
    assert best_record(records, "accuracy", "max").trial == "b"
    # without a standard error the highest accuracy wins, as before
    plain = [replace(r, at_best={k: v for k, v in r.at_best.items() if k != "accuracy_se"})
             for r in records]
    assert best_record(plain, "accuracy", "max").trial == "a"


# -- final training over seeds -----------------------------------------------------------------


def test_train_with_seeds_saves_and_tests_their_ensemble(tmp_path, tuner_cli):
    import torch

    from tuner.models import build_model
    from tuner.store import to_toml

    path = tmp_path / "gunpoint.toml"
    path.write_text(GUNPOINT)
    best = tmp_path / "best.toml"
    best.write_text(to_toml({"config": rocket_config(kernels=1000), "best_epoch": 20}))
    out_dir = tmp_path / "final"
    code, out, err = tuner_cli("train", str(path), "--config", str(best), "--seeds", "3",
                               "--out", str(out_dir))
    assert code == 0, err
    assert "20 epochs on train+valid (50 examples), 3 seeds" in out
    assert "test   the ensemble of the 3 seeds (model.pt): accuracy " in out
    assert "       each seed, mean ± sd: accuracy " in out
    assert "model.pt (the ensemble), seed_1..3/" in out
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert len(metrics["seeds"]) == 3
    accs = [s["test_accuracy"] for s in metrics["seeds"]]
    assert metrics["seed_mean"]["test_accuracy"] == pytest.approx(np.mean(accs))
    assert metrics["test_sd"]["test_accuracy"] == pytest.approx(np.std(accs, ddof=1))
    assert metrics["test_accuracy"] == metrics["ensemble"]["test_accuracy"]
    assert 0.8 <= metrics["test_accuracy"] <= 1.0
    assert len({s["seed"] for s in metrics["seeds"]}) == 3
    for i in (1, 2, 3):
        assert (out_dir / f"seed_{i}" / "model.pt").is_file()
    # the report's test section: the ensemble, then what one seed gets
    from tuner.reporting import final_figures
    from tuner.reporting._html import _final

    section = "\n".join(_final(final_figures(tmp_path)))
    assert "<td>the ensemble of 3 seeds, each 20 epochs on 50 examples</td>" in section
    assert (f"<td>one seed</td><td>the mean over the seeds</td><td class='num'>"
            f"{metrics['seed_mean']['test_accuracy']:.4f}</td>") in section
    # model.pt is the ensemble: three members, loaded weights-only, scoring what was printed
    from tuner.models.ensemble import Ensemble

    data = load_data("aeon", split=load(path).data.split, seed=0, dataset="GunPoint")
    members = [build_model("rocket", rocket_config(kernels=1000), data.input_shape, 2)
               for _ in range(3)]
    model = Ensemble(members, probabilities=True)
    model.load_state_dict(torch.load(out_dir / "model.pt", weights_only=True))
    with torch.no_grad():
        scores = model.eval()(torch.as_tensor(data.x_test))
    acc = (scores.argmax(1).numpy() == data.y_test).mean()
    assert acc == pytest.approx(metrics["test_accuracy"])


def test_a_config_that_trains_the_same_model_whatever_its_seed_keeps_one(tmp_path):
    # the linear forecaster is solved in closed form: a second seed would repeat the first
    import io

    from tuner.final import train_final

    config = {"family": "linear", "layers": 1, "units": 32, "dropout": 0.0, "anchor": "none",
              "optimizer": "adam", "lr": 3e-3, "weight_decay": 1e-5, "batch_size": 16,
              "lr_schedule": "none"}
    out = io.StringIO()
    root = Path(__file__).resolve().parents[1]
    final = train_final(load(root / "experiments" / "sunspots_forecast.toml"), config, 1,
                        where="test", out_dir=str(tmp_path / "final"), out=out, seeds=None,
                        reference=False, search_epochs=1000)
    said = out.getvalue()
    assert "seeds  an ensemble of 5 seeds, at most 25% of the search's 1000 trial epochs" in said
    assert ("seeds  the second seed trained the same model as the first (nothing in this "
            "config depends on the seed): one model kept\n") in said
    assert "\ntest   mae " in said and "ensemble" not in said.split("\ntest   ")[1]
    assert len(final.models) == 1 and final.model is final.models[0]
    files = sorted(p.name for p in (tmp_path / "final").iterdir())
    assert "model.pt" in files and not [f for f in files if f.startswith("seed_")]
    saved = json.loads((tmp_path / "final" / "metrics.json").read_text())
    assert "seeds" not in saved and saved["test_mase"] == pytest.approx(final.metrics["mase"])
    assert tomllib.loads((tmp_path / "final" / "config.toml").read_text())["seeds"] == 1


def test_without_seeds_the_ensemble_costs_at_most_a_quarter_of_the_search():
    from tuner.final import auto_seeds

    assert auto_seeds(900, 8, 1.2) == (5, "an ensemble of 5 seeds, at most 25% of the "
                                          "search's 900 trial epochs (--seeds N to choose)")
    assert auto_seeds(100, 10, 1.2)[0] == 2  # 2 × 12 ≤ 25 < 3 × 12
    assert auto_seeds(40, 10, 1.2) == (1, "one seed: a second one's 10 epochs would take the "
                                          "final training past 25% of the search's 40 trial "
                                          "epochs (--seeds N for an ensemble of N)")
    assert auto_seeds(None, 10, 1.2) == (1, "one seed: no search to size an ensemble by "
                                            "(--seeds N trains N)")


def test_seeds_zero_is_one_line_and_exit_2(tmp_path, tuner_cli):
    path = tmp_path / "gunpoint.toml"
    path.write_text(GUNPOINT)
    code, out, err = tuner_cli("train", str(path), "--from", "x", "--seeds", "0")
    assert code == 2 and out == ""
    assert err.strip() == ("tuner: error: tuner train: argument --seeds: must be a positive "
                           "integer, but got '0' (see tuner train --help)")


VOWELS_CONV = ('[data]\nsource = "aeon"\ndataset = "JapaneseVowels"\n[model]\n'
               'factory = "conv1d"\n')


def test_dilations_whose_receptive_field_dwarfs_the_series_are_left_out(tmp_path, tuner_cli):
    path = tmp_path / "vowels.toml"
    path.write_text(VOWELS_CONV)
    code, out, _ = tuner_cli("run", str(path), "--dry-run", "--storage", str(tmp_path / "r"))
    assert code == 0
    assert ("  auto   dilation_growth = { choice = [1, 2] }: series of 29 steps: with 4 blocks, "
            "growth 4 would see 171 steps, mostly padding") in out


def test_a_receptive_field_longer_than_every_series_stops_the_run(tmp_path, tuner_cli):
    path = tmp_path / "vowels.toml"
    path.write_text(VOWELS_CONV + "[space]\nkernel_size = 7\nconv_blocks = 4\n"
                                  "dilation_growth = 4\n")
    code, out, err = tuner_cli("run", str(path), "--storage", str(tmp_path / "r"))
    assert code == 2 and out == ""
    assert err.strip() == (f"tuner: error: {path}: [space] kernel_size: the smallest receptive "
                           f"field the space allows (511 steps: 4 block(s), kernel 7, dilation "
                           f"growth 4) is longer than every series (29 steps); choose a smaller "
                           f"kernel_size, dilation_growth or conv_blocks")


def test_folds_on_a_forecast_are_rolling_origins_that_leave_the_first_fold_enough_past():
    forecast = profile(task="forecasting", classes=0, forecasting_window=True, n_train=194,
                       n_valid=46)
    assert choose_folds(forecast, 4, "x.toml: [data]") == (4, None)  # the first trains on 56
    with pytest.raises(UserError) as e:
        choose_folds(forecast, 5, "x.toml: [data]")
    assert str(e.value) == ("x.toml: [data] folds: 5 rolling-origin folds of 46 validation "
                            "windows leave the first fold 10 training window(s), fewer than it "
                            "validates on; set folds ≤ 4, or 1 for the plain split")


def test_rolling_origin_folds_train_only_on_the_past_of_their_block():
    from tuner.training.folds import fold_splits

    y = np.arange(30.0).reshape(15, 2)  # 15 windows, horizon 2: targets overlap by one
    folds = fold_splits(y, 3, seed=0, task="forecasting", n_valid=3)
    assert [v.tolist() for _, v in folds] == [[6, 7, 8], [9, 10, 11], [12, 13, 14]]
    for train, valid in folds:  # no training target reaches the block's first target
        assert train.tolist() == list(range(valid[0] - 1))
        assert y[train].max() < y[valid].min()


def test_a_forecast_reads_levels_unless_its_series_trends(tmp_path):
    """The anchor follows the training part's trend; no data set is named."""
    t = np.arange(300.0)
    cycle = 50 + 40 * np.sin(2 * np.pi * t / 11)  # returns to its mean
    growth = 100 + 2 * t + 10 * np.sin(2 * np.pi * t / 12)  # trends
    anchors = {}
    for name, values in (("cycle", cycle), ("growth", growth)):
        np.savetxt(tmp_path / f"{name}.csv", values, header="y", comments="")
        exp = tmp_path / f"{name}.toml"
        exp.write_text(f'[data]\npath = "{tmp_path / name}.csv"\nvalue_column = "y"\n'
                       f'task = "forecasting"\n\n[search]\nmetric = "mase"\n')
        spec = load(exp)
        resolved, derived = fit_to_data(spec, load_data(spec.data.source, split=spec.data.split,
                                                        seed=0, **spec.data.options))
        assert resolved.factory == "forecast"
        why = {d.key: d for d in derived}
        anchors[name] = (why["anchor"].value, why["grace_period"].value,
                         resolved.search.max_epochs)
        assert "a straight line in time explains" in why["anchor"].reason
    assert anchors["cycle"][0] == "none" and anchors["growth"][0] == "last"
    # the family is tuned: ASHA waits a quarter of the epochs
    assert all(grace == max(2, epochs // 4) for _, grace, epochs in anchors.values())


def test_the_summary_shows_the_noise_and_the_ties():
    from types import SimpleNamespace

    from tuner.console import noise, ties
    from tuner.store import best_record
    from tuner.store.records import TrialRecord
    from tuner.vocabulary import Status

    def rec(name, acc, loss, se=0.05):
        return TrialRecord(name, name, {}, status=Status.COMPLETED, best={"accuracy": acc},
                           at_best={"accuracy": acc, "val_loss": loss, "accuracy_se": se})

    records = [rec("a", 0.96, 0.30), rec("b", 0.94, 0.10), rec("c", 0.80, 0.01)]
    best = best_record(records, "accuracy", "max")
    assert noise(best, "accuracy") == " ± 0.0500"
    search = SimpleNamespace(metric="accuracy", mode="max")
    assert ties(records, best, search) == ("; 1 other trial(s) within one standard error, a "
                                           "tie: chosen by the lower val_loss")
    assert ties(records[2:], records[2], search) == ""


@pytest.mark.parametrize("steps, factors", [(8, 1), (29, 1), (100, {"choice": [1, 2, 4]}),
                                            (361, {"choice": [2, 4, 8, 16]}),
                                            (1460, {"choice": [8, 16, 32, 64]})])
def test_downsampling_follows_the_series_length(steps, factors, tmp_path):
    from types import SimpleNamespace

    import tuner.auto as auto

    data = SimpleNamespace(input_shape=(steps, 1), task="classification", classes=["a", "b"],
                           y_train=np.array([0, 1] * 100), y_valid=np.array([0, 1] * 30),
                           x_train=np.zeros((200, steps, 1)), x_valid=np.zeros((60, steps, 1)),
                           lengths_train=None, lengths_valid=None)
    (tmp_path / "exp.toml").write_text('[model]\nfactory = "rnn"\n')
    spec = load(tmp_path / "exp.toml")
    resolved, _ = auto.fit_to_data(spec, data)
    assert resolved.space_overrides["downsample"] == factors



def test_a_trainable_model_cross_validates_too(gunpoint):
    import random

    from tuner.spaces import load_space
    from tuner.training.trial import Trial, TrialSetup

    space = load_space("conv1d")
    config = space.resolve({**space.sample(random.Random(0)), "conv_blocks": 1,
                            "filters_1": 8, "batch_size": 32})
    trial = Trial(config, gunpoint, TrialSetup("conv1d", space, 2, 0, folds=3))
    assert [len(p.batches.x) for p in trial.folds] == [33, 33, 34]
    m = trial.train_one_epoch()
    assert m["epoch"] == 1 and 0 <= m["accuracy"] <= 1 and np.isfinite(m["val_loss"])


def test_a_rolling_origin_trial_scores_every_validation_block_of_a_forecast():
    from tuner.spaces import load_space
    from tuner.training.trial import Trial, TrialSetup

    data = load_data("sunspots", split=[0.7, 0.15, 0.15], seed=0).for_tuning()
    config = {"family": "rnn", "layers": 1, "units": 32, "cell": "gru", "dropout": 0.0,
              "anchor": "none", "optimizer": "adam", "lr": 3e-3, "weight_decay": 1e-5,
              "batch_size": 16, "lr_schedule": "none"}
    trial = Trial(config, data, TrialSetup("forecast", load_space("forecast"), 5, 0, folds=3))
    n_valid = len(data.y_valid)
    # the last fold is the plain split; each earlier one trains on less of the past
    assert [len(p.batches.x) for p in trial.folds] == [
        len(data.y_train) - 2 * n_valid, len(data.y_train) - n_valid, len(data.y_train)]
    m = trial.train_one_epoch()
    assert m["mase"] > 0 and m["mase_se"] > 0 and math.isfinite(m["val_loss"])


def test_the_linear_forecaster_is_ridge_regression_solved_at_once_and_never_anchored():
    import torch
    from sklearn.linear_model import RidgeCV

    from tuner.models.rocket import RIDGE_ALPHAS
    from tuner.spaces import load_space
    from tuner.training.loop import trains
    from tuner.training.trial import Trial, TrialSetup

    data = load_data("sunspots", split=[0.7, 0.15, 0.15], seed=0).for_tuning()
    config = {"family": "linear", "layers": 1, "units": 32, "dropout": 0.0, "anchor": "last",
              "optimizer": "adam", "lr": 3e-3, "weight_decay": 1e-5, "batch_size": 16,
              "lr_schedule": "none"}
    trial = Trial(config, data, TrialSetup("forecast", load_space("forecast"), 40, 0))
    assert not trains(trial.folds[0].fit) and trial.model.__class__.__name__ == "LinearAR"
    m = trial.train_one_epoch()
    # scikit-learn's RidgeCV (leave-one-out over the same penalties) on the standardized window
    x, xv = data.x_train[:, :, 0], data.x_valid[:, :, 0]
    mean, std = x.mean(axis=0), x.std(axis=0, ddof=1)
    ridge = RidgeCV(alphas=RIDGE_ALPHAS.numpy()).fit((x - mean) / std, data.y_train[:, 0])
    ours = trial.model(torch.as_tensor(data.x_valid)).detach().numpy()[:, 0]
    assert np.allclose(ours, ridge.predict((xv - mean) / std), atol=1e-4)
    assert 0.7 < m["mase"] < 0.9  # the AR model: between the naive forecast (1.5) and the nets
