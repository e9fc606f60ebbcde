"""Training-loop pieces: metrics, LR schedules, the batch streamer and the model factories.

.venv/bin/python -m pytest tests/test_loop.py -q
"""

from __future__ import annotations

import copy
import itertools
import math
import random

import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score
from torch import nn

from tuner.data.streamer import DataStreamer
from tuner.models import InfeasibleConfig, build_model
from tuner.spaces import load_space
from tuner.training.loop import LRSchedule
from tuner.training.tasks import classification_metrics

DIGITS_SHAPE, DIGITS_CLASSES = (1, 8, 8), 10


# -- metrics --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n, k", [(200, 5), (37, 3), (500, 10)])
def test_classification_metrics_match_sklearn(seed, n, k):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, k, generator=g)
    y = torch.randint(0, k, (n,), generator=g)
    y[:k] = torch.arange(k)  # every class occurs, as in a stratified validation split
    m = classification_metrics(logits, y, k)
    yt, yp = y.numpy(), logits.argmax(1).numpy()
    assert m["accuracy"] == pytest.approx(accuracy_score(yt, yp), abs=1e-6)
    assert m["f1"] == pytest.approx(f1_score(yt, yp, average="macro"), abs=1e-9)
    assert m["precision"] == pytest.approx(
        precision_score(yt, yp, average="macro", zero_division=0), abs=1e-9
    )
    assert m["recall"] == pytest.approx(recall_score(yt, yp, average="macro"), abs=1e-9)
    probs = torch.softmax(logits, 1).numpy()
    assert m["val_loss"] == pytest.approx(log_loss(yt, probs, labels=list(range(k))), rel=1e-5)


def test_perfect_and_hopeless_predictions():
    y = torch.tensor([0, 1, 2, 0])
    right = nn.functional.one_hot(y, 3).float() * 10
    assert classification_metrics(right, y, 3)["f1"] == 1.0
    assert classification_metrics(right, y, 3)["accuracy"] == 1.0
    wrong = nn.functional.one_hot((y + 1) % 3, 3).float() * 10
    assert classification_metrics(wrong, y, 3)["f1"] == 0.0


def test_a_class_absent_from_both_labels_and_predictions_is_left_out():
    y = torch.tensor([0, 0, 1, 1])
    logits = nn.functional.one_hot(torch.tensor([0, 1, 1, 1]), 3).float()
    m = classification_metrics(logits, y, 3)  # class 2: never true, never predicted
    assert m["f1"] == pytest.approx(f1_score(y.numpy(), [0, 1, 1, 1], average="macro"))


def test_a_predicted_class_absent_from_the_labels_counts_as_zero():
    y = torch.tensor([0, 0, 1, 1])
    pred = [0, 2, 1, 1]
    m = classification_metrics(nn.functional.one_hot(torch.tensor(pred), 3).float(), y, 3)
    assert m["f1"] == pytest.approx(f1_score(y.numpy(), pred, average="macro"))  # 5/9, not 5/6
    assert m["precision"] == pytest.approx(
        precision_score(y.numpy(), pred, average="macro", zero_division=0)
    )


# -- LR schedules ---------------------------------------------------------------------------------


def lrs(config: dict, epochs: int, losses=None) -> list[float]:
    """The learning rate used in each epoch."""
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    schedule = LRSchedule(opt, config, epochs)
    out = []
    for e in range(epochs):
        out.append(schedule.lr)
        opt.step()
        schedule.step(1.0 if losses is None else losses[e])
    return out


def test_cosine_warms_up_linearly_then_decays_to_near_zero():
    got = lrs({"lr_schedule": "cosine", "warmup_epochs": 3}, 10)
    assert got[:4] == pytest.approx([0.025, 0.05, 0.075, 0.1])
    cosine = [0.05 * (1 + math.cos(math.pi * k / 7)) for k in range(1, 7)]
    assert got[4:] == pytest.approx(cosine)
    assert all(a > b for a, b in itertools.pairwise(got[3:]))
    assert got[-1] < 0.006


def test_cosine_without_warm_up_starts_at_the_full_rate():
    got = lrs({"lr_schedule": "cosine"}, 10)
    assert got[0] == pytest.approx(0.1)
    assert got == pytest.approx([0.05 * (1 + math.cos(math.pi * e / 10)) for e in range(10)])


def test_cosine_with_a_warm_up_longer_than_the_run_only_warms_up():
    assert lrs({"lr_schedule": "cosine", "warmup_epochs": 3}, 2) == pytest.approx([0.025, 0.05])


