"""Boosted trees (the trees and table families): scikit-learn's trees, boosted by epochs,
predicted by tuner's own traversal.

.venv/bin/python -m pytest tests/models/test_trees.py -q
"""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
import torch

from tuner.models import build_model
from tuner.models.trees import BoostedTrees


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.data, dtype=torch.float32)
    x[::5, 3] = float("nan")  # missing values go where scikit-learn sent them
    return x, torch.tensor(d.target)


def raw(model: BoostedTrees, x: torch.Tensor, j: int = 0) -> np.ndarray:
    return model.estimators[j]._raw_predict(x.double().numpy())


def traversed(model: BoostedTrees, x: torch.Tensor) -> torch.Tensor:
    """The scores of the model as saved: its nodes traversed in torch (no live estimator)."""
    copy = BoostedTrees(model.features, model.n_outputs, {}, seed=0)
    copy.load_state_dict(model.state_dict())
    assert not copy.estimators
    return copy(x)


def test_each_epoch_adds_rounds_and_scores_as_scikit_learn_does(digits):
    x, y = digits
    model = BoostedTrees(64, 10, {"rounds": 5, "max_leaf_nodes": 15}, seed=0)
    for epoch in (1, 2):
        model.boost(x[:1200], y[:1200])
        assert model.done == 5 * epoch and model.estimators[0].n_iter_ == 5 * epoch
        np.testing.assert_allclose(traversed(model, x[1200:]).numpy(), raw(model, x[1200:]),
                                   atol=1e-4)
        torch.testing.assert_close(model(x[1200:]), traversed(model, x[1200:]), atol=1e-4,
                                   rtol=1e-4)
    assert (model(x[1200:]).argmax(1) == y[1200:]).float().mean() > 0.85


def test_two_classes_score_the_second_against_a_fixed_zero(digits):
    x, y = digits
    model = BoostedTrees(64, 2, {"rounds": 5}, seed=0)
    model.boost(x[:1000], (y[:1000] > 4).long())
    out = traversed(model, x[1000:])
    assert out.shape == (len(x) - 1000, 2) and (out[:, 0] == 0).all()
    torch.testing.assert_close(model(x[1000:]), out, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(out[:, 1].numpy(), raw(model, x[1000:])[:, 0], atol=1e-4)


def test_a_class_the_training_rows_lack_is_never_predicted(digits):
    x, y = digits
    keep = y[:1000] != 7
    model = BoostedTrees(64, 10, {"rounds": 3}, seed=0)
    model.boost(x[:1000][keep], y[:1000][keep])
    assert (model(x[1000:]).argmax(1) != 7).all()
    assert (traversed(model, x[1000:]).argmax(1) != 7).all()


def test_one_regressor_per_output():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 4, generator=g)
    y = torch.stack([x[:, 0] * 2, x[:, 1] - x[:, 2]], 1)
    model = BoostedTrees(4, 2, {"rounds": 10}, seed=0)
    model.boost(x[:200], y[:200])
    out = traversed(model, x[200:])
    for j in range(2):
        np.testing.assert_allclose(out[:, j].numpy(), raw(model, x[200:], j)[:, 0], atol=1e-4)
    assert (out - y[200:]).abs().mean() < 0.5 * y[200:].abs().mean()


def test_a_saved_model_loads_with_weights_only_predicts_the_same_and_boosts_on(digits):
    x, y = digits
    config = {"family": "trees", "rounds": 4, "max_leaf_nodes": 7}
    torch.manual_seed(0)
    model = build_model("table", config, (64,), 10)
    model.boost(x[:1000], y[:1000])
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    torch.manual_seed(9)
    loaded = build_model("table", config, (64,), 10)
    loaded.load_state_dict(torch.load(buf, weights_only=True))
    torch.testing.assert_close(loaded(x[1000:]), model(x[1000:]))
    model.boost(x[:1000], y[:1000])
    loaded.boost(x[:1000], y[:1000])  # resumed: refitted to the rounds it had, then on
    assert loaded.done == model.done == 8
    torch.testing.assert_close(loaded(x[1000:]), model(x[1000:]), atol=1e-5, rtol=1e-5)


def test_the_table_family_builds_a_dense_net_or_trees():
    net = build_model("table", {"family": "mlp", "layers": 2, "units": 64,
                                "activation": "gelu", "dropout": 0.1}, (10,), 3)
    assert sum(p.numel() for p in net.parameters()) == 10 * 64 + 64 + 64 * 64 + 64 + 64 * 3 + 3
    trees = build_model("table", {"family": "trees"}, (10,), 3)
    assert isinstance(trees, BoostedTrees) and not list(trees.parameters())


def test_a_trees_trial_boosts_one_epoch_of_rounds_at_a_time(digits):
    from tuner.data import load_data
    from tuner.spaces import load_space
    from tuner.training.trial import Trial, TrialSetup

    data = load_data("digits", split=(0.7, 0.15, 0.15), seed=0).for_tuning()  # 8×8, flattened
    config = load_space("trees").sample(random.Random(0))
    trial = Trial(config, data, TrialSetup("trees", load_space("trees"), 5, 0))
    first = trial.train_one_epoch()
    second = trial.train_one_epoch()
    assert trial.model.done == 40
    assert second["val_loss"] < first["val_loss"] and second["accuracy"] > 0.8
