"""The Python API: every CLI verb from Python, on the same folders, with the same messages.

One search built in Python (arrays, a model class made at run time, priors as objects) serves
the verb tests; a file experiment run by the CLI is read back from Python.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import tuner
from tuner.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def make_model_class():
    """A model class as a notebook makes one: not importable by any module name."""
    from torch import nn

    class Net(nn.Module):
        def __init__(self, config, input_shape, n_outputs):
            super().__init__()
            self.body = nn.Sequential(nn.Flatten(),
                                      nn.Linear(int(np.prod(input_shape)), config["width"]),
                                      nn.ReLU(), nn.Linear(config["width"], n_outputs))

        def forward(self, x):
            return self.body(x)

    return Net


def digits_arrays():
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float32)[:, None], d.target


@pytest.fixture(scope="module")
def searched(ray_session, tmp_path_factory):
    """(storage, Result, the model class) of a 3-trial search started from Python."""
    storage = tmp_path_factory.mktemp("api") / "results"
    net = make_model_class()
    x, y = digits_arrays()
    exp = tuner.Experiment("from_python", data=(x, y), model=net,
                           space={"width": tuner.IntRange(16, 64, step=16)},
                           metric="accuracy", samples=3, max_epochs=2, scheduler="fifo")
    result = tuner.run(exp, storage=str(storage))
    return storage, result, net


def test_import_is_light_and_fast():
    code = ("import sys, time; t = time.perf_counter(); import tuner; "
            "print(time.perf_counter() - t, 'torch' in sys.modules, 'ray' in sys.modules, "
            "len(tuner.__all__))")
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    seconds, torch, ray, names = out.stdout.split()
    assert (torch, ray) == ("False", "False")
    assert float(seconds) < 0.5 and int(names) >= 20
    imported = [ln.split("|")[-1].strip() for ln in out.stderr.splitlines()]
    assert not any(m.split(".")[0] in ("torch", "ray", "numpy") for m in imported)


def test_public_names_resolve():
    for name in tuner.__all__:
        assert getattr(tuner, name) is not None
    assert tuner.UserError is UserError
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        tuner.nope  # noqa: B018


def test_run_from_python_returns_the_best_trial_and_every_trial(searched):
    storage, result, _ = searched
    assert result.exit_code == 0 and not result.interrupted
    best = result.best
    assert best.status == "completed" and best.epoch in (1, 2)
    assert set(best.config) >= {"width", "lr", "batch_size", "optimizer"}
    assert best.config["width"] in (16, 32, 48, 64)
    assert 0.5 < best.metrics["accuracy"] <= 1.0
    trials = result.trials
    assert list(trials["trial"]) == ["trial_001", "trial_002", "trial_003"]
    assert {"status", "best_accuracy", "config/width"} <= set(trials.columns)
    assert trials["best_accuracy"].max() == pytest.approx(best.metrics["accuracy"])
    assert [p.name for p in result.tensorboard] == ["trial_001", "trial_002", "trial_003"]
    assert any(result.tensorboard[0].glob("events.out.tfevents.*"))
    # the experiment keeps what it was made of: the arrays and the pickled class
    inputs = sorted(p.name for p in (result.folder / "inputs").iterdir())
    assert "data.npz" in inputs and any(n.startswith("factory-") for n in inputs)


def test_the_command_line_reads_a_search_started_from_python(searched, tuner_cli):
    storage, result, _ = searched
    code, out, _ = tuner_cli("status", "--storage", storage)
    assert code == 0 and "from_python" in out and "3/3 trials" in out
    code, out, _ = tuner_cli("best", "from_python", "--storage", storage)
    assert code == 0 and f'trial = "{result.best.name}"' in out
    # final training from the saved experiment: no file, the pickled class rebuilds the model
    code, out, err = tuner_cli("train", "--from", "from_python", "--storage", storage,
                               "--out", storage / "cli_final")
    assert code == 0, err
    # unasked, the seeds are sized by the search: 3 trials of 2 epochs afford one
    assert ("\nseeds  one seed: a second one's " in out
            and "epochs would take the final training past 25% of the search's 6 trial epochs "
                "(--seeds N for an ensemble of N)\n" in out)
    metrics = json.loads((storage / "cli_final" / "metrics.json").read_text())
    assert metrics["test_examples"] == 270 and 0.5 < metrics["test_accuracy"] <= 1.0


def test_train_final_returns_the_trained_model_and_its_test_metrics(searched):
    storage, result, net = searched
    final = tuner.train_final(result, storage=str(storage), seeds=2)
    assert type(final.model).__name__ == "Ensemble" and not final.model.training
    assert [type(m).__name__ for m in final.models] == ["Net", "Net"]
    assert final.epochs == result.best.epoch
    assert set(final.metrics) == {"accuracy", "precision", "recall", "f1", "loss"}
    assert set(final.sd) == set(final.mean) == set(final.metrics)
    assert final.ensemble == final.metrics
    saved = json.loads((final.folder / "metrics.json").read_text())
    assert saved["test_accuracy"] == pytest.approx(final.metrics["accuracy"])


def test_best_results_status_report_and_space_from_python(searched, tmp_path):
    storage, result, _ = searched
    best = tuner.best("from_python", storage=str(storage), output=str(tmp_path / "best.toml"))
    assert best == result.best
    assert f'trial = "{best.name}"' in (tmp_path / "best.toml").read_text()

    table = tuner.results(result, output=str(tmp_path / "trials.csv"))
    assert len(table) == 3 and (tmp_path / "trials.csv").read_text().startswith("trial,status")

    everything = tuner.status(storage=str(storage))
    row = everything.set_index("experiment").loc["from_python"]
    assert (row["trials"], row["completed"], row["best trial"]) == (3, 3, best.name)
    trials = tuner.status("from_python", storage=str(storage))
    assert list(trials.columns) == ["trial", "status", "epochs", "accuracy", "accuracy_se",
                                    "reason", "node"]
    assert set(trials["node"]) == {"127.0.0.1"}  # the node each trial ran on
    assert (trials["accuracy_se"] > 0).all()

    page = tuner.report(result, out=str(tmp_path / "report"))
    assert page.name == "report.html" and "from_python" in page.read_text()

    shown = tuner.space("mlp")
    assert "units" in str(shown) and "lr" in shown.priors


def test_space_of_an_experiment_shows_its_derived_priors():
    exp = tuner.Experiment("spaced", data={"source": "aeon", "dataset": "GunPoint"},
                           metric="accuracy")
    shown = tuner.space(exp)
    assert any(d.key == "factory" for d in shown.derived)
    assert "transform" in shown.priors and "rocket" in str(shown)


def test_resume_from_python_keeps_the_finished_trials(searched):
    storage, result, _ = searched
    again = tuner.resume("from_python", storage=str(storage))
    assert again.exit_code == 0
    assert len(again.trials) == 3 and again.best == result.best


def test_board_serves_tensorboard_on_loopback_and_stops(searched):
    storage, result, _ = searched
    board = tuner.board(result, port=6123)
    try:
        assert board.url.startswith("http://127.0.0.1:")
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(board.url, timeout=5) as page:
                    assert page.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "TensorBoard did not answer in 60 s"
                time.sleep(0.5)
        assert "TensorBoard for" in board._repr_html_()
    finally:
        board.stop()
    assert board.process.poll() is not None


def test_submit_from_python_checks_like_the_command_line(tuner_cli):
    with pytest.raises(UserError) as e:
        tuner.submit(ROOT / "experiments" / "digits_mlp.toml", "not-an-address")
    code, _, err = tuner_cli("submit", ROOT / "experiments" / "digits_mlp.toml", "--address",
                             "not-an-address")
    assert code == 2 and err.strip() == f"tuner: error: {e.value}"
    x, y = digits_arrays()
    made = tuner.Experiment("made", data=(x, y), model="cnn")
    with pytest.raises(UserError, match=r"holds data or code made in Python; use "
                                        r"tuner.run\(exp, address='http://127.0.0.1:8265'\)"):
        tuner.submit(made, "http://127.0.0.1:8265")


def test_a_file_experiment_run_by_the_cli_is_read_from_python(ray_session, tuner_cli,
                                                               tmp_path):
    code, _, err = tuner_cli("run", ROOT / "experiments" / "digits_mlp.toml", "--samples", "2",
                             "--epochs", "1", "--name", "from_cli", "--storage",
                             tmp_path / "results")
    assert code == 0, err
    best = tuner.best("from_cli", storage=str(tmp_path / "results"))
    assert best.epochs == 1 and "units_1" in best.config
    assert len(tuner.results("from_cli", storage=str(tmp_path / "results"))) == 2


# ---------------------------------------------------------------------------- bad input


def _cli_message(tuner_cli, tmp_path, toml: str) -> str:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    code, _, err = tuner_cli("run", path, "--dry-run", "--storage", tmp_path / "results")
    assert code == 2
    return err.strip().removeprefix("tuner: error: ").removeprefix(f"{path}: ")


def test_bad_input_is_the_file_forms_message_raised_before_anything_starts(tuner_cli,
                                                                            tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0] * 10, "b": ["x", "y", "z"] * 10,
                          "label": [0, 1, 1] * 10})
    frame.to_csv(tmp_path / "table.csv", index=False)
    with pytest.raises(UserError) as e:
        tuner.Experiment("t", data=frame, target="lable")
    assert str(e.value).startswith("Experiment 't': [data] target: ")
    file_form = _cli_message(tuner_cli, tmp_path, f'[data]\npath = "{tmp_path / "table.csv"}"\n'
                                                   f'target = "lable"\n')
    # the same words, naming the DataFrame where the file form names the file
    assert str(e.value).split("target: ")[1] == \
        file_form.split("target: ")[1].replace(str(tmp_path / "table.csv"), "the DataFrame")

    with pytest.raises(UserError) as e:
        tuner.Experiment("t", data="digits", space={"lr": {"lognormal": [1e-4, 1e-2]}})
    file_form = _cli_message(tuner_cli, tmp_path,
                             '[data]\nsource = "digits"\n[space]\nlr = { lognormal = [1e-4, 1e-2] }\n')
    assert str(e.value).endswith(file_form.split("lr: ", 1)[1])

    x, y = digits_arrays()
    with pytest.raises(UserError, match=r"^Experiment 't': data: X has 1797 rows but y has "
                                        r"1000; they must match one to one$"):
        tuner.Experiment("t", data=(x, y[:1000]))

    def build(config, input_shape):  # n_outputs missing
        return None

    with pytest.raises(UserError, match=r"^Experiment 't': model: build must take \(config, "
                                        r"input_shape, n_outputs\) like the built-in factories, "
                                        r"but its signature is build\(config, input_shape\)$"):
        tuner.Experiment("t", data=(x, y), model=build, space={"width": tuner.IntRange(8, 16)})
    with pytest.raises(UserError, match="space: required with your own model"):
        tuner.Experiment("t", data=(x, y), model=make_model_class())
    with pytest.raises(UserError, match=r"unknown flag \(did you mean 'samples'\?\)"):
        tuner.run(tuner.Experiment("t", data=(x, y)), storage=str(tmp_path), sample=3)
    assert not (tmp_path / "t").exists()  # nothing written


def test_an_interrupt_stops_a_python_search_resumably(tmp_path):
    script = f"""
