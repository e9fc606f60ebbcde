"""Trial schedulers: ASHA (default), Hyperband, median stopping, FIFO (no early stopping).

All count time in epochs (`training_iteration`). BOHB brings its own Hyperband variant.
"""

from __future__ import annotations

from collections.abc import Callable

from tuner.errors import UserError, did_you_mean

T = "training_iteration"


def _asha(metric, mode, max_t, grace, rf):
    from ray.tune.schedulers import ASHAScheduler

    return ASHAScheduler(
        time_attr=T, metric=metric, mode=mode, max_t=max_t, grace_period=grace, reduction_factor=rf
    )


def _hyperband(metric, mode, max_t, grace, rf):
    from ray.tune.schedulers import HyperBandScheduler

    return HyperBandScheduler(
        time_attr=T, metric=metric, mode=mode, max_t=max_t, reduction_factor=rf
    )


def _median(metric, mode, max_t, grace, rf):
    from ray.tune.schedulers import MedianStoppingRule

    return MedianStoppingRule(
        time_attr=T, metric=metric, mode=mode, grace_period=grace, min_samples_required=3
    )


def _fifo(metric, mode, max_t, grace, rf):
    from ray.tune.schedulers import FIFOScheduler

    return FIFOScheduler()


def _bohb_hyperband(metric, mode, max_t, grace, rf):
    from ray.tune.schedulers import HyperBandForBOHB

    return HyperBandForBOHB(
        time_attr=T, metric=metric, mode=mode, max_t=max_t, reduction_factor=rf
    )


SCHEDULERS: dict[str, Callable] = {
    "asha": _asha,
    "hyperband": _hyperband,
    "median": _median,
    "fifo": _fifo,
}


def build_scheduler(
    name: str,
    *,
    metric: str,
    mode: str,
    max_epochs: int,
    grace_period: int,
    reduction_factor: int,
    searcher: str = "",
):
    """The Tune scheduler; with the bohb searcher, Hyperband-for-BOHB whatever the name."""
    if searcher == "bohb":
        return _bohb_hyperband(metric, mode, max_epochs, grace_period, reduction_factor)
    if name not in SCHEDULERS:
        raise UserError(
            f"unknown scheduler {name!r}{did_you_mean(name, SCHEDULERS)}; "
            f"choose one of {', '.join(SCHEDULERS)}"
        )
    return SCHEDULERS[name](metric, mode, max_epochs, grace_period, reduction_factor)
