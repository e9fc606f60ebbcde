"""The `tuner` command in-process: exit codes, one-line errors, and nothing written on bad input.

.venv/bin/python -m pytest tests/test_cli_errors.py -q
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tuner.cli import main

REPO = Path(__file__).resolve().parents[1]
DIGITS = str(REPO / "experiments" / "digits_cnn.toml")
VERBS = ("run", "space", "best", "status", "train", "board")


@pytest.fixture
def store(tmp_path, monkeypatch):
    """An empty storage folder that is also the working directory (so ./results would show)."""
    monkeypatch.delenv("TUNER_STORAGE", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def inputs(tmp_path_factory):
    """A folder for bad input files, apart from the storage folder."""
    return tmp_path_factory.mktemp("inputs")


def one_error(capsys, argv: list[str]) -> str:
    """Run `tuner argv`, expect exit 2 and one 'tuner: error:' line; return what follows it."""
    rc = main(argv)
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    assert lines[0].startswith("tuner: error: ")
    return lines[0][len("tuner: error: ") :]


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["run"],
            "tuner run: the following arguments are required: experiment (see tuner run --help)",
        ),
        (
            ["run", DIGITS, "--samples", "0"],
            "tuner run: argument --samples: must be a positive integer, but got '0' (see tuner run "
            "--help)",
        ),
        (
            ["run", DIGITS, "--samples", "abc"],
            "tuner run: argument --samples: must be a positive integer, but got 'abc' (see tuner "
            "run --help)",
        ),
        (
            ["run", DIGITS, "--epochs", "-3"],
            "tuner run: argument --epochs: must be a positive integer, but got '-3' (see tuner run "
            "--help)",
        ),
        (
            ["run", DIGITS, "--seed", "-1"],
            "tuner run: argument --seed: must be between 0 and 2**32-1, but got '-1' (see tuner "
            "run --help)",
        ),
        (
            ["run", DIGITS, "--seed", "x"],
            "tuner run: argument --seed: must be a non-negative integer, but got 'x' (see tuner "
            "run --help)",
        ),
        (
            ["run", DIGITS, "--searcher", "tpe"],
            "tuner run: argument --searcher: invalid choice: 'tpe' (choose from 'hyperopt', "
            "'optuna', 'bohb', 'random') (see tuner run --help)",
        ),
        (
            ["run", DIGITS, "--metric", "loss"],
            "command line: --metric: unknown metric (the trial reports these) 'loss' (did you mean "
            "'val_loss'?); choose one of val_loss, accuracy, f1, precision, recall, mae, rmse, mase, train_loss",
        ),
        (
            ["run", DIGITS, "--metric", "val_loss", "--mode", "max"],
            "command line: --mode: val_loss is better when lower, so mode must be 'min', but got "
            "'max'",
        ),
        (
            ["run", DIGITS, "--mode", "min"],
            "command line: --mode: accuracy is better when higher, so mode must be 'max', but got "
            "'min'",
        ),
        (["run", DIGITS, "--bogus"], "tuner: unrecognized arguments: --bogus (see tuner --help)"),
        (
            ["space", "cnnn"],
            "tuner space: unknown search space 'cnnn' (did you mean 'cnn'?); built in: attention, backbone, cnn, conv1d, finetune, forecast, mlp, resnet, rnn, rocket, table, text, transformer, trees (or "
            "name your own importable module, e.g. 'mypkg.myspace')",
        ),
        (
            ["train", DIGITS],
            "tuner train: one of the arguments --config --from is required (see tuner train "
            "--help)",
        ),
    ],
)
def test_bad_arguments(capsys, store, argv, message):
    assert (
        one_error(capsys, [*argv, "--storage", str(store)] if argv[0] == "run" else argv)
        == message
    )
    assert list(store.iterdir()) == []


def test_unknown_verb_lists_the_verbs(capsys, store):
    message = one_error(capsys, ["frobnicate"])
    assert message.startswith("tuner: argument VERB: invalid choice: 'frobnicate' (choose from ")
    assert message.endswith(") (see tuner --help)")
    for verb in VERBS:
        assert repr(verb) in message
    assert list(store.iterdir()) == []


def test_missing_experiment_file(capsys, store):
    assert one_error(capsys, ["run", str(store / "nope.toml"), "--storage", str(store)]) == (
        f"{store / 'nope.toml'}: no such experiment file; see experiments/ for examples"
    )
    assert list(store.iterdir()) == []


def test_experiment_folder_instead_of_file(capsys, store, inputs):
    assert one_error(capsys, ["run", str(inputs), "--storage", str(store)]) == (
        f"{inputs}: is a directory; give an experiment file such as {inputs}/digits_cnn.toml"
    )
    assert list(store.iterdir()) == []


@pytest.mark.parametrize(
    "text, rest",
    [
        (
            "[search]\nsample = 3\n",
            "[search] sample: unknown key (did you mean 'samples'?); allowed: searcher, scheduler, "
            "metric, mode, samples, max_epochs, seed, grace_period, reduction_factor, "
            "max_concurrent, initial_points, max_failures, time_budget",
        ),
        (
            "[data]\nsplit = [0.5, 0.5, 0.5]\n",
            "[data] split: fractions must each be in (0, 1) and sum to 1, but got [0.5, 0.5, 0.5]; "
            "e.g. [0.70, 0.15, 0.15]",
        ),
        (
            "[space]\nlr = { loguniform = [1e-2, 1e-4] }\n",
            "[space] lr: low < high must hold, but got low=0.01, high=0.0001",
        ),
        (b"\xff\xfe\x00garbage", "is not a UTF-8 text file; an experiment file is TOML"),
    ],
)
@pytest.mark.parametrize("verb", ["run", "space"])
def test_bad_experiment_files(capsys, store, inputs, text, rest, verb):
    path = inputs / "bad.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    argv = [verb, str(path)] + (["--storage", str(store)] if verb == "run" else [])
    assert one_error(capsys, argv) == f"{path}: {rest}"
    assert list(store.iterdir()) == []


@pytest.mark.parametrize("verb", ["run", "space"])
def test_broken_toml_names_the_line(capsys, store, inputs, verb):
    path = inputs / "broken.toml"
    path.write_text("name = 'x'\n[search\n")
    argv = [verb, str(path)] + (["--storage", str(store)] if verb == "run" else [])
    message = one_error(capsys, argv)
    # the parser's own wording may change between Python versions; the place may not
    assert message.startswith(f"{path}: is not valid TOML (")
    assert message.endswith("(at line 2, column 8)); fix the syntax at that line")
    assert list(store.iterdir()) == []


def test_continuous_layer_count_is_one_error_line(capsys, store, inputs):
    path = inputs / "bad.toml"
    path.write_text("[space]\nconv_blocks = { uniform = [1, 3] }\n")
    assert one_error(capsys, ["run", str(path), "--storage", str(store)]).startswith(f"{path}: ")


@pytest.mark.parametrize("verb", ["best", "status"])
def test_unknown_experiment_name(capsys, store, verb):
    assert one_error(capsys, [verb, "nothing", "--storage", str(store)]) == (
        f"nothing: no experiment of that name under {store.resolve()}; none found there yet "
        f"(use --storage DIR to look elsewhere)"
    )
    assert list(store.iterdir()) == []


def test_train_with_a_missing_config_file(capsys, store):
    missing = store / "best.toml"
    assert one_error(
        capsys, ["train", DIGITS, "--config", str(missing), "--storage", str(store)]
    ) == (f"{missing}: no such config file; write one with `tuner best NAME -o best.toml`")
    assert list(store.iterdir()) == []


# -- help, space and dry run ----------------------------------------------------------------------


def test_help_lists_the_verbs(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: tuner ")
    for verb in VERBS:
        assert f"\n    {verb} " in out
    assert "exit codes: 0 done, 1 the run failed, 2 bad input (nothing started)" in out


def test_no_verb_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert capsys.readouterr().out.startswith("usage: tuner ")


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out == "tuner 0.1.0\n"


def test_space_prints_priors_conditions_and_size(capsys):
    assert main(["space", "cnn"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == "space cnn: Convolutional network for images (C×H×W)"
    assert "  conv_blocks    int(1..3)" in lines
    assert "  lr             loguniform(0.0001, 0.03)" in lines
    assert "  momentum       uniform(0.8, 0.99)   when optimizer == 'sgd'" in lines
    assert "  filters_3      int(16..96, step=16)   when conv_blocks >= 3" in lines
    assert lines[-1] == (
        "size: 57,065,472 discrete combinations × 4 continuous dimensions (dropout, lr, "
        "momentum, weight_decay); 20 dimensions in all, 16 always active"
    )


def test_space_of_an_experiment_file_shows_its_overrides(capsys):
    assert main(["space", DIGITS]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"space cnn (+ overrides from {DIGITS}): ")
    assert "  lr             loguniform(0.0003, 0.03)\n" in out
    assert "discrete combinations" in out.splitlines()[-1]


def test_dry_run_validates_prints_the_plan_and_writes_nothing(capsys, store):
    assert main(["run", DIGITS, "--dry-run", "--storage", str(store), "--samples", "5"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "discrete combinations" in out
    # the plan a run prints before Ray starts, then the space
    assert out.startswith("tuner: digits_cnn — ")
    assert "  data   digits: 1258 train / 269 valid / 270 test, input 1×8×8, 10 classes" in out
    assert "  search 5 trials × ≤20 epochs, hyperopt + asha, max accuracy, seed 0" in out
    assert f"  output {store.resolve() / 'digits_cnn'}" in out
    assert "\nspace cnn: " in out
    assert out.splitlines()[-1] == "dry run: valid; nothing started"
    assert list(store.iterdir()) == []


# -- imports --------------------------------------------------------------------------------------


def test_building_the_parser_imports_neither_torch_nor_ray():
    code = (
        "import sys, tuner.cli; tuner.cli.build_parser(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'ray'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[]\n"