import numpy as np, tuner
from sklearn.datasets import load_digits
d = load_digits()
exp = tuner.Experiment("stopped", data=(d.data, d.target), model="mlp", metric="accuracy",
                       samples=30, max_epochs=6, scheduler="fifo")
r = tuner.run(exp, storage={str(tmp_path)!r})
print("RESULT", r.interrupted, r.exit_code, len(r.trials), flush=True)
"""
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    records = tmp_path / "stopped" / "trials.json"
    deadline = time.monotonic() + 240
    while True:
        try:
            if sum(r["status"] != "running" for r in json.loads(records.read_text())) >= 2:
                break
        except (OSError, ValueError):
            pass
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert "Traceback" not in out, out
    line = [ln for ln in out.splitlines() if ln.startswith("RESULT")][0].split()
    assert line[1:3] == ["True", "130"] and 2 <= int(line[3]) < 30
    assert "tuner resume" in out


def test_a_worker_that_cannot_import_what_a_notebook_class_uses_says_which_module(tmp_path,
                                                                                  monkeypatch):
    import cloudpickle

    from tuner.user_code import unpickle_python_object

    (tmp_path / "only_here.py").write_text("def build(config, input_shape, n_outputs):\n"
                                           "    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import only_here

    blob = cloudpickle.dumps(only_here.build)  # by reference: the worker must import it
    monkeypatch.delitem(sys.modules, "only_here")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path)])
    with pytest.raises(UserError, match=r"^\[model\] factory: the model or space defined in "
                                        r"your notebook or script uses module 'only_here', which "
                                        r"this Python cannot import; install it here \(on a "
                                        r"cluster: on every node"):
        unpickle_python_object(blob, where="[model] factory")


def test_ray_output_shows_what_the_trials_print_when_asked(tmp_path):
    script = f"""
