"""The reference beside every final result: the off-the-shelf model a user would reach for,
fitted on the same train + valid rows and tested on the same test rows; printed, saved in
metrics.json and shown by `tuner report`; a reason when there is none."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import tuner
from tests.data.test_text import reviews
from tuner.data import load_data
from tuner.reference import fit_reference
from tuner.training.tasks import TASKS

ROOT = Path(__file__).resolve().parents[1]
SPLIT = (0.7, 0.15, 0.15)


def _table(path: Path, n: int = 300) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4))
    y = x @ np.array([1.5, -2.0, 0.5, 0.0]) + np.sin(3 * x[:, 3]) + 0.1 * rng.normal(size=n)
    lines = ["a,b,c,d,y", *(",".join(f"{v:.5f}" for v in (*r, t)) for r, t in zip(x, y, strict=True))]
    path.write_text("\n".join(lines) + "\n")
    return path


def _metrics(data, ref) -> dict:
    import torch

    return TASKS[data.task].evaluate(ref.outputs, torch.as_tensor(data.y_test), data)


def test_a_table_gets_gradient_boosting_fitted_on_train_and_valid(tmp_path):
    from sklearn.ensemble import HistGradientBoostingRegressor

    data = load_data("file", split=SPLIT, seed=0, where="x", path=str(_table(tmp_path / "t.csv")),
                     target="y")
    ref = fit_reference(data, 3)
    assert ref.name == "scikit-learn HistGradientBoostingRegressor" and ref.seconds > 0
    alone = HistGradientBoostingRegressor(random_state=3).fit(
        np.concatenate([data.x_train, data.x_valid]),
        np.concatenate([data.y_train, data.y_valid]).ravel())
    assert np.allclose(ref.outputs.numpy().ravel(), alone.predict(data.x_test), atol=1e-5)


@pytest.mark.parametrize(("source", "options", "name", "at_least"), [
    ("digits", {}, "scikit-learn HistGradientBoostingClassifier on the pixels", 0.9),
    ("aeon", {"dataset": "GunPoint"}, "aeon MiniRocketClassifier", 0.9),
])
def test_images_and_series_get_theirs(source, options, name, at_least):
    data = load_data(source, split=None if source == "aeon" else SPLIT, seed=0, where="x",
                     **options)
    ref = fit_reference(data, 0)
    assert ref.name == name
    assert ref.outputs.shape == (len(data.y_test), data.n_outputs)
    assert _metrics(data, ref)["accuracy"] >= at_least


def test_texts_get_tf_idf_and_logistic_regression(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    reviews(200).to_csv("r.csv", index=False)
    data = load_data("file", split=SPLIT, seed=0, where="x", path="r.csv", target="label")
    ref = fit_reference(data, 0)
    assert ref.name == "TF-IDF 1-2 grams + logistic regression"
    assert _metrics(data, ref)["accuracy"] >= 0.9


def test_without_a_reference_the_line_says_why(tmp_path, monkeypatch):
    photos = load_data("file", split=SPLIT, seed=0, where="x", path=str(_photos(tmp_path)))
    assert fit_reference(photos, 0).absent == (
        "no reference for images of 3×64×64 yet (trees on more than 3072 raw pixels are slow "
        "and weak)")
    few = load_data("file", split=SPLIT, seed=0, where="x",
                    path=str(_table(tmp_path / "t.csv", n=10)), target="y")
    rows = len(few.y_train) + len(few.y_valid)
    assert rows < 10 and fit_reference(few, 0).absent == (
        f"{rows} training rows are too few to fit scikit-learn HistGradientBoostingRegressor")
    import tuner.reference as reference

    def broken(v):
        raise ValueError("singular")

    sun = load_data("sunspots", split=SPLIT, seed=0, where="x")
    with monkeypatch.context() as m:
        m.setattr(reference, "_candidates", lambda train, period: [("ETS level", broken)])
        assert fit_reference(sun, 0).absent == ("no reference: none of ETS level could be "
                                                "fitted to the training part")
    gun = load_data("aeon", split=None, seed=0, where="x", dataset="GunPoint")
    monkeypatch.setitem(sys.modules, "aeon.classification.convolution_based", None)
    assert fit_reference(gun, 0).absent == ("no reference: aeon MiniRocketClassifier needs "
                                            "aeon (pip install aeon)")


def _photos(root: Path) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        (root / "photos" / label).mkdir(parents=True)
        for i in range(12):
            Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(
                root / "photos" / label / f"{i}.png")
    return root / "photos"


@pytest.mark.parametrize("horizon", [1, 3])
def test_a_forecast_gets_the_statistical_model_validation_chose(horizon):
    import torch

    from tuner.data.forecast import chronological_bounds
    from tuner.reference import series_of

    data = load_data("airline", split=SPLIT, seed=0, where="x", horizon=horizon)
    s, end_train, end_valid = series_of(data)
    assert (end_train, end_valid) == chronological_bounds(len(s), SPLIT)
    assert np.allclose(s[:data.x_train.shape[1]], data.x_train[0, :, 0])
    assert np.allclose(s[end_valid:end_valid + horizon], data.y_test[0])  # the test's first
    ref = fit_reference(data, 0)
    assert ref.name.startswith("statsmodels ") and "(lowest validation MAE of " in ref.name
    assert ref.outputs.shape == data.y_test.shape
    ref_mase = _metrics(data, ref)["mase"]
    naive = TASKS["forecasting"].baseline(torch.as_tensor(data.x_test),
                                          torch.as_tensor(data.y_test))[1]
    naive_mase = TASKS["forecasting"].evaluate(naive, torch.as_tensor(data.y_test), data)["mase"]
    # the airline's yearly cycle: a seasonal model beats repeating the last month
    assert ref_mase < naive_mase


CONFIG = {"layers": 1, "units_1": 32, "activation": "relu", "dropout": 0.0, "optimizer": "adam",
          "lr": 0.01, "weight_decay": 1e-5, "batch_size": 64, "lr_schedule": "none"}


def test_tuner_train_prints_and_saves_the_reference_and_the_report_shows_it(
        tmp_path, monkeypatch, tuner_cli):
    from tuner.reporting import final_figures
    from tuner.reporting._html import _final

    monkeypatch.setenv("TUNER_REFERENCE", "on")  # the suite turns it off elsewhere
    (tmp_path / "best.toml").write_text(
        "[config]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in CONFIG.items()) + "\n")
    code, out, err = tuner_cli("train", ROOT / "experiments" / "digits_mlp.toml", "--config",
                               tmp_path / "best.toml", "--epochs", "3", "--out",
                               tmp_path / "final")
    assert code == 0, err
    saved = json.loads((tmp_path / "final" / "metrics.json").read_text())
    ref = saved["reference"]
    assert ref["model"] == "scikit-learn HistGradientBoostingClassifier on the pixels"
    assert {"test_accuracy", "test_f1", "seconds", "verdict"} <= set(ref)
    assert "test_loss" not in ref  # a ridge head has no probabilities: no comparable loss
    import re

    assert re.search(r"\nref    scikit-learn HistGradientBoostingClassifier on the pixels, same "
                     rf"rows, \d+\.\d s: accuracy {ref['test_accuracy']:.4f} · precision ", out)
    gap = saved["test_accuracy"] - ref["test_accuracy"]
    assert f"       tuned − reference: {gap:+.4f} accuracy (paired standard error " in out
    assert ref["verdict"] in ("a tie within the test split's noise", "the tuned model is ahead",
                              "the reference is ahead") and out.rstrip().count(ref["verdict"])
    section = "\n".join(_final(final_figures(tmp_path)))
    assert "<h2>Final model on the test split</h2>" in section
    assert f"{ref['test_accuracy']:.4f}" in section and f"{saved['test_accuracy']:.4f}" in section
    assert ref["verdict"][1:] in section

    code, out, err = tuner_cli("train", ROOT / "experiments" / "digits_mlp.toml", "--config",
                               tmp_path / "best.toml", "--epochs", "1", "--no-reference",
                               "--out", tmp_path / "again")
    assert code == 0, err
    assert "ref    " not in out
    assert "reference" not in json.loads((tmp_path / "again" / "metrics.json").read_text())
    final = tuner.train_final(ROOT / "experiments" / "digits_mlp.toml", config=CONFIG,
                              epochs=1, out_dir=str(tmp_path / "py"))
    assert final.reference["model"].startswith("scikit-learn HistGradientBoosting")


def test_the_verdict_weighs_the_gap_against_the_paired_standard_error():
    import torch

    from tuner.final import _paired_se

    data = load_data("digits", split=SPLIT, seed=0, where="x")
    y = torch.tensor([0, 1, 2, 3])
    right = torch.eye(10)[[0, 1, 2, 3]]
    one_wrong = torch.eye(10)[[0, 1, 2, 5]]
    assert _paired_se(data, "accuracy", right, right, y) == 0.0  # the same answers: a tie
    # differences 0, 0, 0, 1: their mean's standard error
    assert _paired_se(data, "accuracy", right, one_wrong, y) == pytest.approx(0.5 / 2)
    assert _paired_se(data, "f1", right, one_wrong, y) is None  # not a mean over examples
    sun = load_data("sunspots", split=SPLIT, seed=0, where="x", window=8)
    t = torch.as_tensor(sun.y_test)
    assert _paired_se(sun, "mase", t, t, t) == 0.0
    noisy = t + 0.3 * torch.randn(t.shape, generator=torch.Generator().manual_seed(0))
    se = _paired_se(sun, "mase", noisy, t, t)
    # the per-window absolute errors in original units over the naive MAE, their spread
    assert 0 < se < _paired_se(sun, "mae", noisy, t, t)


def test_a_forecasts_verdict_pairs_the_tuned_models_errors_with_the_references(tmp_path):
    # the paired standard error is of the saved model's test errors against the reference's
    # (not the naive forecast's, which final training also tests on the same windows)
    import io

    import torch

    from tuner.experiment import load
    from tuner.final import _paired_se, train_final
    from tuner.plan import resolve
    from tuner.reference import fit_reference

    spec = load(ROOT / "experiments" / "sunspots_forecast.toml")
    config = {"family": "linear", "layers": 1, "units": 32, "dropout": 0.0, "anchor": "none",
              "optimizer": "adam", "lr": 3e-3, "weight_decay": 1e-5, "batch_size": 16,
              "lr_schedule": "none"}
    out = io.StringIO()
    final = train_final(spec, config, 1, where="test", out_dir=str(tmp_path / "final"), out=out,
                        reference=True)
    data = resolve(spec).data
    with torch.no_grad():
        tuned = final.model.eval()(torch.as_tensor(data.x_test))
    ref = fit_reference(data, spec.search.seed)
    se = _paired_se(data, "mase", tuned, ref.outputs, torch.as_tensor(data.y_test))
    assert f" mase (paired standard error {se:.4f}): " in out.getvalue()
