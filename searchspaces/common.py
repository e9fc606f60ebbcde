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


def augmentation() -> dict:
    """Augmentation of training batches, each a prior so the search learns whether it helps:
    a random crop after padding (a shift) or a random resized crop (a zoom), a horizontal
    flip (a flipped digit is another digit: the search decides), small rotations, and colour
    jitter (fixed off for grey images). Validation and test images are never augmented."""
    return {
        "aug_crop": Choice(["none", "pad", "resized"]),
        "aug_flip": Choice([False, True]),
        "aug_rotate": Choice([0, 10]),
        "aug_jitter": Choice([0.0, 0.2]),
    }


def downsample() -> Choice:
    """Average every k steps before a sequence model reads them: 1 keeps every step.

    Long, smooth series (hundreds of accelerometer samples per gesture) train faster and often
    generalize better at a quarter or an eighth of their rate; short ones (a few dozen frames)
    should fix this at 1 in their experiment.
    """
    return Choice([1, 2, 4, 8])


# -- sized to the data ---------------------------------------------------------------------
# Every space's shared priors, fitted to the data's measurable properties (tuner.auto.Profile)
# when the experiment leaves them out. A space module may define its own `derive` too.

MIN_UPDATES = 4  # optimizer steps per epoch the largest batch size must leave
MIN_STEPS = 16  # time steps a downsampled series must keep
# a forecast reads its window relative to the last value when a straight line explains more of
# the training part's variance than this (a trend: later levels leave the range trained on)
TREND_SHARE = 0.5


def derive(profile, space, where: str) -> list:
    """(key, value, reason) for the shared priors this data calls for: batch sizes that leave
    enough optimizer steps, a forecast's anchor from its trend, downsampling factors that keep
    enough steps."""
    found = []
    batch = space.priors.get("batch_size")
    if batch is not None and batch.discrete and not _fixed(space, "batch_size"):
        fitted = batch_sizes(profile.n_fit, [int(v) for v in batch.values()])
        if fitted:
            found.append(("batch_size", {"choice": fitted[0]}, fitted[1]))
    if profile.forecasting_window and _fixed(space, "anchor"):
        found.append(_anchor(profile))
    if profile.kind == "image":
        found += _augmentation(profile, space)
    downsample = space.priors.get("downsample")
    if downsample is not None and profile.steps and downsample.discrete:
        fits = [f for f in (1, 2, 4, 8, 16, 32, 64) if profile.steps / f >= MIN_STEPS][-4:] or [1]
        if fits != [int(v) for v in downsample.values()]:
            why = (f"series of up to {profile.steps} steps: every factor leaves at least "
                   f"{MIN_STEPS} steps to read, and the coarser ones spare recurrent and "
                   f"attention layers hundreds of steps") if len(fits) > 1 else (
                f"series of up to {profile.steps} steps are too short to average: every step "
                f"is read")
            found.append(("downsample", {"choice": fits} if len(fits) > 1 else fits[0], why))
    return found


MIN_AUGMENT_SIDE = 16  # smaller images lose what they show to a shift, zoom or turn


def _augmentation(profile, space) -> list:
    """Augmentation priors this data cannot use, fixed off: tiny images, colour on grey."""
    keys = [k for k in ("aug_crop", "aug_flip", "aug_rotate", "aug_jitter")
            if k in space.priors and not _fixed(space, k)]
    side = min(profile.height, profile.width)
    if side < MIN_AUGMENT_SIDE:
        why = (f"{profile.height}×{profile.width} images: too small to shift, zoom, flip or "
               f"turn without losing what they show")
        return [(k, _OFF[k], why) for k in keys]
    if "aug_jitter" in keys and profile.channels != 3:
        return [("aug_jitter", 0.0, "grey images: no colour to jitter")]
    return []


_OFF = {"aug_crop": "none", "aug_flip": False, "aug_rotate": 0, "aug_jitter": 0.0}


def _fixed(space, key: str) -> bool:
    from tuner.spaces import Fixed

    return isinstance(space.priors.get(key), Fixed)


def _anchor(profile) -> tuple:
    share = (f"a straight line in time explains {profile.trend_share:.0%} of the training "
             f"part's variance")
    if profile.trend_share > TREND_SHARE:
        return ("anchor", "last", f"{share}, a trend: later levels leave the range trained on, "
                                  f"so the net reads the window relative to its last value and "
                                  f"forecasts the change (it starts at the naive forecast)")
    return ("anchor", "none", f"{share}: no dominant trend, so the net reads levels "
                              f"(forecasting the change from the last value would forget "
                              f"where a cycle stands)")


def _powers_of_two(lo: int, hi: int) -> list[int]:
    out, b = [], 1
    while b <= hi:
        if b >= lo:
            out.append(b)
        b *= 2
    return out


def largest_batch(n_fit: int) -> int:
    """The largest power of two (at least 2) that leaves ≥ MIN_UPDATES optimizer steps per
    epoch on `n_fit` examples."""
    return max(2, 1 << max(0, (n_fit // MIN_UPDATES).bit_length() - 1))


def batch_sizes(n_fit: int, current: list[int]) -> tuple[list[int], str] | None:
    """Batch sizes that leave ≥ MIN_UPDATES optimizer steps per epoch on `n_fit` examples,
    or None when the space's own choices already do."""
    top = largest_batch(n_fit)
    if max(current) <= top:
        return None
    keep = [b for b in current if b <= top]
    choices = keep if len(keep) >= 3 else _powers_of_two(max(2, top // 8), top)
    return choices, (f"{n_fit} training examples per model: batches up to {top} leave at least "
                     f"{MIN_UPDATES} optimizer steps per epoch")
