"""Sequence model factories: every sampled config runs, padding never leaks, causal is causal.

.venv/bin/python -m pytest tests/models -q
"""

from __future__ import annotations

import itertools
import random

import pytest
import torch

from tuner.models import FACTORIES, INPUTS, InfeasibleConfig, build_model
from tuner.models.layers import fit_to_rows
from tuner.models.statistical import KINDS as STATISTICAL
from tuner.spaces import load_space

SEQUENCE = [f for f in FACTORIES if "sequence" in INPUTS[f]]
VARIABLE = [f for f in FACTORIES if "variable_length" in INPUTS[f]]
FIXED_SHAPES = [(4, 30, 3), (4, 12, 1)]
VAR_SHAPE, VAR_LENGTHS = (4, 40, 2), [40, 17, 5, 1]

# the choices each factory pools or reads padding with; every combination is checked for leaks
VARIANTS = {
    "rnn": {
        "pooling": ["last", "mean", "max"],
        "bidirectional": [False, True],
        "cell": ["gru", "lstm", "rnn"],
        "downsample": [1, 3],
    },
    "conv1d": {"global_pool": ["avg", "max"], "causal": [False, True], "batch_norm": [True]},
    "rocket": {"transform": ["minirocket", "multirocket", "hydra", "multirocket_hydra", "rocket"],
               "kernels": [100], "head": ["linear", "ridge"]},
    "attention": {
        "pooling": ["mean", "max"],
        "bidirectional": [False, True],
        "downsample": [1, 3],
        "conv_blocks": [0, 1],
    },
    "transformer": {
        "pooling": ["mean", "cls"],
        "positional": ["sinusoidal", "learned"],
        "downsample": [1, 3],
    },
}


def with_variant(config: dict, variant: dict) -> dict:
    """The sampled config with the variant's choices and what they switch on."""
    config = {**config, **variant}
    for i in range(1, int(config.get("conv_blocks", 0)) + 1):
        config.setdefault(f"conv_filters_{i}", 8)
        config.setdefault(f"conv_kernel_{i}", 3)
    return config


def variants(factory: str) -> list[dict]:
    keys = sorted(VARIANTS[factory])
    return [
        dict(zip(keys, v, strict=True))
        for v in itertools.product(*(VARIANTS[factory][k] for k in keys))
    ]


