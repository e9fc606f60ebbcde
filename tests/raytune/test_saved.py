"""Ray Tune's saved experiment state: the layout tuner/raytune reads, checked on a real search
(tests/test_end_to_end.py) and, here, the one-line message when a Ray writes another."""

import json

import pytest

from tuner.raytune.saved import check_format


def _state(folder, trial_data, session="2026-01-01_00-00-00"):
    (folder / f"experiment_state-{session}.json").write_text(json.dumps(
        {"trial_data": trial_data}))
    return folder


def test_no_saved_state_says_so_and_what_to_install(tmp_path):
    import ray

    with pytest.raises(RuntimeError) as e:
        check_format(tmp_path)
    assert str(e.value) == (
        f"{tmp_path}: no experiment_state-*.json; Ray {ray.__version__} saves its experiment "
        f"state differently from the Ray versions tuner supports (see pyproject.toml); install "
        f"a supported Ray")


def test_trials_saved_in_another_layout_are_named(tmp_path):
    _state(tmp_path, [{"trial": "trial_001"}])  # a table per trial, not [trial, run metadata]
    with pytest.raises(RuntimeError, match=r"the saved trials do not read as \[trial JSON, run "
                                           r"metadata JSON\] \(KeyError: 0\); Ray .* install "
                                           r"a supported Ray$"):
        check_format(tmp_path)


def test_a_trial_without_the_fields_tuner_reads_is_named(tmp_path):
    from ray import cloudpickle

    manager = {"_type": "CLOUDPICKLE_FALLBACK", "value": cloudpickle.dumps({}).hex()}
    _state(tmp_path, [[json.dumps({"status": "TERMINATED"}),
                       json.dumps({"checkpoint_manager": manager})]])
    with pytest.raises(RuntimeError, match="a saved trial lacks relative_logdir, trial_id; Ray"):
        check_format(tmp_path)
