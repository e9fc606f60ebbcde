"""Training priors shared by every model family: optimizer, learning rate and its schedule."""

from tuner.spaces import Choice, IntRange, LogUniform, Uniform, When


def training() -> dict:
    """Optimizer, learning rate (log scale), weight decay, batch size and LR schedule."""
    return {
        "optimizer": Choice(["adam", "adamw", "sgd"]),
        # Adam-family optimizers like 1e-4..1e-2; SGD with momentum wants larger steps, but one
        # shared log-uniform range keeps the space small and TPE finds the right corner quickly.
        "lr": LogUniform(1e-4, 3e-2),
        "momentum": When(Uniform(0.8, 0.99), "optimizer", "sgd"),
        "weight_decay": LogUniform(1e-6, 1e-2),
        "batch_size": Choice([32, 64, 128, 256]),
        "lr_schedule": Choice(["none", "cosine", "plateau"]),
        # warm-up length only matters for the cosine schedule
        "warmup_epochs": When(IntRange(0, 3), "lr_schedule", "cosine"),
    }


def activation() -> Choice:
    return Choice(["relu", "leaky_relu", "elu", "gelu"])


def dropout(high: float = 0.5) -> Uniform:
    return Uniform(0.0, high)


def downsample() -> Choice:
    """Average every k steps before a sequence model reads them: 1 keeps every step.

    Long, smooth series (hundreds of accelerometer samples per gesture) train faster and often
    generalize better at a quarter or an eighth of their rate; short ones (a few dozen frames)
    should fix this at 1 in their experiment.
    """
    return Choice([1, 2, 4, 8])
