"""The examples in docstrings run as written."""

import doctest
import importlib

import pytest

MODULES = [
    "tuner.spaces.space",
    "tuner.spaces.priors",
    "tuner.data.streamer",
    "tuner.vocabulary",
    "tuner.flags",
    "tuner.api",
    "tuner.training.folds",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0