def test_plateau_halves_the_rate_after_patience_epochs_without_improvement():
    # first epoch sets the best; then 2 stalled epochs are tolerated and the 3rd halves the rate
    got = lrs({"lr_schedule": "plateau"}, 9, losses=[1.0] * 9)
    assert got == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025])


def test_plateau_keeps_the_rate_while_the_loss_improves():
    assert lrs({"lr_schedule": "plateau"}, 6, losses=[6, 5, 4, 3, 2, 1]) == [0.1] * 6


def test_no_schedule_keeps_the_rate():
    assert lrs({}, 5) == [0.1] * 5
    assert lrs({"lr_schedule": "none"}, 5) == [0.1] * 5


def test_unknown_schedule():
    opt = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)
    with pytest.raises(
        ValueError, match="unknown lr_schedule 'step'; choose none, cosine or plateau"
    ):
        LRSchedule(opt, {"lr_schedule": "step"}, 5)


# -- DataStreamer ---------------------------------------------------------------------------------


def epochs(streamer: DataStreamer, n: int) -> list[list[list[int]]]:
    return [[y.tolist() for _, y in streamer] for _ in range(n)]


@pytest.mark.parametrize("n, batch", [(10, 4), (64, 8), (97, 32), (3, 10)])
def test_every_index_once_per_epoch(n, batch):
    x = torch.arange(n).float()[:, None]
    s = DataStreamer(x, torch.arange(n), batch_size=batch, seed=0)
    assert len(s) == math.ceil(n / batch)
    for epoch in epochs(s, 3):
        assert len(epoch) == len(s)
        assert [len(b) for b in epoch[:-1]] == [batch] * (len(s) - 1)
        assert sorted(i for b in epoch for i in b) == list(range(n))
    for xb, yb in s:
        assert xb[:, 0].long().tolist() == yb.tolist()  # x and y stay paired


def test_batches_are_reproducible_by_seed_and_reshuffled_each_epoch():
    def make(seed):
        return DataStreamer(torch.zeros(50, 2), torch.arange(50), batch_size=8, seed=seed)

    first = epochs(make(3), 3)
    assert first == epochs(make(3), 3)
    assert first != epochs(make(4), 3)
    assert first[0] != first[1]


def test_no_shuffle_keeps_the_order():
    s = DataStreamer(torch.zeros(5, 1), torch.arange(5), batch_size=2, shuffle=False)
    assert epochs(s, 1) == [[[0, 1], [2, 3], [4]]]


def test_mismatched_lengths():
    with pytest.raises(ValueError, match="tensors differ in length: \\[3, 2\\]"):
        DataStreamer(torch.zeros(3), torch.zeros(2), batch_size=1)


# -- model factories ------------------------------------------------------------------------------


def cnn_config(blocks: int, **extra) -> dict:
    return {
        "conv_blocks": blocks,
        "kernel_size": 3,
        "batch_norm": True,
        "dense_units": 32,
        "activation": "relu",
        "dropout": 0.1,
        **{f"filters_{i}": 8 for i in range(1, blocks + 1)},
        **extra,
    }


@pytest.mark.parametrize("blocks, pools", [(1, 1), (2, 2), (3, 3), (4, 3), (5, 3)])
def test_cnn_pools_stop_at_one_by_one(blocks, pools):
    model = build_model("cnn", cnn_config(blocks, kernel_size=5), DIGITS_SHAPE, DIGITS_CLASSES)
    assert model.pools == pools
    assert model(torch.randn(4, *DIGITS_SHAPE)).shape == (4, DIGITS_CLASSES)


def test_cnn_treats_a_two_dimensional_input_as_one_channel():
    model = build_model("cnn", cnn_config(2), (8, 8), 3)
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 3)


@pytest.mark.parametrize("shape", [(64,), (2, 3, 8, 8)])
def test_cnn_rejects_inputs_that_are_not_images(shape):
    with pytest.raises(
        InfeasibleConfig,
        match=r"the cnn factory needs images shaped C×H×W, but "
        r"the data is \(.*\); use the mlp factory",
    ):
        build_model("cnn", cnn_config(1), shape, 10)


@pytest.mark.parametrize("shape", [(64,), (1, 8, 8), (3, 4, 5), (8, 8)])
def test_mlp_handles_any_input_shape(shape):
    config = {"layers": 2, "units_1": 32, "units_2": 16, "activation": "gelu", "dropout": 0.2}
    model = build_model("mlp", config, shape, 3)
    assert model(torch.randn(2, *shape)).shape == (2, 3)


