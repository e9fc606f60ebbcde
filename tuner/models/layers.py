"""Small building blocks shared by the factories, including the padded-sequence helpers.

Sequences arrive batch-first, (B, T, C), padded after each sequence's true length; `lengths`
(B,) gives those lengths, or is None when every sequence fills all T steps.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "elu": nn.ELU,
    "gelu": nn.GELU,
}


def activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def per_layer(config: dict, name: str, count: int) -> list:
    """[config['units_1'], ..., config['units_<count>']]."""
    return [config[f"{name}_{i}"] for i in range(1, count + 1)]


def choose(config: dict, key: str, options: tuple) -> str:
    """config[key], checked against the options a factory understands."""
    value = config[key]
    if value not in options:
        raise ValueError(f"{key} must be one of {list(options)}, but got {value!r}")
    return value


def sequence_shape(factory: str, input_shape: tuple) -> tuple[int, int]:
    """(T, C) of sequence data, or InfeasibleConfig naming the factory and the data's shape."""
    from tuner.models import InfeasibleConfig

    if len(input_shape) != 2:
        raise InfeasibleConfig(
            f"the {factory} factory needs sequences shaped T×C (time steps × channels), but "
            f"the data is {tuple(input_shape)}; use the mlp factory for flat features or cnn "
            f"for images"
        )
    steps, channels = (int(n) for n in input_shape)
    return steps, channels


def true_lengths(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """(B,) int64 lengths on x's device; None means every sequence is full length."""
    steps = x.shape[1]
    if lengths is None:
        return torch.full((x.shape[0],), steps, dtype=torch.long, device=x.device)
    # An empty sequence would break packing and pooling: read it as one (zero) step.
    return lengths.to(device=x.device, dtype=torch.long).clamp(1, steps)


def step_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """(B, T) bool, True on each sequence's valid steps (those before its length)."""
    return torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]


