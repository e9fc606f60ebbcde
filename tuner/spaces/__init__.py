"""Search spaces: priors, conditions and the registry of space modules (no Ray import here)."""

from tuner.spaces.priors import (
    Choice,
    Condition,
    Fixed,
    IntRange,
    LogUniform,
    Prior,
    Uniform,
    prior_from_dict,
)
from tuner.spaces.registry import SPACES, derive_hooks, load_space
from tuner.spaces.space import PerLayer, SearchSpace, When

__all__ = [
    "SPACES",
    "Choice",
    "Condition",
    "Fixed",
    "IntRange",
    "LogUniform",
    "PerLayer",
    "Prior",
    "SearchSpace",
    "Uniform",
    "When",
    "derive_hooks",
    "load_space",
    "prior_from_dict",
]
