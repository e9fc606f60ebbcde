"""The run flags' one table: every flag sets a key the experiment file has, and the parser,
the overrides and `tuner submit`'s forwarding all follow it."""

import dataclasses
from pathlib import Path

import pytest

from tuner.cli import build_parser
from tuner.experiment import Resources, SearchSpec, load
from tuner.flags import FLAGS, forwarded, overrides

DIGITS = "experiments/digits_cnn.toml"
SECTIONS = {"search": SearchSpec, "resources": Resources}


@pytest.mark.parametrize("flag", FLAGS.values(), ids=list(FLAGS))
def test_every_flag_sets_a_key_of_the_experiment_file(flag):
    if flag.section:
        assert flag.key in {f.name for f in dataclasses.fields(SECTIONS[flag.section])}
    else:
        assert flag.key == "name"


def test_given_flags_parse_override_and_forward_as_one(monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    argv = ["run", DIGITS, "--samples", "7", "--epochs", "3", "--searcher", "optuna",
            "--cpus-per-trial", "0.5", "--name", "other"]
    args = build_parser().parse_args(argv)
    spec = load(DIGITS).with_overrides(**overrides(args))
    assert (spec.search.samples, spec.search.max_epochs, spec.search.searcher) == (7, 3, "optuna")
    assert (spec.resources.cpu, spec.name) == (0.5, "other")
    assert forwarded(overrides(args)) == ["--samples", "7", "--epochs", "3", "--searcher", "optuna",
                               "--cpus-per-trial", "0.5", "--name", "other"]
