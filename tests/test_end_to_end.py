"""The user's loop on a tiny budget: run → files → TensorBoard → best → train → status."""

import json
import math

import pytest

from tests.conftest import EXPERIMENTS
from tuner.store import load_records

STATUSES = {"completed", "stopped early", "diverged", "errored"}


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, ray_session):
    import io
    from contextlib import redirect_stdout

    from tuner.cli import main

    storage = tmp_path_factory.mktemp("results")
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(
            [
                "run",
                str(EXPERIMENTS / "digits_cnn.toml"),
                "--samples",
                "4",
                "--epochs",
                "3",
                "--seed",
                "1",
                "--storage",
                str(storage),
            ]
        )
    return code, buf.getvalue(), storage / "digits_cnn", storage


def test_rays_saved_state_has_the_layout_tuner_reads(tuned):
    # tuner/raytune reads and repairs Ray Tune's experiment state on resume: a Ray release
    # that saves it differently fails here, by name, instead of resuming wrongly
    from tuner.raytune.saved import check_format

    check_format(tuned[2])


def test_run_exits_zero_and_prints_summary(tuned):
    code, out, exp, _ = tuned
    assert code == 0, out
    assert "4 trials" in out and "best   trial_" in out
    assert "tuner best digits_cnn -o best.toml" in out
    # the live summary replaces Ray's log lines
    assert "Trial status" not in out and "INFO" not in out


def test_timing_records_where_the_wall_time_went(tuned):
    import json

    _, _, exp, _ = tuned
    t = json.loads((exp / "timing.json").read_text())
    assert (t["started_at"] <= t["ray_ready_at"] <= t["search_started_at"] <= t["first_result_at"]
            <= t["finished_at"])
    assert t["slots"] >= 1


def test_every_trial_is_recorded_with_status(tuned):
    _, _, exp, _ = tuned
    records = load_records(exp)
    assert [r.trial for r in records] == ["trial_001", "trial_002", "trial_003", "trial_004"]
    for r in records:
        assert r.status in STATUSES
        assert 1 <= r.epochs <= 3
        if r.status == "completed":
            assert r.epochs == 3
        if r.status == "stopped early":
            assert r.epochs < 3
    header = (exp / "trials.csv").read_text().splitlines()[0].split(",")
    assert {"trial", "status", "epochs", "best_accuracy", "config/lr", "config/filters_1"} <= set(
        header
    )


def test_tensorboard_runs_have_readable_curves(tuned):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, _, exp, _ = tuned
    for r in load_records(exp):
        acc = EventAccumulator(str(exp / r.trial)).Reload()
        tags = set(acc.Tags()["scalars"])
        assert {"loss/train", "loss/val", "metrics/accuracy", "metrics/f1", "lr"} <= tags
        steps = [e.step for e in acc.Scalars("metrics/accuracy")]
        assert steps == list(range(1, r.epochs + 1))
        # HParams columns carry the best value over epochs, not the last one
        best = max(e.value for e in acc.Scalars("metrics/accuracy"))
        assert acc.Scalars("best/accuracy")[-1].value == pytest.approx(best)
        assert acc.Scalars("trial/epochs")[-1].value == r.epochs


def test_hparams_view_lists_every_trial_with_status(tuned):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

    _, _, exp, _ = tuned
    root = EventAccumulator(str(exp)).Reload()
    exp_data = plugin_data_pb2.HParamsPluginData.FromString(
        root.PluginTagToContent("hparams")["_hparams_/experiment"]
    )
    columns = {h.name for h in exp_data.experiment.hparam_infos}
    assert {"lr", "optimizer", "conv_blocks", "filters_1", "status"} <= columns
    metrics = {m.name.tag for m in exp_data.experiment.metric_infos}
    assert {"best/accuracy", "best/val_loss", "best/f1", "trial/epochs"} <= metrics

    for r in load_records(exp):
        content = EventAccumulator(str(exp / r.trial)).Reload().PluginTagToContent("hparams")
        start = plugin_data_pb2.HParamsPluginData.FromString(
            content["_hparams_/session_start_info"]
        ).session_start_info
        hp = {k: v for k, v in start.hparams.items()}
        assert hp["status"].string_value == r.status
        assert hp["lr"].number_value == pytest.approx(r.config["lr"])
        assert set(hp) == set(r.config) | {"status"}
        end = plugin_data_pb2.HParamsPluginData.FromString(
            content["_hparams_/session_end_info"]
        ).session_end_info
        want = (
            api_pb2.STATUS_FAILURE
            if r.status in ("diverged", "errored")
            else api_pb2.STATUS_SUCCESS
        )
        assert end.status == want


