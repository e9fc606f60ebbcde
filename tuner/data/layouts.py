"""Image arrays in their own layout: (N, H, W) grey, (N, H, W, C) as most libraries save
colour, (N, C, H, W) as torch stores it; which one an array is, and its pixels' statistics."""

from __future__ import annotations

import numpy as np

from tuner.errors import UserError, did_you_mean

LAYOUTS = ("NHW", "NHWC", "NCHW", "NTC")
MIN_SIDE = 8  # square frames from this side on are read as grey images


def layout_of(x: np.ndarray, lengths, layout: str | None, at: str) -> tuple[str, str]:
    """(layout, the rule that decided) of an X array: "NTC" for sequences, else an image
    layout. A named `layout` wins, checked against the array's shape."""
    shape = "×".join(map(str, x.shape[1:]))
    if layout is not None:
        return _checked_layout(x, lengths, layout, at), f"[data] layout = {layout!r}"
    if x.ndim == 3:
        if lengths is not None:
            return "NTC", "padded sequences (lengths given)"
        if x.dtype == np.uint8:
            return "NHW", f"{shape} of 8-bit pixels: grey images"
        if x.shape[1] == x.shape[2] >= MIN_SIDE:
            return "NHW", f"{shape}, square: grey images"
        return "NTC", f"{shape}: series of {x.shape[1]} steps × {x.shape[2]} channels"
    if x.ndim == 4:
        if x.shape[3] <= 4 < x.shape[1]:
            return "NHWC", f"{shape}: the last axis ({x.shape[3]}) holds the colour channels"
        return "NCHW", f"{shape}: channels first, as torch stores images"
    return "", ""


def _checked_layout(x, lengths, layout: str, at: str) -> str:
    if layout not in LAYOUTS:
        raise UserError(f"{at}: layout {layout!r} is not one of {', '.join(LAYOUTS)}"
                        f"{did_you_mean(layout, LAYOUTS)}")
    dims = len(layout)
    axes = {"NHW": "(N, H, W)", "NHWC": "(N, H, W, C)", "NCHW": "(N, C, H, W)",
            "NTC": "(N, T, C)"}[layout]
    if x.ndim != dims:
        raise UserError(f"{at}: layout {layout!r} needs X shaped {axes}, but X has shape "
                        f"{x.shape}; drop layout or name the one that fits")
    channels = {"NHWC": x.shape[-1], "NCHW": x.shape[1] if x.ndim == 4 else 0}.get(layout, 0)
    if channels > 4:
        raise UserError(f"{at}: layout {layout!r} reads {channels} colour channels from X of "
                        f"shape {x.shape}; images have 1-4 channels, so X is likely "
                        f"{'NCHW' if layout == 'NHWC' else 'NHWC'}")
    if lengths is not None and layout != "NTC":
        raise UserError(f"{at}: layout {layout!r} reads images, but the file has lengths, "
                        f"which only padded sequences have; drop lengths or the layout")
    return layout


def to_nchw(x: np.ndarray, layout: str) -> np.ndarray:
    """Images in torch's (N, C, H, W) order; 8-bit pixels stay 8-bit, whole numbers in
    0..255 become 8-bit, anything else float32."""
    if layout == "NHW":
        x = x[:, None]
    elif layout == "NHWC":
        x = np.moveaxis(x, 3, 1)
    if x.dtype != np.uint8:
        if x.dtype.kind in "iub" and x.size and x.min() >= 0 and x.max() <= 255:
            x = x.astype(np.uint8)
        else:
            x = x.astype(np.float32)
    return np.ascontiguousarray(x)


def pixel_stats(x_train: np.ndarray) -> tuple[float, tuple, tuple]:
    """(scale, per-channel mean, per-channel std) of training images after scaling: 8-bit
    pixels scale to [0, 1] (1/255), other values are kept (scale 1)."""
    scale = 1 / 255 if x_train.dtype == np.uint8 else 1.0
    c = x_train.shape[1]
    mean, sq = np.zeros(c), np.zeros(c)
    step = max(1, len(x_train) // 20)  # a pass in chunks: never a float copy of the whole set
    for i in range(0, len(x_train), step):
        part = x_train[i:i + step].astype(np.float64) * scale
        mean += part.sum(axis=(0, 2, 3))
        sq += (part ** 2).sum(axis=(0, 2, 3))
    n = len(x_train) * x_train.shape[2] * x_train.shape[3]
    mean /= n
    std = np.sqrt(np.maximum(sq / n - mean ** 2, 0))
    std[std < 1e-8] = 1.0
    return scale, tuple(float(v) for v in mean), tuple(float(v) for v in std)


def standardized(x: np.ndarray, pixels: tuple) -> np.ndarray:
    """float32 images with each channel standardized by `pixels` (scale, mean, std)."""
    scale, mean, std = pixels
    shape = (1, -1, 1, 1)
    return ((x * scale - np.reshape(mean, shape)) / np.reshape(std, shape)).astype(np.float32)


def fit_pixels(x: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, tuple | None, str]:
    """(images, pixels, what was done): 8-bit images kept as stored with their statistics on
    the `train` rows (the model's first layer applies them); float images standardized now
    (they are a float32 copy already), pixels None."""
    pixels = pixel_stats(x[train])
    how = describe_pixels(x)
    if x.dtype != np.uint8:
        return standardized(x, pixels), None, how
    return x, pixels, how


def describe_pixels(x: np.ndarray) -> str:
    return ("8-bit pixels kept as stored, scaled to [0, 1] and standardized per channel (on the "
            "training split) by the model's first layer" if x.dtype == np.uint8 else
            "pixel values standardized per channel on the training split")
