"""aeon's transforms as the rocket family's front: sizes, fitting on training rows only, saving.

.venv/bin/python -m pytest tests/models/test_aeon_fronts.py -q
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from tuner.models import build_model
from tuner.models.aeon_fronts import TRANSFORMS, AeonFront, n_features
from tuner.models.layers import fit_to_rows

SHAPES = [(60, 1), (12, 3), (5, 2)]  # univariate, multivariate, shorter than the kernels


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_each_transform_makes_the_features_it_announces(transform, shape):
    front = AeonFront(transform, *shape, seed=0, kernels=168)
    x = torch.randn(6, *shape)
    front.fit_rows(x)
    f = front(x)
    assert f.shape == (6, n_features(transform, shape[0], 168)) == (6, front.features)
    assert f.dtype == torch.float32 and torch.isfinite(f).all()


def test_published_sizes_when_no_kernel_count_is_given():
    assert n_features("minirocket", 150) == 9996  # 84 kernels × 119 biases
    assert n_features("multirocket", 150) == 49728  # 84 × 74 × 4 pooling operators × 2
    assert n_features("hydra", 150) == 5 * 1024  # 5 dilations up to 150 steps
    assert n_features("multirocket_hydra", 150) == 49728 + 5120


def test_a_front_is_fitted_before_use_and_says_so():
    front = AeonFront("minirocket", 20, 1, seed=0)
    with pytest.raises(RuntimeError, match="the minirocket front is not fitted: call "
                                           "fit_rows with the training rows first"):
        front(torch.randn(2, 20, 1))
    with pytest.raises(ValueError, match="transform must be one of minirocket, multirocket, "
                                         "hydra, multirocket_hydra, but got 'rocket2'"):
        AeonFront("rocket2", 20, 1, seed=0)


def test_minirocket_biases_come_from_the_rows_it_is_fitted_on():
    x = torch.randn(30, 40, 1)
    a = AeonFront("minirocket", 40, 1, seed=3)
    b = AeonFront("minirocket", 40, 1, seed=3)
    a.fit_rows(x)
    b.fit_rows(x * 5 + 2)  # other rows, same seed: other biases, other features
    assert not torch.allclose(a(x), b(x))
    c = AeonFront("minirocket", 40, 1, seed=3)
    c.fit_rows(x)
    torch.testing.assert_close(c(x), a(x))  # the same rows and seed: the same front


def test_fitting_leaves_the_global_generators_as_they_were():
    x = torch.randn(5, 30, 2)
    torch.manual_seed(1)
    np.random.seed(1)
    want = torch.rand(3), np.random.rand(3)
    torch.manual_seed(1)
    np.random.seed(1)
    AeonFront("multirocket_hydra", 30, 2, seed=9, kernels=84).fit_rows(x)
    torch.testing.assert_close(torch.rand(3), want[0])
    assert np.array_equal(np.random.rand(3), want[1])


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_a_saved_model_loads_with_weights_only_and_predicts_the_same(transform):
    config = {"transform": transform, "kernels": 168, "head": "ridge"}
    torch.manual_seed(0)
    model = build_model("rocket", config, (30, 2), 3)
    x = torch.randn(12, 30, 2)
    fit_to_rows(model, x)
    from tuner.training.build import front_features

    model.prepare_head(front_features(model.fixed, x, None), torch.arange(12) % 3)
    want = model.eval()(x)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    torch.manual_seed(5)  # another seed would draw other kernels: the saved ones win
    loaded = build_model("rocket", config, (30, 2), 3)
    loaded.load_state_dict(torch.load(buf, weights_only=True))
    torch.testing.assert_close(loaded.eval()(x), want)


def test_a_cross_validated_trial_fits_each_folds_front_on_that_folds_rows(monkeypatch):
    from tuner.data import load_data
    from tuner.spaces import load_space
    from tuner.training.trial import Trial, TrialSetup

    seen = []
    fit = AeonFront.fit_rows

    def spy(self, x, lengths=None):
        seen.append(len(x))
        fit(self, x, lengths)

    monkeypatch.setattr(AeonFront, "fit_rows", spy)
    gunpoint = load_data("aeon", split=None, seed=0, dataset="GunPoint").for_tuning()
    config = {"transform": "minirocket", "kernels": 840, "head": "ridge", "dropout": 0.0,
              "optimizer": "adam", "lr": 1e-3, "weight_decay": 1e-4, "batch_size": 8,
              "lr_schedule": "none"}
    trial = Trial(config, gunpoint, TrialSetup("rocket", load_space("rocket"), 1, 0, folds=5))
    assert seen == [40] * 5  # 50 series: each fold's front on the 40 it trains on, not all 50
    assert {tuple(p.batches.x.shape) for p in trial.folds} == {(40, 840)}
    assert trial.train_one_epoch()["accuracy"] >= 0.9