def padded(shape: tuple, lengths: list[int], *, seed: int, fill: str = "zeros") -> torch.Tensor:
    """A batch whose steps after each length hold zeros, random garbage or NaN."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g)
    for i, n in enumerate(lengths):
        if fill == "zeros":
            x[i, n:] = 0.0
        elif fill == "garbage":
            x[i, n:] = 50 * torch.randn(shape[1] - n, shape[2], generator=g)
        else:
            x[i, n:] = float("nan")
    return x


def series_windows(shape: tuple) -> torch.Tensor:
    """(B, T, C) consecutive windows of random walks, as a forecast's training windows are
    (the statistical forecasters rebuild the series from them)."""
    b, t, c = shape
    walk = torch.randn(b + t - 1, c).cumsum(0)
    return torch.stack([walk[i:i + t] for i in range(b)])


def test_every_factory_declares_its_inputs_and_has_a_space():
    import tuner.models

    assert set(INPUTS) == set(FACTORIES)
    assert set(VARIANTS) == set(VARIABLE)
    assert all(hasattr(tuner.models, name) for name in tuner.models.__all__)
    for name in FACTORIES:
        assert load_space(name).priors, name


def test_module_docstring_examples_run():
    import doctest

    import tuner.models

    result = doctest.testmod(tuner.models)
    assert result.failed == 0 and result.attempted > 0


# -- contract: every sampled config builds, runs and backpropagates ------------------------------


def check_runs(model, x, lengths, n_outputs, config):
    fit_to_rows(model, x, lengths)
    model.train()
    out = model(x) if lengths is None else model(x, lengths)
    assert out.shape == (len(x), n_outputs), config
    assert torch.isfinite(out).all(), config
    if not any(p.requires_grad for p in model.parameters()):
        # solved in closed form or by maximum likelihood, not trained: ROCKET's ridge head,
        # the linear and the statistical forecasters
        assert config.get("head") == "ridge" or \
            config.get("family") in ("linear", *STATISTICAL), config
        return
    model.zero_grad()
    out.square().mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads), config
    assert all(torch.isfinite(g).all() for g in grads if g is not None), config


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("factory", SEQUENCE)
def test_sampled_configs_build_run_and_backpropagate(factory, seed):
    config = load_space(factory).sample(random.Random(seed))
    torch.manual_seed(seed)
    for n_outputs in (1, 9):
        for shape in FIXED_SHAPES:
            if factory == "forecast" and config["family"] in STATISTICAL and shape[2] > 1:
                with pytest.raises(InfeasibleConfig, match="reads one series"):
                    build_model(factory, config, shape[1:], n_outputs)
                continue
            model = build_model(factory, config, shape[1:], n_outputs)
            check_runs(model, series_windows(shape) if factory == "forecast"
                       else torch.randn(*shape), None, n_outputs, config)
        if factory in VARIABLE:
            model = build_model(factory, config, VAR_SHAPE[1:], n_outputs)
            x = padded(VAR_SHAPE, VAR_LENGTHS, seed=seed)
            check_runs(model, x, torch.tensor(VAR_LENGTHS), n_outputs, config)


@pytest.mark.parametrize("factory", VARIABLE)
def test_lengths_of_any_integer_type_are_accepted(factory):
    config = load_space(factory).sample(random.Random(0))
    model = build_model(factory, config, VAR_SHAPE[1:], 3).eval()
    x = padded(VAR_SHAPE, VAR_LENGTHS, seed=0)
    fit_to_rows(model, x, torch.tensor(VAR_LENGTHS))
    want = model(x, torch.tensor(VAR_LENGTHS))
    got = model(x, torch.tensor(VAR_LENGTHS, dtype=torch.int32))
    torch.testing.assert_close(got, want)


@pytest.mark.parametrize("factory", VARIABLE)
def test_a_sequence_factory_rejects_flat_or_image_data(factory):
    from tuner.models import InfeasibleConfig

    config = load_space(factory).sample(random.Random(0))
    with pytest.raises(InfeasibleConfig) as e:
        build_model(factory, config, (64,), 3)
    assert str(e.value) == (
        f"the {factory} factory needs sequences shaped T×C (time steps × channels), but the data "
        f"is (64,); use the mlp factory for flat features or cnn for images"
    )


# -- padding never leaks --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(
    "factory, variant",
    [(f, v) for f in VARIABLE for v in variants(f)],
    ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else v,
)
def test_padding_never_leaks(factory, variant, seed):
    config = with_variant(load_space(factory).sample(random.Random(seed)), variant)
    torch.manual_seed(seed)
    model = build_model(factory, config, VAR_SHAPE[1:], 5).eval()
    lengths = torch.tensor(VAR_LENGTHS)
    clean = padded(VAR_SHAPE, VAR_LENGTHS, seed=seed)
    fit_to_rows(model, clean, lengths)
    with torch.no_grad():
        want = model(clean, lengths)
        for fill in ("garbage", "nan"):
            got = model(padded(VAR_SHAPE, VAR_LENGTHS, seed=seed, fill=fill), lengths)
            torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4, msg=f"{fill}: {config}")
        for i, n in enumerate(VAR_LENGTHS):
            alone = model(clean[i : i + 1, :n], torch.tensor([n]))
            torch.testing.assert_close(
                alone[0], want[i], atol=1e-5, rtol=1e-4, msg=f"sequence {i} alone: {config}"
            )
        # no lengths means every sequence is full length
        full = torch.full((VAR_SHAPE[0],), VAR_SHAPE[1])
        torch.testing.assert_close(model(clean), model(clean, full), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    "factory, variant",
    [(f, v) for f in VARIABLE for v in variants(f)],
    ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else v,
)
def test_padding_never_leaks_in_training_either(factory, variant):
    """With dropout off, training mode too: neither garbage in the padding nor more of it
    changes the outputs (batch norm takes its statistics from valid steps only)."""
    config = with_variant(load_space(factory).sample(random.Random(1)), {**variant, "dropout": 0.0})
    torch.manual_seed(1)
    longer = (VAR_SHAPE[0], 60, VAR_SHAPE[2])
    model = build_model(factory, config, longer[1:], 5).train()
    lengths = torch.tensor(VAR_LENGTHS)
    fit_to_rows(model, padded(VAR_SHAPE, VAR_LENGTHS, seed=1), lengths)
    want = model(padded(VAR_SHAPE, VAR_LENGTHS, seed=1), lengths)
    x = torch.cat([padded(VAR_SHAPE, VAR_LENGTHS, seed=1), torch.zeros(4, 20, 2)], dim=1)
    x = torch.where(torch.arange(60)[None, :, None] < lengths[:, None, None], x, 1e3)
    torch.testing.assert_close(model(x, lengths), want, atol=1e-5, rtol=1e-4, msg=str(config))


def test_downsample_averages_valid_steps_only_and_shortens_lengths():
    from tuner.models.layers import downsample

    x = torch.tensor([[1.0, 2, 3, 4, 5, 99, 99], [1, 1, 2, 2, 3, 3, 4]])[..., None]
    out, lengths = downsample(x, torch.tensor([5, 7]), 2)
    # windows (1,2) (3,4) (5) and padding; the padding's 99s never enter a mean
    assert out[0, :3, 0].tolist() == [1.5, 3.5, 5.0]
    assert out[1, :, 0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert lengths.tolist() == [3, 4]
    # full-length batches stay without lengths; a factor of 1 changes nothing
    assert downsample(x, None, 2)[1] is None
    assert downsample(x, None, 1)[0] is x


def test_downsample_factor_must_be_positive():
    config = {**load_space("rnn").sample(random.Random(0)), "downsample": 0}
    with pytest.raises(ValueError, match="downsample must be an integer ≥ 1, but got 0"):
        build_model("rnn", config, (10, 2), 3)


def test_learned_positions_cover_the_downsampled_length():
    config = {**load_space("transformer").sample(random.Random(0)), "positional": "learned",
              "downsample": 4}
    model = build_model("transformer", config, (30, 2), 3)
    assert model.positions.table.shape[0] == 8  # ceil(30 / 4)
    assert model(torch.randn(2, 30, 2)).shape == (2, 3)


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
@pytest.mark.parametrize("layers", [1, 2])
def test_bidirectional_last_pools_each_direction_final_state(cell, layers):
    """Forward: its state after the true last step; backward: its state after reading to step 0."""
    config = {
        "cell": cell,
        "hidden_size": 8,
        "layers": layers,
        "dropout": 0.0,
        "bidirectional": True,
        "pooling": "last",
    }
    model = build_model("rnn", config, VAR_SHAPE[1:], 3).eval()
    pooled = []
    model.head.register_forward_pre_hook(lambda _, args: pooled.append(args[0]))
    x, lengths = padded(VAR_SHAPE, VAR_LENGTHS, seed=0), torch.tensor(VAR_LENGTHS)
    with torch.no_grad():
        model(x, lengths)
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            x, lengths, batch_first=True, enforce_sorted=False
        )
        h_n = model.rnn(packed)[1]
        h_n = h_n[0] if cell == "lstm" else h_n  # (h, c) for an LSTM
    torch.testing.assert_close(pooled[0], torch.cat([h_n[-2], h_n[-1]], dim=1))


# -- conv1d ---------------------------------------------------------------------------------------


def conv1d_config(**extra) -> dict:
    return {
        "conv_blocks": 3,
        "filters_1": 8,
        "filters_2": 16,
        "filters_3": 8,
        "kernel_size": 5,
        "dilation_growth": 2,
        "causal": True,
        "batch_norm": True,
        "activation": "relu",
        "dropout": 0.0,
        "global_pool": "avg",
        "dense_units": 16,
        **extra,
    }


def test_conv1d_dilation_grows_geometrically():
    model = build_model("conv1d", conv1d_config(dilation_growth=4), (30, 3), 2)
    assert [b.conv.dilation[0] for b in model.blocks] == [1, 4, 16]


@pytest.mark.parametrize("growth", [1, 2, 4])
@pytest.mark.parametrize("kernel", [3, 5, 7])
def test_causal_conv1d_features_at_a_step_ignore_later_steps(kernel, growth):
    torch.manual_seed(0)
    model = build_model(
        "conv1d", conv1d_config(kernel_size=kernel, dilation_growth=growth), (30, 3), 2
    ).eval()
    x = torch.randn(2, 30, 3)
    with torch.no_grad():
        before = model.features(x)
        for t in (0, 7, 28):
            changed = x.clone()
            changed[:, t + 1 :] = torch.randn(2, 29 - t, 3)
            after = model.features(changed)
            torch.testing.assert_close(after[:, : t + 1], before[:, : t + 1])
            assert not torch.allclose(after[:, t + 1 :], before[:, t + 1 :])


def test_non_causal_conv1d_sees_later_steps():
    """The causal test above has the power to fail: 'same' padding looks ahead."""
    torch.manual_seed(0)
    model = build_model("conv1d", conv1d_config(causal=False), (30, 3), 2).eval()
    x = torch.randn(2, 30, 3)
    changed = x.clone()
    changed[:, 8:] += 1.0
    with torch.no_grad():
        assert not torch.allclose(model.features(x)[:, :8], model.features(changed)[:, :8])


# -- transformer ----------------------------------------------------------------------------------


def test_transformer_width_always_divides_by_the_heads():
    space = load_space("transformer")
    rng = random.Random(0)
    for _ in range(200):
        config = space.sample(rng)
        model = build_model("transformer", config, (12, 2), 3)
        assert model.d_model == config["heads"] * config["head_dim"], config
        assert model.d_model % config["heads"] == 0, config


def transformer_config(**extra) -> dict:
    return {
        "heads": 2,
        "head_dim": 8,
        "blocks": 2,
        "ff_mult": 2,
        "dropout": 0.1,
        "positional": "learned",
        "pooling": "mean",
        **extra,
    }


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_learned_positions_cover_the_data_length(pooling):
    model = build_model("transformer", transformer_config(pooling=pooling), (360, 1), 2).eval()
    assert model.positions.table.shape == (360, 16)
    x = torch.randn(2, 360, 1)
    assert model(x).shape == (2, 2)
    assert model(x, torch.tensor([360, 29])).shape == (2, 2)
    assert model(x[:, :29]).shape == (2, 2)
    with pytest.raises(ValueError) as e:
        model(torch.randn(2, 361, 1))
    assert str(e.value) == (
        "learned positions cover 360 steps (the data's length when the model was built), but got "
        "a batch of 361 steps"
    )


def test_sinusoidal_positions_extend_to_longer_batches():
    model = build_model("transformer", transformer_config(positional="sinusoidal"), (12, 1), 2)
    assert model.eval()(torch.randn(2, 50, 1)).shape == (2, 2)
    assert "positions.table" not in model.state_dict()  # a function of the shape, not a weight


# -- CUDA (skipped without a GPU) -----------------------------------------------------------------


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("lengths_on", ["cpu", "cuda"])
@pytest.mark.parametrize(
    "factory, variant",
    [(f, v) for f in VARIABLE for v in variants(f)],
    ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else v,
)
def test_on_cuda_lengths_may_live_on_either_device(factory, variant, lengths_on, monkeypatch):
    # TF32 convolutions and RNNs would differ from the CPU by more than rounding
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    config = {**load_space(factory).sample(random.Random(0)), **variant}
    torch.manual_seed(0)
    model = build_model(factory, config, VAR_SHAPE[1:], 5).eval()
    x, lengths = padded(VAR_SHAPE, VAR_LENGTHS, seed=0), torch.tensor(VAR_LENGTHS)
    with torch.no_grad():
        want = model(x, lengths)
    model.cuda()
    clean = x.cuda()
    garbage = padded(VAR_SHAPE, VAR_LENGTHS, seed=0, fill="garbage").cuda()
    with torch.no_grad():
        got = model(garbage, lengths.to(lengths_on))
        torch.testing.assert_close(got, model(clean, lengths.to(lengths_on)), atol=1e-5, rtol=1e-4)
    # loose: torch's fused inference path for encoder layers rounds differently on CUDA (~1e-4,
    # on full-length rows as much as on padded ones)
    torch.testing.assert_close(got.cpu(), want, atol=5e-4, rtol=1e-3, msg=str(config))
    model.train()
    out = model(garbage, lengths.to(lengths_on))
    out.square().mean().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
