"""The training run a config makes, the same for a tuning trial and final training: batches,
the model (wrapped by its family for training), optimizer, LR schedule and loss."""

from __future__ import annotations

from dataclasses import dataclass

from tuner.data.splits import Splits


@dataclass
class TrainingParts:
    """What one training run is made of; the same for a tuning trial and final training.

    A model with a fixed front (`tuner.models.layers.FixedFront`, e.g. ROCKET's random
    kernels) trains only its head (`model.learned`): the front's features are computed once,
    here, not every epoch. A model, or a fixed front, that fits something to its training rows
    first (`tuner.models.layers.FitsTrainingRows`: a bag of n-grams' IDF weights, MiniRocket's
    biases) is given them here.
    """

    batches: object  # DataStreamer
    model: object  # torch.nn.Module
    optimizer: object
    schedule: object  # LRSchedule
    loss_fn: object
    fit: object = None  # the module trained: the model, or the part after its fixed front

    @property
    def front(self):
        return None if self.fit is self.model else self.model.fixed

    def inputs(self, x, lengths) -> tuple:
        """(x, lengths) as `fit` reads them: the fixed front's features when there is one."""
        if self.front is None:
            return x, lengths
        return front_features(self.front, x, lengths), None

    def predict(self, x, lengths=None):
        from tuner.training.loop import predict

        return predict(self.fit, *self.inputs(x, lengths))


def front_features(front, x, lengths, batch_size: int = 256):
    """The fixed front's output for every example, in batches, without gradients."""
    from tuner.training.loop import predict

    return predict(front, x, lengths, batch_size=batch_size)


def build_training(factory: str, config: dict, data: Splits, tensors: tuple, *, epochs: int,
                   seed: int, device, featurized: bool = False) -> TrainingParts:
    """Batches of `tensors` (x, y, lengths), model on `device`, optimizer, LR schedule, loss.
    `featurized`: x already holds the model's fixed-front features (shared across folds)."""
    from tuner.data.streamer import DataStreamer
    from tuner.models import build_model, wrap_for_training
    from tuner.models.images import with_input_layer
    from tuner.models.layers import FitsTrainingRows, FixedFront
    from tuner.training.loop import LRSchedule, make_optimizer
    from tuner.training.tasks import loss_function

    model = build_model(factory, config, data.input_shape, data.n_outputs)
    model = wrap_for_training(factory, model, config, data.task)
    model = with_input_layer(model, data.input_shape, data.pixels, config)
    model = fast_layout(model).to(device)
    fixed = model.fixed if isinstance(model, FixedFront) else None
    fit = model if fixed is None else model.learned
    x, y, lengths = tensors
    if fixed is not None:
        if not featurized:
            if isinstance(fixed, FitsTrainingRows):  # MiniRocket's biases: these rows only
                fixed.fit_rows(x, lengths)
            x, lengths = front_features(fixed, x, lengths), None
        model.prepare_head(x, y)
    if isinstance(model, FitsTrainingRows):
        model.fit_rows(x, lengths)
    batches = DataStreamer(x, y, lengths, batch_size=config["batch_size"], seed=seed)
    optimizer = make_optimizer(fit, config)
    return TrainingParts(batches, model, optimizer, LRSchedule(optimizer, config, epochs),
                         loss_function(data.task), fit)


def fast_layout(model):
    """The model with its 2-D convolutions' weights in channels-last memory order.

    Same model, same arithmetic, another memory layout: the CPU's convolution and pooling
    kernels run 20-30 % faster on it for the small images tuned here (and GPUs prefer it too).
    """
    import torch
    from torch import nn

    if any(isinstance(m, nn.Conv2d) for m in model.modules()):
        model = model.to(memory_format=torch.channels_last)
    return model