def test_best_writes_toml_and_json(tuned, tuner_cli, tmp_path):
    import tomllib

    _, _, exp, storage = tuned
    records = load_records(exp)
    top = max(r.best["accuracy"] for r in records)
    code, out, err = tuner_cli(
        "best", "digits_cnn", "--storage", storage, "-o", tmp_path / "b.toml"
    )
    assert code == 0, err
    doc = tomllib.loads((tmp_path / "b.toml").read_text())
    assert doc["value"] == pytest.approx(top) and doc["metric"] == "accuracy"
    assert doc["config"]["lr"] > 0 and 1 <= doc["best_epoch"] <= 3
    code, _, _ = tuner_cli("best", "digits_cnn", "--storage", storage, "-o", tmp_path / "b.json")
    assert json.loads((tmp_path / "b.json").read_text())["trial"] == doc["trial"]
    code, out, _ = tuner_cli("best", "digits_cnn", "--storage", storage)
    assert code == 0 and f'trial = "{doc["trial"]}"' in out


def test_train_from_best_evaluates_once_on_test(tuned, tuner_cli, tmp_path):
    import torch

    _, _, exp, storage = tuned
    tuner_cli("best", "digits_cnn", "--storage", storage, "-o", tmp_path / "best.toml")
    code, out, err = tuner_cli(
        "train",
        EXPERIMENTS / "digits_cnn.toml",
        "--config",
        tmp_path / "best.toml",
        "--storage",
        storage,
    )
    assert code == 0, err
    final = exp / "final"
    metrics = json.loads((final / "metrics.json").read_text())
    assert metrics["test_examples"] == 270 and metrics["train_examples"] == 1527
    assert 0.5 < metrics["test_accuracy"] <= 1 and math.isfinite(metrics["test_f1"])
    assert f"test   accuracy {metrics['test_accuracy']:.4f}" in out
    assert metrics["task"] == "classification"
    state = torch.load(final / "model.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert (final / "config.toml").exists() and any(final.glob("events.out.tfevents.*"))
    # --from gives the same config
    code, out2, _ = tuner_cli(
        "train",
        EXPERIMENTS / "digits_cnn.toml",
        "--from",
        "digits_cnn",
        "--storage",
        storage,
        "--epochs",
        "1",
    )
    assert code == 0 and "1 epoch on train+valid" in out2


def test_status_lists_trials(tuned, tuner_cli):
    _, _, exp, storage = tuned
    code, out, _ = tuner_cli("status", "--storage", storage)
    assert code == 0 and out.startswith("digits_cnn") and "4/4 trials" in out
    code, out, _ = tuner_cli("status", "digits_cnn", "--storage", storage)
    assert out.count("\n  trial_0") == 4


def test_rerun_same_name_refuses_and_changes_nothing(tuned, tuner_cli):
    _, _, exp, storage = tuned
    before = (exp / "trials.json").read_text()
    code, out, err = tuner_cli("run", EXPERIMENTS / "digits_cnn.toml", "--storage", storage)
    assert code == 2
    assert "already exists" in err and "tuner resume digits_cnn" in err and "--overwrite" in err
    assert len(err.strip().splitlines()) == 1
    assert (exp / "trials.json").read_text() == before


def test_same_seed_gives_same_trials(tuned, tmp_path, tuner_cli):
    """Sequential execution (one trial at a time) is reproducible."""
    runs = []
    for i in range(2):
        code, out, err = tuner_cli(
            "run",
            EXPERIMENTS / "digits_mlp.toml",
            "--samples",
            "3",
            "--epochs",
            "2",
            "--max-concurrent",
            "1",
            "--storage",
            tmp_path / f"s{i}",
            "--scheduler",
            "fifo",
        )
        assert code == 0, err
        runs.append([(r.config, r.best) for r in load_records(tmp_path / f"s{i}" / "digits_mlp")])
    assert runs[0] == runs[1]


def test_resume_of_a_finished_experiment_keeps_its_trials(tuned, tuner_cli):
    _, _, exp, storage = tuned
    before = [(r.trial, r.status, r.best) for r in load_records(exp)]
    code, out, err = tuner_cli("resume", "digits_cnn", "--storage", storage)
    assert code == 0, err
    assert "resuming digits_cnn (4/4 trials finished)" in out
    assert [(r.trial, r.status, r.best) for r in load_records(exp)] == before
    assert sorted(p.name for p in exp.glob("trial_*")) == [r[0] for r in before]


def test_resume_unknown_name_lists_experiments(tuned, tuner_cli):
    _, _, _, storage = tuned
    code, _, err = tuner_cli("resume", "digits_cn", "--storage", storage)
    assert code == 2
    assert "no experiment of that name" in err and "did you mean 'digits_cnn'?" in err


def test_time_budget_ends_the_search(ray_session, tmp_path, tuner_cli):
    import json

    code, out, err = tuner_cli("run", EXPERIMENTS / "digits_mlp.toml", "--samples", "500",
                               "--epochs", "2", "--time-budget", "8", "--storage", tmp_path)
    assert code == 0, err + out
    assert "500 trials × ≤2 epochs within 8 s" in out
    records = load_records(tmp_path / "digits_mlp")
    assert 1 <= len(records) < 500
    t = json.loads((tmp_path / "digits_mlp" / "timing.json").read_text())
    assert t["finished_at"] - t["search_started_at"] < 30


def _board(exp, port):
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-m", "tuner", "board", str(exp), "--port",
                             str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _session_groups(url: str) -> list[str]:
    import json
    import urllib.request

    body = json.dumps({"experimentName": "", "allowedStatuses": [
        "STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
        "colParams": [], "startIndex": 0, "sliceSize": 100}).encode()
    req = urllib.request.Request(f"{url}/data/plugin/hparams/session_groups", data=body,
                                 headers={"Content-Type": "application/json",
                                          "X-XSRF-Protected": "1"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return [g["name"] for g in json.loads(r.read())["sessionGroups"]]


def test_tuner_board_lists_every_trial_in_the_hparams_api_and_stops_on_ctrl_c(tuned):
    import signal
    import time
    import urllib.error

    _, _, exp, _ = tuned
    trials = {r.trial for r in load_records(exp)}
    port = _free_port()
    proc = _board(exp, port)
    url = f"http://127.0.0.1:{port}"
    try:
        names: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                names = _session_groups(url)
                if trials <= set(names):
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.5)
        assert trials <= set(names), names
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.startswith(f"TensorBoard for {exp}\n  http://127.0.0.1:{port}/  (Ctrl-C to stop)")
    assert "TensorBoard stopped" in out


# The text of TensorBoard's HParams table, reached through its shadow roots and iframes.
_HPARAMS_TABLE_TEXT = """
function text(n) { let t = ''; if (!n) return t; if (n.shadowRoot) t += text(n.shadowRoot);
  for (const c of n.childNodes || []) t += c.nodeType === 3 ? c.textContent + ' ' : text(c);
  if (n.tagName === 'IFRAME') { try { t += text(n.contentDocument); } catch (e) {} }
  return t; }
const found = [];
function find(n) { if (!n) return; if (n.tagName === 'TF-HPARAMS-TABLE-VIEW') found.push(n);
  if (n.shadowRoot) find(n.shadowRoot); for (const c of n.children || []) find(c);
  if (n.tagName === 'IFRAME') { try { find(n.contentDocument); } catch (e) {} } }
find(document);
return found.map(text).join(' ');
"""


def test_the_hparams_view_shows_the_trial_rows_in_a_browser(tuned, chromium):
    """Headless Chromium opens `tuner board`'s HParams tab and finds a row per trial in its
    table."""
    import time

    _, _, exp, _ = tuned
    trials = {r.trial for r in load_records(exp)}
    port = _free_port()
    proc = _board(exp, port)
    table = ""
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                chromium.get(f"http://127.0.0.1:{port}/#hparams")
            except Exception:  # TensorBoard not listening yet
                time.sleep(1)
                continue
            for _ in range(20):
                table = chromium.execute_script(_HPARAMS_TABLE_TEXT)
                if all(t in table for t in trials):
                    break
                time.sleep(1)
            if all(t in table for t in trials):
                break
    finally:
        proc.terminate()  # SIGTERM stops TensorBoard with it
        out, _ = proc.communicate(timeout=30)
    assert "TensorBoard stopped" in out
    missing = sorted(t for t in trials if t not in table)
    assert not missing, f"the HParams table lacks {missing}"


def test_the_report_page_loads_in_a_browser_with_every_image_and_no_console_error(
        tuned, tuner_cli, chromium, tmp_path):
    _, _, exp, storage = tuned
    code, _, err = tuner_cli("report", exp.name, "--storage", storage, "--out", tmp_path / "rep")
    assert code == 0, err
    chromium.get((tmp_path / "rep" / "report.html").as_uri())
    assert chromium.title == f"tuner report: {exp.name}"
    images = chromium.execute_script(
        "return [...document.images].map(i => [i.alt || i.src.slice(0, 40), i.complete, "
        "i.naturalWidth, i.naturalHeight]);")
    assert len(images) >= 3  # curves, parallel coordinates, importance (+ heatmaps)
    broken = [alt for alt, done, w, h in images if not (done and w > 0 and h > 0)]
    assert not broken, f"images that did not decode: {broken}"
    errors = [e for e in chromium.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