@pytest.mark.parametrize("factory", ["mlp", "cnn"])
def test_every_sampled_config_builds_and_runs_on_digits(factory):
    space = load_space(factory)
    rng = random.Random(0)
    x = torch.randn(4, *DIGITS_SHAPE)
    for _ in range(50):
        config = space.sample(rng)
        model = build_model(factory, config, DIGITS_SHAPE, DIGITS_CLASSES)
        out = model(x)
        assert out.shape == (4, DIGITS_CLASSES) and torch.isfinite(out).all(), config
        model.eval()
        assert model(x).shape == (4, DIGITS_CLASSES)


def test_unknown_factory():
    from tuner.errors import UserError

    with pytest.raises(
        UserError,
        match=r"\[model\] factory: unknown model factory 'mpl' \(did "
        r"you mean 'mlp'\?\); available: attention, backbone, cnn, conv1d, finetune, forecast, mlp, resnet, rnn, rocket, table, text, transformer, trees",
    ):
        build_model("mpl", {}, (64,), 2)


# -- CPU kernels: the same arithmetic, faster -----------------------------------------------------


def _cnn_and_copy(batch_norm: bool = True):
    from tuner.training.build import fast_layout

    config = {"conv_blocks": 2, "kernel_size": 3, "batch_norm": batch_norm, "dense_units": 32,
              "activation": "gelu", "dropout": 0.0, "filters_1": 16, "filters_2": 8}
    torch.manual_seed(0)
    plain = build_model("cnn", config, DIGITS_SHAPE, DIGITS_CLASSES)
    fast = fast_layout(build_model("cnn", config, DIGITS_SHAPE, DIGITS_CLASSES))
    fast.load_state_dict(plain.state_dict())
    return plain, fast


def test_conv_nets_run_channels_last_and_compute_the_same_outputs():
    plain, fast = _cnn_and_copy()
    convs = [m for m in fast.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(m.weight.is_contiguous(memory_format=torch.channels_last)
                         for m in convs)
    x = torch.randn(64, *DIGITS_SHAPE)
    torch.testing.assert_close(fast.eval()(x), plain.eval()(x), rtol=1e-4, atol=1e-5)


def test_models_without_convolutions_keep_their_layout():
    from tuner.training.build import fast_layout

    mlp = build_model("mlp", {"layers": 2, "units_1": 8, "units_2": 8, "activation": "relu",
                              "dropout": 0.0}, (20,), 3)
    assert fast_layout(mlp) is mlp
    assert all(p.is_contiguous() for p in mlp.parameters())


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_adam_uses_the_fused_update_with_the_same_result(name):
    from tuner.training.loop import make_optimizer

    # no batch norm: a conv bias before it has a zero gradient, which Adam turns into steps
    # of ±lr from rounding noise, in either implementation
    plain, _ = _cnn_and_copy(batch_norm=False)
    fast = copy.deepcopy(plain)  # same layout: this compares the updates only
    config = {"optimizer": name, "lr": 1e-2, "weight_decay": 1e-3}
    opt = make_optimizer(fast, config)
    assert opt.defaults["fused"] is True
    reference = (torch.optim.Adam if name == "adam" else torch.optim.AdamW)(
        plain.parameters(), lr=1e-2, weight_decay=1e-3)
    x, y = torch.randn(32, *DIGITS_SHAPE), torch.randint(0, DIGITS_CLASSES, (32,))
    for model, optimizer in ((plain, reference), (fast, opt)):
        model.train()
        for _ in range(3):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
    for a, b in zip(plain.parameters(), fast.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_adam_falls_back_to_the_plain_update_where_torch_has_no_fused_one(monkeypatch):
    from tuner.training.loop import make_optimizer

    class OldAdam(torch.optim.Adam):  # torch < 2.4 on the CPU
        def __init__(self, params, fused=None, **kw):
            if fused:
                raise RuntimeError("`fused=True` requires all the params to be CUDA tensors")
            super().__init__(params, **kw)

    monkeypatch.setattr(torch.optim, "Adam", OldAdam)
    opt = make_optimizer(nn.Linear(3, 2), {"optimizer": "adam", "lr": 1e-3})
    assert isinstance(opt, OldAdam) and not opt.defaults.get("fused")
