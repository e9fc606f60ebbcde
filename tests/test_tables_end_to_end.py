"""A table as a user has it (a CSV with a text category and gaps) tuned with boosted trees:
each trial boosts epoch after epoch, the best config trains and loads again.

.venv/bin/python -m pytest tests/test_tables_end_to_end.py -q
"""

from __future__ import annotations

import json

import numpy as np


def write_table(path) -> None:
    g = np.random.default_rng(0)
    n = 300
    size = g.normal(50, 10, n)
    size[g.random(n) < 0.05] = np.nan  # gaps, filled from the training rows
    island = g.choice(["Biscoe", "Dream", "Torgersen"], n)
    label = np.where((np.nan_to_num(size, nan=50) > 52) | (island == "Dream"), "big", "small")
    rows = ["size,island,noise,label"] + [
        f"{'' if np.isnan(s) else round(s, 2)},{i},{g.normal():.3f},{lab}"
        for s, i, lab in zip(size, island, label, strict=True)]
    path.write_text("\n".join(rows) + "\n")


def test_a_table_tuned_with_trees_boosts_by_epochs_and_its_best_model_loads(
        tmp_path, tuner_cli, ray_session):
    import torch

    write_table(tmp_path / "islands.csv")
    (tmp_path / "islands.toml").write_text(
        f'[data]\npath = "{tmp_path / "islands.csv"}"\ntarget = "label"\n\n'
        '[model]\nfactory = "trees"\n\n[search]\nmetric = "accuracy"\nsamples = 2\n'
        'max_epochs = 3\nseed = 0\n')
    code, out, err = tuner_cli("run", tmp_path / "islands.toml", "--storage", tmp_path / "r")
    assert code == 0, err
    exp = tmp_path / "r" / "islands"
    trials = json.loads((exp / "trials.json").read_text())
    epochs = [t["epochs"] for t in trials]  # no closed form: rounds, epoch by epoch
    assert max(epochs) == 3 and min(epochs) >= 2, epochs  # (ASHA may stop one at its rung)
    code, out, err = tuner_cli("best", exp, "-o", tmp_path / "best.toml")
    assert code == 0, err
    code, out, err = tuner_cli("train", tmp_path / "islands.toml", "--config",
                               tmp_path / "best.toml", "--out", tmp_path / "final")
    assert code == 0, err
    saved = json.loads((tmp_path / "final" / "metrics.json").read_text())
    assert saved["test_accuracy"] > 0.85
    state = torch.load(tmp_path / "final" / "model.pt", weights_only=True)
    assert state["_extra_state"]["done"] == 20 * saved.get("epochs", 3)
