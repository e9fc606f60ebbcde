"""[logging] mlflow: every trial also lands in MLflow, through Ray Tune's own MLflow callback."""

import pytest

from tests.conftest import EXPERIMENTS
from tuner.store import load_records

pytest.importorskip("mlflow", reason="pip install 'tuner[mlflow]'")


def test_each_trial_is_an_mlflow_run_with_its_config_and_metrics(ray_session, tuner_cli,
                                                                  tmp_path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    text = (EXPERIMENTS / "digits_mlp.toml").read_text()
    exp_file = tmp_path / "logged.toml"
    exp_file.write_text(text.replace('name = "digits_mlp"', 'name = "logged"')
                        + f'\n[logging]\nmlflow = "{uri}"\n')
    code, out, err = tuner_cli("run", exp_file, "--samples", "2", "--epochs", "2",
                               "--storage", tmp_path / "results")
    assert code == 0, err + out
    records = {r.trial: r for r in load_records(tmp_path / "results" / "logged")}
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("logged").experiment_id])
    assert sorted(r.info.run_name for r in runs) == sorted(records)
    for run in runs:
        r = records[run.info.run_name]
        assert float(run.data.params["lr"]) == pytest.approx(r.config["lr"])
        history = client.get_metric_history(run.info.run_id, "accuracy")
        assert len(history) == r.epochs
        assert max(m.value for m in history) == pytest.approx(r.best["accuracy"])


def test_an_empty_mlflow_uri_is_one_clear_line(tuner_cli, tmp_path):
    exp_file = tmp_path / "bad.toml"
    exp_file.write_text((EXPERIMENTS / "digits_mlp.toml").read_text()
                        + '\n[logging]\nmlflow = ""\n')
    code, out, err = tuner_cli("run", exp_file, "--storage", tmp_path / "r")
    assert code == 2 and out == ""
    assert err == (f'tuner: error: {exp_file}: [logging] mlflow: give a tracking URI such as '
                   f'"sqlite:///mlflow.db" or a server\'s http://HOST:5000, or drop [logging]\n')
