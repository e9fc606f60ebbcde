"""Data sources by name; each loader returns seeded, stratified Splits (train / valid / test)."""

from __future__ import annotations

import importlib

from tuner.data.splits import Splits, stratified_split
from tuner.errors import UserError, did_you_mean

# name -> "module:function"; imported on use so `tuner --help` stays fast
SOURCES: dict[str, str] = {
    "aeon": "tuner.data.aeon_sets:load",
    "airline": "tuner.data.forecast:load_airline",
    "digits": "tuner.data.digits:load",
    "file": "tuner.data.files:load",
    "sunspots": "tuner.data.forecast:load_sunspots",
    "synthetic": "tuner.data.synthetic:load",
}


def load_spec_data(spec) -> Splits:
    """The data of an ExperimentSpec, with errors naming its file (and, for a finetune
    experiment, checked to fit the source model's inputs)."""
    data = load_data(spec.data.source, split=spec.data.split, seed=spec.search.seed,
                     where=f"{spec.path}: [data]", **spec.data.options)
    weights = getattr(spec, "model_options", {}).get("weights")
    if weights is not None:
        from tuner.models.source import check_data

        check_data(weights, data.input_shape, where=f"{spec.path}: [model] weights")
    return data


def load_data(source: str, *, split, seed: int, where: str = "[data]", **options) -> Splits:
    """Load a data source by name, e.g. `load_data("digits", split=(0.7, 0.15, 0.15), seed=0)`."""
    if source not in SOURCES:
        raise UserError(
            f"{where} source: unknown data source {source!r}{did_you_mean(source, SOURCES)}; "
            f"built in: {', '.join(sorted(SOURCES))}"
        )
    mod, fn = SOURCES[source].split(":")
    return getattr(importlib.import_module(mod), fn)(
        split=split, seed=seed, where=where, **options
    )


__all__ = ["SOURCES", "DataStreamer", "Splits", "load_data", "stratified_split"]


def __getattr__(name: str):
    # the streamer needs torch; the driver only loads and splits data, so import it on use
    if name == "DataStreamer":
        from tuner.data.streamer import DataStreamer

        return DataStreamer
    raise AttributeError(f"module 'tuner.data' has no attribute {name!r}")
