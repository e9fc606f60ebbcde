"""Experiment files: every shipped file loads, and every bad input gets one pinned line.

.venv/bin/python -m pytest tests/test_experiment.py -q
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tuner.errors import UserError
from tuner.experiment import SearchSpec, load

REPO = Path(__file__).resolve().parents[1]
EXPERIMENTS = sorted((REPO / "experiments").glob("*.toml"))
SEARCH_KEYS = (
    "searcher, scheduler, metric, mode, samples, max_epochs, seed, grace_period, "
    "reduction_factor, max_concurrent, initial_points, max_failures, time_budget"
)


# a file that names its factory: its [space] is checked when the file loads (an automatic
# factory's waits for the data)
CNN = '[model]\nfactory = "cnn"\n'

def error(fn) -> str:
    with pytest.raises(UserError) as e:
        fn()
    message = str(e.value)
    assert "\n" not in message
    return message


def load_error(tmp_path: Path, text: str | bytes, name: str = "exp.toml") -> tuple[Path, str]:
    """Write `text` to a file, load it, and return (path, the message after '<path>: ')."""
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    message = error(lambda: load(path))
    assert message.startswith(f"{path}: ")
    return path, message[len(f"{path}: ") :]


# -- the shipped experiments ----------------------------------------------------------------------


def test_the_default_experiment_is_shipped():
    assert "digits_cnn.toml" in [p.name for p in EXPERIMENTS]


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_every_shipped_experiment_is_valid(path, tmp_path, monkeypatch):
    if "weights" in tomllib.loads(path.read_text()).get("model", {}):
        # a fine-tuning experiment reads its source model, which `tuner train` writes first
        from tests.test_fuzz_inputs import finetune_source

        weights = tomllib.loads(path.read_text())["model"]["weights"]
        finetune_source(tmp_path / weights)
        monkeypatch.chdir(tmp_path)
    spec = load(path)
    assert spec.name == path.stem
    assert spec.space().size()["discrete_combinations"] > 1


def test_digits_cnn_values():
    spec = load(REPO / "experiments" / "digits_cnn.toml")
    assert spec.search == SearchSpec(
        searcher="hyperopt",
        scheduler="asha",
        metric="accuracy",
        mode="max",
        samples=24,
        max_epochs=20,
        seed=0,
        grace_period=2,
        reduction_factor=3,
    )
    assert spec.data.source == "digits" and spec.data.split == (0.70, 0.15, 0.15)
    assert spec.factory == "cnn" and spec.space_module == "cnn"
    assert spec.space().priors["lr"].describe() == "loguniform(0.0003, 0.03)"


def test_an_empty_file_takes_every_default(tmp_path):
    path = tmp_path / "empty.toml"
    path.write_text("")
    spec = load(path)
    assert spec.name == "empty" and spec.path == str(path)
    assert spec.search == SearchSpec()
    assert spec.search.metric == "val_loss" and spec.search.mode == "min"


def test_mode_follows_the_metric_when_not_given(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text("[search]\nmetric = 'f1'\n")
    assert load(path).search.mode == "max"


def test_the_default_grace_period_fits_a_one_epoch_budget(tmp_path):
    f = tmp_path / "short.toml"
    f.write_text("[search]\nmax_epochs = 1\n")
    assert load(f).search.grace_period == 1
    f.write_text("[search]\nmax_epochs = 1\ngrace_period = 2\n")  # given: checked as given
    with pytest.raises(UserError, match=r"grace_period: must be between 1 and 1, but got 2"):
        load(f)


def test_space_module_defaults_to_the_factory(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text("[model]\nfactory = 'mlp'\n")
    assert load(path).space_module == "mlp"


# -- files that cannot be read --------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    assert error(lambda: load(path)) == (
        f"{path}: no such experiment file; see experiments/ for examples"
    )


def test_missing_file_suggests_a_close_name(tmp_path):
    (tmp_path / "digits_cnn.toml").write_text("")
    path = tmp_path / "digits_cnm.toml"
    assert error(lambda: load(path)) == (
        f"{path}: no such experiment file (did you mean 'digits_cnn.toml'?); see experiments/ "
        f"for examples"
    )


def test_directory(tmp_path):
    assert error(lambda: load(tmp_path)) == (
        f"{tmp_path}: is a directory; give an experiment file such as {tmp_path}/digits_cnn.toml"
    )


def test_broken_toml(tmp_path):
    _, message = load_error(tmp_path, "name = 'x'\nsamples = \n")
    # the parser's own wording may change between Python versions; the place may not
    assert message.startswith("is not valid TOML (")
    assert message.endswith("(at line 2, column 11)); fix the syntax at that line")


@pytest.mark.parametrize(
    "data, message",
    [
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe",
            "is not a UTF-8 text file; an experiment file is TOML",
        ),
        (bytes(range(256)), "is not a UTF-8 text file; an experiment file is TOML"),
    ],
)
def test_binary_garbage(tmp_path, data, message):
    assert load_error(tmp_path, data)[1] == message


def test_control_characters_are_not_toml(tmp_path):
    message = load_error(tmp_path, b"\x00\x01\x02")[1]
    assert message.startswith("is not valid TOML (")
    assert message.endswith("(at line 1, column 1)); fix the syntax at that line")


# -- keys, types and values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "nmae = 'x'\n",
            "nmae: unknown key (did you mean 'name'?); allowed: name, description, storage, data, "
            "model, space, search, resources, logging",
        ),
        (
            "[search]\nsample = 3\n",
            f"[search] sample: unknown key (did you mean 'samples'?); allowed: {SEARCH_KEYS}",
        ),
        (
            "[data]\nsplits = [0.7, 0.15, 0.15]\n",
            "[data] splits: unknown key (did you mean 'split'?); allowed: source, split, folds, dataset, valid, normalize, path, task, target, window, horizon, time_column, value_column, transform, examples, size, classes, layout, text, tokenizer, vocab, length",
        ),
        (
            "[resources]\ngpus = 1\n",
            "[resources] gpus: unknown key (did you mean 'gpu'?); allowed: cpu, gpu, device",
        ),
        (
            "[resources]\ndevice = 'gpu'\n",
            "[resources] device: unknown device 'gpu'; for a GPU write device = \"cuda\" (or "
            '"auto": CUDA where there is one)',
        ),
        (
            "[resources]\ndevice = 'quantum'\n",
            "[resources] device: unknown device 'quantum'; choose one of auto, cuda, mps, cpu",
        ),
        (
            "[resources]\ndevice = 'cpu'\ngpu = 0.5\n",
            '[resources] gpu = 0.5 asks for a GPU but device = "cpu" rules it out; remove one of '
            "them",
        ),
        (
            "name = 'a b'\n",
            "name: must be 1-100 letters, digits, '_', '-' or '.', starting with a letter or digit, "
            "but got 'a b'",
        ),
        ("description = 3\n", "description: must be a string, but got 3"),
        ("search = 3\n", "[search] must be a table (a [search] section), but got 3"),
        ("space = 'cnn'\n", "[space] must be a table, but got 'cnn'"),
        ("[space]\nmodule = 3\n", "[space] module: must be a string, but got 3"),
        ("[search]\nsamples = '3'\n", "[search] samples: must be an integer, but got '3'"),
        ("[search]\nsamples = 3.0\n", "[search] samples: must be an integer, but got 3.0"),
        ("[search]\nsamples = true\n", "[search] samples: must be an integer, but got True"),
        ("[search]\nsearcher = 1\n", "[search] searcher: must be a string, but got 1"),
        ("[resources]\ncpu = 'one'\n", "[resources] cpu: must be a number, but got 'one'"),
        ("[resources]\ngpu = true\n", "[resources] gpu: must be a number, but got True"),
        ("[resources]\ncpu = inf\n", "[resources] cpu: must be a finite number, but got inf"),
        (
            "[resources]\ncpu = 0\n",
            "[resources] cpu: must be between 0.01 and 1024, but got 0.0; CPUs per trial, e.g. 1",
        ),
        (
            "[search]\nsamples = 0\n",
            "[search] samples: must be between 1 and 100000, but got 0; set how many trials to run",
        ),
        (
            "[search]\nseed = -1\n",
            "[search] seed: must be between 0 and 4294967295, but got -1; use a non-negative "
            "integer",
        ),
        (
            "[search]\nmax_epochs = 5\ngrace_period = 6\n",
            "[search] grace_period: must be between 1 and 5, but got 6; it must not exceed "
            "max_epochs",
        ),
        (
            "[search]\nreduction_factor = 1\n",
            "[search] reduction_factor: must be between 2 and 100, but got 1; 3 or 4 are usual",
        ),
    ],
)
def test_bad_keys_types_and_values(tmp_path, text, message):
    assert load_error(tmp_path, text)[1] == message


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "[search]\nsearcher = 'tpe'\n",
            "[search] searcher: unknown searcher 'tpe'; choose one of hyperopt, optuna, bohb, "
            "random",
        ),
        (
            "[search]\nsearcher = 'optuner'\n",
            "[search] searcher: unknown searcher 'optuner' (did you mean 'optuna'?); choose one of "
            "hyperopt, optuna, bohb, random",
        ),
        (
            "[search]\nscheduler = 'ashaa'\n",
            "[search] scheduler: unknown scheduler 'ashaa' (did you mean 'asha'?); choose one of "
            "asha, hyperband, median, fifo",
        ),
        (
            "[model]\nfactory = 'vgg'\n",
            "[model] factory: unknown model factory 'vgg'; choose one of attention, backbone, cnn, conv1d, finetune, forecast, mlp, resnet, rnn, rocket, table, text, transformer, trees, \"auto\" (chosen from the data), or name your own as 'module:function' (e.g. 'mypkg.models:build')",
        ),
        (
            "[data]\nsource = 'mnist'\n",
            "[data] source: unknown data source 'mnist'; choose one of aeon, airline, digits, file, sunspots, synthetic",
        ),
        (
            "[space]\nmodule = 'cnnn'\n",
            "[space] module: unknown search space 'cnnn' (did you mean 'cnn'?); built in: attention, backbone, cnn, conv1d, finetune, forecast, mlp, resnet, rnn, rocket, "
            "table, text, transformer, trees "
            "(or name your own importable module, e.g. 'mypkg.myspace')",
        ),
        (
            "[search]\nmetric = 'loss'\n",
            "[search] metric: unknown metric (the trial reports these) 'loss' (did you mean "
            "'val_loss'?); choose one of val_loss, accuracy, f1, precision, recall, mae, rmse, mase, train_loss",
        ),
        (
            "[search]\nmetric = 'accuracy'\nmode = 'min'\n",
            "[search] mode: accuracy is better when higher, so mode must be 'max', but got 'min'",
        ),
        (
            "[search]\nmetric = 'val_loss'\nmode = 'max'\n",
            "[search] mode: val_loss is better when lower, so mode must be 'min', but got 'max'",
        ),
        ("[search]\nmode = 'up'\n", "[search] mode: must be 'min' or 'max', but got 'up'"),
    ],
)
def test_unknown_names(tmp_path, text, message):
    assert load_error(tmp_path, text)[1] == message


@pytest.mark.parametrize(
    "split, message",
    [
        (
            "[0.7, 0.2, 0.2]",
            "[data] split: fractions must each be in (0, 1) and sum to 1, but got [0.7, 0.2, 0.2]; "
            "e.g. [0.70, 0.15, 0.15]",
        ),
        (
            "[1.0, 0.0, 0.0]",
            "[data] split: fractions must each be in (0, 1) and sum to 1, but got [1.0, 0.0, 0.0]; "
            "e.g. [0.70, 0.15, 0.15]",
        ),
        (
            "[0.7, 0.3]",
            "[data] split: must be three fractions [train, valid, test], but got [0.7, 0.3]",
        ),
        (
            "'70/15/15'",
            "[data] split: must be three fractions [train, valid, test], but got '70/15/15'",
        ),
        (
            "[0.7, true, 0.15]",
            "[data] split: must be three fractions [train, valid, test], but got [0.7, True, 0.15]",
        ),
    ],
)
def test_split(tmp_path, split, message):
    assert load_error(tmp_path, f"[data]\nsplit = {split}\n")[1] == message


# -- [space] overrides ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "lr = { loguniform = [1e-2, 1e-4] }",
            "[space] lr: low < high must hold, but got low=0.01, high=0.0001",
        ),
        (
            "filters = { int = [96, 16], step = 16 }",
            "[space] filters: low <= high must hold, but got low=96, high=16",
        ),
        (
            "lr = { loguniform = [0, 1e-2] }",
            "[space] lr: low > 0 must hold on a log scale, but got low=0",
        ),
        (
            "lr = { logunifrom = [1e-4, 1e-2] }",
            "[space] lr: a prior must be one of { uniform = [lo, hi] }, { loguniform = [lo, hi] }, "
            "{ int = [lo, hi], step = 1, log = false }, { choice = [...] } or a plain value, but "
            "got {'logunifrom': [0.0001, 0.01]}",
        ),
        (
            "lrr = 0.1",
            "[space] lrr: unknown hyperparameter (did you mean 'lr'?); this space has: "
            "conv_blocks, filters, kernel_size, batch_norm, dense_units, activation, dropout, "
            "aug_crop, aug_flip, aug_rotate, aug_jitter, optimizer, lr, momentum, weight_decay, batch_size, lr_schedule, warmup_epochs",
        ),
        (
            "filters_2 = 32",
            "[space] filters_2: per-layer priors are set for all layers at once; write filters = "
            "... instead",
        ),
        (
            "conv_blocks = { int = [1, 80] }",
            "[space]: conv_blocks: at most 64 layers, but got up to 80",
        ),
    ],
)
def test_bad_space_overrides(tmp_path, text, message):
    assert load_error(tmp_path, f"{CNN}[space]\n{text}\n")[1] == message


def test_good_space_overrides(tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text(CNN + "[space]\nconv_blocks = 2\nkernel_size = 3\nfilters = { choice = [16, 32] }\n")
    space = load(path).space()
    assert space.priors["kernel_size"].describe() == "fixed(3)"
    assert [n for n in space.priors if n.startswith("filters")] == ["filters_1", "filters_2"]
    # filters, batch norm, dense, activation, augmentation (crop, flip, rotation, jitter), the
    # training priors
    assert space.size()["discrete_combinations"] == (2 * 2 * 2 * 8 * 4 * (3 * 2 * 2 * 2)
                                                     * 3 * 4 * 6)


def test_continuous_layer_count_is_a_user_error(tmp_path):
    _, message = load_error(tmp_path, CNN + "[space]\nconv_blocks = { uniform = [1, 3] }\n")
    assert message == (
        "[space]: filters: per-layer prior needs 'conv_blocks' to be an integer prior (int "
        "range, choice of integers or a fixed integer)"
    )


@pytest.mark.parametrize(
    "text, gone",
    [
        ("optimizer = 'adam'", "momentum"),
        ("optimizer = { choice = ['adam', 'adamw'] }", "momentum"),
        ("lr_schedule = 'none'", "warmup_epochs"),
    ],
)
def test_fixing_a_parent_of_a_conditional_prior_makes_the_child_inactive(tmp_path, text, gone):
    path = tmp_path / "fix.toml"
    path.write_text(f"{CNN}[space]\n{text}\n")
    space = load(path).space()
    assert gone not in space.priors
    assert "filters_3" in space.priors


# -- command-line overrides -----------------------------------------------------------------------


@pytest.fixture
def spec():
    return load(REPO / "experiments" / "digits_cnn.toml")


@pytest.mark.parametrize(
    "values, message",
    [
        (
            {"samples": 0},
            "command line: --samples: must be between 1 and 100000, but got 0; set how many trials "
            "to run",
        ),
        (
            {"max_epochs": 0},
            "command line: --epochs: must be between 1 and 100000, but got 0; set the epochs per "
            "trial",
        ),
        (
            {"seed": -1},
            "command line: --seed: must be between 0 and 4294967295, but got -1; use a "
            "non-negative integer",
        ),
        (
            {"searcher": "tpe"},
            "command line: --searcher: unknown searcher 'tpe'; choose one of hyperopt, optuna, "
            "bohb, random",
        ),
        (
            {"metric": "loss"},
            "command line: --metric: unknown metric (the trial reports these) 'loss' (did you mean "
            "'val_loss'?); choose one of val_loss, accuracy, f1, precision, recall, mae, rmse, mase, train_loss",
        ),
        (
            {"metric": "val_loss", "mode": "max"},
            "command line: --mode: val_loss is better when lower, so mode must be 'min', but got "
            "'max'",
        ),
        (
            {"mode": "min"},
            "command line: --mode: accuracy is better when higher, so mode must be 'max', but got "
            "'min'",
        ),
        (
            {"max_concurrent": -1},
            "command line: --max-concurrent: must be between 0 and 10000, but got -1; 0 means as "
            "many as fit",
        ),
        (
            {"time_budget": -60},
            "command line: --time-budget: must be between 0 and 100000000, but got -60; seconds; "
            "0 means no limit",
        ),
    ],
)
def test_with_overrides_revalidates(spec, values, message):
    assert error(lambda: spec.with_overrides(**values)) == message


def test_with_overrides_applies_values_and_keeps_the_rest(spec):
    new = spec.with_overrides(
        samples=3, max_epochs=1, metric="val_loss", name="quick", searcher=None
    )
    assert (new.name, new.search.samples, new.search.max_epochs) == ("quick", 3, 1)
    assert new.search.mode == "min"  # follows the new metric
    assert new.search.grace_period == 1  # shrinks with a shorter budget instead of failing
    assert new.search.searcher == "hyperopt"
    assert new.space_overrides == spec.space_overrides and new.path == spec.path
    assert new.search.time_budget == 0 and spec.with_overrides(time_budget=90).search.time_budget == 90
    assert spec.search.samples == 24  # the original is unchanged
    assert spec.with_overrides() == spec


def test_bad_name_on_the_command_line_blames_the_command_line(spec):
    assert error(lambda: spec.with_overrides(name="a b")).startswith("command line: --name: ")