def zero_padding(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    # masked_fill, not a multiply: garbage (even NaN) in the padding must not leak as 0 × NaN
    return x.masked_fill(~mask[..., None], 0.0)


def masked_pool(h: torch.Tensor, mask: torch.Tensor, how: str) -> torch.Tensor:
    """Pool (B, T, F) over valid steps only: 'mean' / 'avg' or 'max'; returns (B, F)."""
    valid = mask[..., None]
    if how == "max":
        return h.masked_fill(~valid, float("-inf")).amax(dim=1)
    if how in ("mean", "avg"):
        total = h.masked_fill(~valid, 0.0).sum(dim=1)
        return total / valid.sum(dim=1).clamp(min=1).to(h.dtype)
    raise ValueError(f"unknown pooling {how!r}; choose mean, avg or max")


def factor_of(config: dict) -> int:
    """The config's `downsample` factor (1 = every step), checked."""
    factor = int(config.get("downsample", 1))
    if factor < 1:
        raise ValueError(f"downsample must be an integer ≥ 1, but got {config['downsample']!r}")
    return factor


def downsample(
    x: torch.Tensor, lengths: torch.Tensor | None, factor: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Average every `factor` consecutive steps: (B, T, C) → (B, ceil(T / factor), C).

    Each window averages its valid steps only (the last window of a sequence may be partial),
    so padding never dilutes a value; lengths become ceil(length / factor). Long, smooth
    signals (accelerometers, audio envelopes) lose little and recurrent nets and attention
    read them `factor` times faster, with gradients over `factor` times fewer steps.
    """
    if factor <= 1:
        return x, lengths
    b, t, c = x.shape
    full = true_lengths(x, lengths)
    mask = step_mask(full, t)
    pad = (-t) % factor
    total = nn.functional.pad(zero_padding(x, mask), (0, 0, 0, pad))
    count = nn.functional.pad(mask.to(x.dtype), (0, pad))
    total = total.reshape(b, -1, factor, c).sum(dim=2)
    count = count.reshape(b, -1, factor).sum(dim=2).clamp(min=1)
    if lengths is not None:
        lengths = torch.div(full + factor - 1, factor, rounding_mode="floor")
    return total / count[..., None], lengths


def run_recurrent(rnn: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """All steps' outputs (B, T, H × directions) of a batch-first RNN, zeros after each length.

    With lengths, the batch is packed so that each direction reads exactly the valid steps: the
    backward direction starts at a sequence's own last step, not at the padding.
    """
    if lengths is None:
        return rnn(x)[0]
    # pack_padded_sequence wants the lengths on the CPU, whatever device the batch is on
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, _ = rnn(packed)
    return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]


def pool_recurrent(out: torch.Tensor, lengths: torch.Tensor, rnn: nn.RNNBase,
                   pooling: str) -> torch.Tensor:
    """A recurrent net's outputs (B, T, H × directions) pooled over each sequence's valid
    steps: "last" (the forward state after its own last step, and the backward state at step
    0, which read the sequence from its last valid step back), or masked "mean" / "max"."""
    if pooling != "last":
        return masked_pool(out, step_mask(lengths, out.shape[1]), pooling)
    hidden = rnn.hidden_size
    pooled = out[torch.arange(len(out), device=out.device), lengths - 1, :hidden]
    if rnn.bidirectional:
        pooled = torch.cat([pooled, out[:, 0, hidden:]], dim=1)
    return pooled


class LastValueAnchor(nn.Module):
    """A forecaster of the change from each window's last value: the wrapped model reads the
    window minus that value and its outputs are added to it (channel 0 is the series).

    At initialization a model that outputs ~0 forecasts "no change", the naive forecast, so
    training starts at MASE ~1 and a trend does not push inputs outside the training range.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        last = x[:, -1:, :]
        out = self.model(x - last) if lengths is None else self.model(x - last, lengths)
        return out + last[:, 0, :1]


class FixedFront(nn.Module):
    """A model whose front is fixed (nothing in it trains: ROCKET's random kernels, a
    forecaster's flattened window) followed by a learned head.

    The contract training relies on: `fixed` maps (x, lengths) to features and is never
    trained, so its features are computed once per run instead of every epoch; `learned`
    reads those features and has `prepare(features, targets)`, which fits what it takes from
    the training rows alone (their standardization; a closed-form head, its weights).
    """

    fixed: nn.Module
    learned: nn.Module

    def prepare_head(self, features: torch.Tensor, targets: torch.Tensor) -> None:
        self.learned.prepare(features, targets)


class FitsTrainingRows:
    """A model that takes something from its training rows before the first step, without
    gradients (a bag of n-grams' inverse document frequencies).

    The contract training relies on: `fit_rows(x, lengths)` is called with exactly the rows the
    model trains on (each fold's own, train + valid in final training) before any step, and
    what it fits is kept in the model's buffers, so the saved state_dict carries it to
    prediction.
    """

    def fit_rows(self, x: torch.Tensor, lengths: torch.Tensor | None) -> None:
        raise NotImplementedError


class TrainsByRounds:
    """A model trained by its own procedure instead of gradient descent (boosted trees).

    The contract training relies on: each epoch calls `boost(x, y)` once, with all the rows
    the model trains on (the same rows every epoch), and the model adds that epoch's rounds;
    it has no parameters for an optimizer, and what it learnt is kept in its state_dict.
    """

    def boost(self, x: torch.Tensor, y: torch.Tensor) -> None:
        raise NotImplementedError


def fit_to_rows(model: nn.Module, x: torch.Tensor, lengths: torch.Tensor | None = None) -> None:
    """Fit what `model` takes from its training rows before any step, as training does: its
    own `fit_rows`, or its fixed front's (MiniRocket's biases). For a model built by hand."""
    front = model.fixed if isinstance(model, FixedFront) else None
    for part in (front, model):
        if isinstance(part, FitsTrainingRows):
            part.fit_rows(x, lengths)


def anchor_last(model: nn.Module, config: dict, task: str) -> nn.Module:
    """A forecaster trained on the change from the window's last value when its config says
    `anchor = "last"`. Only models gradient descent trains are anchored: one fitted otherwise
    is fitted to the targets as they are (a closed-form linear forecaster holds the anchored
    one exactly; exponential smoothing and ARIMA model the levels themselves)."""
    if task == "forecasting" and config.get("anchor", "none") == "last" and \
            any(p.requires_grad for p in model.parameters()):
        return LastValueAnchor(model)
    return model