import sys, tuner
from torch import nn

def loud(config, input_shape, n_outputs):
    print("HELLO FROM THE TRIAL", flush=True)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, config["width"]), nn.ReLU(),
                         nn.Linear(config["width"], n_outputs))

exp = tuner.Experiment("loud", data="digits", model=loud, space={{"width": tuner.Choice([32])}},
                       samples=1, max_epochs=3)
sys.exit(tuner.run(exp, storage={str(tmp_path)!r}, ray_output=True).exit_code)
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "HELLO FROM THE TRIAL" in out.stdout + out.stderr


def test_final_training_follows_the_trials_lr_schedule_to_the_best_epoch(tmp_path):
    """A cosine schedule runs over max_epochs and stops at the best epoch, as the trial's did;
    squeezed into those epochs it would decay early and train the model less."""
    import math

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    exp = tuner.Experiment("cosine", data="digits", model="mlp", max_epochs=10)
    config = {"layers": 1, "units_1": 32, "activation": "relu", "dropout": 0.0,
              "optimizer": "adam", "lr": 0.01, "weight_decay": 1e-5, "batch_size": 128,
              "lr_schedule": "cosine", "warmup_epochs": 0}
    final = tuner.train_final(exp, config=config, epochs=3, out_dir=str(tmp_path / "final"))
    lrs = [e.value for e in EventAccumulator(str(final.folder)).Reload().Scalars("lr")]
    assert lrs == pytest.approx([0.01 * 0.5 * (1 + math.cos(math.pi * k / 10))
                                 for k in range(3)])
