"""Residual CNN priors: width of the first stage, number of stages (each halves the resolution
and doubles the width), blocks per stage, the stem, plus augmentation and training priors.

    tuner space resnet
"""

from searchspaces import common
from tuner.spaces import Choice, IntRange, SearchSpace

LARGE_STEM_SIDE = 64  # images at least this large start with ImageNet's 7×7 stride-2 stem


def space() -> SearchSpace:
    return SearchSpace(
        {
            "width": Choice([16, 32, 48, 64]),
            "stages": IntRange(2, 4),
            "blocks": IntRange(1, 2),
            "stem": Choice(["small", "large"]),
            "activation": Choice(["relu", "gelu"]),
            "dropout": common.dropout(0.3),
            **common.augmentation(),
            **common.training(),
        },
        description="Residual CNN for images (C×H×W): stem, stages of residual blocks, "
                    "global average pooling",
    )


def derive(profile, space, where: str) -> list:
    """The stem for the images' size, and no more stages than halvings they can take."""
    side = min(profile.height, profile.width)
    if not side:
        return []
    found = []
    if "stem" in space.priors and space.priors["stem"].discrete:
        large = side >= LARGE_STEM_SIDE
        found.append(("stem", "large" if large else "small",
                      f"{profile.height}×{profile.width} images: " + (
                          "a 7×7 stride-2 stem and a max-pool bring photos to a quarter of "
                          "their side before the first stage, as ImageNet ResNets do"
                          if large else "a 3×3 stem keeps every pixel of small images")))
    stages = space.priors.get("stages")
    if stages is not None and stages.discrete:
        after_stem = side // 4 if side >= LARGE_STEM_SIDE else side
        most = max(1, 1 + (after_stem // 4).bit_length() - 1)  # keep ≥ 4 px in the last stage
        values = [int(v) for v in stages.values()]
        if max(values) > most:
            keep = [v for v in values if v <= most] or [most]
            found.append(("stages", {"choice": keep} if len(keep) > 1 else keep[0],
                          f"{after_stem} px after the stem: each stage after the first halves "
                          f"it, and the last should keep at least 4 px"))
    return found
