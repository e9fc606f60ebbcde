"""Pretrained backbone priors: which ImageNet network, how many of its stages stay frozen, the
new head, the learning rate of the unfrozen layers (a fraction of the head's), plus
augmentation and training priors.

    tuner space backbone
"""

from searchspaces import common
from tuner.spaces import Choice, Fixed, IntRange, LogUniform, SearchSpace, When

SIZES = (64, 128, 224)  # input sizes a small image may be upsampled to


def space() -> SearchSpace:
    training = common.training()
    return SearchSpace(
        {
            "backbone": Choice(["resnet18", "mobilenet_v2", "resnet50"]),
            "pretrained": Fixed(True),
            # 0: every layer trains; 5: stem and all four stages frozen (a feature extractor)
            "freeze": IntRange(0, 5),
            "head": Choice(["linear", "mlp"]),
            "head_units": When(Choice([128, 256, 512]), "head", "mlp"),
            "dropout": common.dropout(0.5),
            # the unfrozen backbone learns at this fraction of the head's rate
            "backbone_lr": LogUniform(0.01, 1.0),
            "input_size": Fixed(224),  # what the ImageNet weights were trained at
            **common.augmentation(),
            **{**training, "lr": LogUniform(1e-4, 1e-2)},
        },
        description="ImageNet-pretrained backbone (ResNet-18/50, MobileNetV2), first stages "
                    "frozen, new head",
    )


def before_search(space, where: str) -> None:
    """Every backbone the space may pick is one tuner has, with its ImageNet weights here
    (downloaded now if missing), unless the space trains from scratch. Imports no torch."""
    from tuner.errors import UserError, did_you_mean
    from tuner.models.weights import FILES, ensure

    choice = space.priors.get("backbone")
    names = choice.values() if choice is not None else []
    for name in names:
        if name not in FILES:
            raise UserError(f"{where.replace('[model]', '[space]')} backbone: unknown backbone "
                            f"{name!r}{did_you_mean(str(name), FILES)}; choose from "
                            f"{', '.join(FILES)}")
    pretrained = space.priors.get("pretrained")
    if pretrained is not None and True not in pretrained.values():
        return
    for name in names:
        ensure(name, where=f"{where} backbone {name!r}")


def derive(profile, space, where: str) -> list:
    """Small images are upsampled less than all the way to 224 px: the search picks the size."""
    side = min(profile.height, profile.width)
    if not side or side >= SIZES[-1] or "input_size" in space.priors and \
            not space.priors["input_size"].discrete:
        return []
    sizes = [s for s in SIZES if s >= min(side, SIZES[0])]
    return [("input_size", {"choice": sizes},
             f"{profile.height}×{profile.width} images: upsampling them to 224 px costs "
             f"{(224 / side) ** 2:.0f}× the compute; ImageNet features still work at "
             f"{sizes[0]}-{sizes[-2]} px, so the search weighs size against time")]
