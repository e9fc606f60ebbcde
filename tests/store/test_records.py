"""TrialRecord: best values over epochs, the epoch they came from, and how a trial ended."""

import math

from tuner.store import TrialRecord


def feed(rows, metric="accuracy"):
    r = TrialRecord("trial_001", "abc", {})
    for i, row in enumerate(rows, 1):
        r.update({"epoch": i, **row}, metric)
    return r


def test_best_is_the_best_epoch_not_the_last():
    r = feed([{"accuracy": 0.5, "val_loss": 1.0}, {"accuracy": 0.9, "val_loss": 0.4},
              {"accuracy": 0.8, "val_loss": 0.6}])
    assert r.best["accuracy"] == 0.9 and r.best_epoch["accuracy"] == 2
    assert r.at_best == {"accuracy": 0.9, "val_loss": 0.4}
    assert r.last["accuracy"] == 0.8 and r.best["val_loss"] == 0.4


def test_a_tie_on_the_metric_goes_to_the_lower_validation_loss():
    r = feed([{"accuracy": 1.0, "val_loss": 0.30}, {"accuracy": 1.0, "val_loss": 0.10},
              {"accuracy": 1.0, "val_loss": 0.20}])
    assert r.best_epoch["accuracy"] == 2 and r.at_best["val_loss"] == 0.10


def test_status_after_finish_and_divergence():
    r = feed([{"accuracy": 0.5, "val_loss": 1.0}])
    r.finish(max_epochs=3)
    assert r.status == "stopped early"
    r = feed([{"accuracy": 0.5, "val_loss": 1.0}] * 3)
    r.finish(max_epochs=3)
    assert r.status == "completed"
    r = feed([{"accuracy": 0.0, "val_loss": math.inf, "diverged": 1, "reason": "loss nan"}])
    r.finish(max_epochs=3)
    assert r.status == "diverged" and r.reason == "loss nan"
    assert math.isnan(r.value("accuracy")) is False and r.value("val_loss") != r.value("val_loss")


def test_a_trial_that_converged_before_its_last_epoch_completed():
    # ROCKET's ridge head is solved at once: its trial reports one epoch, then ends itself
    r = feed([{"accuracy": 0.9, "val_loss": 0.3, "converged": 1}])
    r.finish(max_epochs=30)
    assert (r.status, r.epochs, r.converged) == ("completed", 1, True)
    stopped = feed([{"accuracy": 0.9, "val_loss": 0.3}])
    stopped.finish(max_epochs=30)
    assert stopped.status == "stopped early"
