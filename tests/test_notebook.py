"""The example notebook runs headless, top to bottom, with a tiny budget: it never rots."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "tune_in_a_notebook.ipynb"


def test_the_example_notebook_runs_and_reads_as_one_display(tmp_path, monkeypatch, tuner_cli):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    # the kernel inherits these: a tiny budget, results under tmp_path
    monkeypatch.setenv("TUNER_EXAMPLE_SAMPLES", "2")
    monkeypatch.setenv("TUNER_EXAMPLE_EPOCHS", "2")
    monkeypatch.setenv("TUNER_STORAGE", str(tmp_path / "results"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()

    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # Ray's and the libraries' own output stays out of the cells
    assert [o.text for o in outputs if o.get("name") == "stderr"] == []

    search = next(c for c in code if "tuner.run(" in c.source)
    shown = [o for o in search.outputs if o.output_type == "display_data"]
    assert len(shown) == 1  # one display, updated in place: the trial endings and status line
    text = shown[0].data["text/plain"]
    assert "trial_001" in text and "trial_002" in text and "2/2 trials" in text
    printed = "".join(o.text for o in search.outputs if o.output_type == "stream")
    assert "tuner: digits_notebook" in printed and "done in" in printed
    assert "trial_001 completed" not in printed  # endings are in the display, not the stream
    assert "name='trial_00" in search.outputs[-1].data["text/plain"]  # result.best

    final = next(c for c in code if "tuner.train_final(" in c.source)
    assert "'accuracy':" in final.outputs[-1].data["text/plain"]
    exp = tmp_path / "results" / "digits_notebook"
    assert (exp / "final" / "model.pt").exists() and (exp / "report" / "report.html").exists()
    status, out, _ = tuner_cli("status", "digits_notebook", "--storage", tmp_path / "results")
    assert status == 0 and "2/2 trials" in out
