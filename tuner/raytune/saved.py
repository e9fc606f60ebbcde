"""Ray Tune's on-disk formats, read and written in one place: the experiment state
(`experiment_state-S.json`), the search generator (`search_gen_state-S.json`, a cloudpickle)
and the searcher (`searcher-state-S.pkl`), where S is the driver session's timestamp.

These are Ray's private formats, not an API: `check_format` says in one line when the Ray
installed writes something else than what this code reads (tests/raytune runs it on a real
search), so an upgrade that changes them fails loudly instead of resuming wrongly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

UNREADABLE = (OSError, ValueError, KeyError, IndexError, TypeError)
ENDED = ("TERMINATED", "ERROR")  # Ray's status of a trial that will not run again

# Ray Tune's experiment-level state, one set per driver session (S: the session's timestamp):
# the trials, the search generator (how many trials it made) and the searcher itself
STATE_FILES = ("experiment_state-{}.json", "search_gen_state-{}.json", "searcher-state-{}.pkl")
BACKUP = ".tuner-ray-state"  # tuner's copy of the newest complete set, in the experiment folder


def saved_state(exp_dir: Path) -> tuple[Path, dict, list[dict]] | None:
    """(file, state, trials) of Tune's newest saved state (the one `Tuner.restore` reads:
    newest by the timestamp in its name); trials[i] is the parsed `trial_data[i][0]`."""
    session = newest_session(exp_dir)
    if session is None:
        return None
    state_file = Path(exp_dir) / STATE_FILES[0].format(session)
    try:
        state = json.loads(state_file.read_text())
        trials = [json.loads(entry[0]) for entry in state["trial_data"]]
    except UNREADABLE:
        return None
    if not all(isinstance(t, dict) and "relative_logdir" in t and "status" in t for t in trials):
        return None
    return state_file, state, trials



def newest_session(exp_dir: Path) -> str | None:
    """The newest driver session whose state Tune saved (the one `Tuner.restore` reads:
    newest by the timestamp in its name)."""
    states = sorted(Path(exp_dir).glob("experiment_state-*.json"))
    return states[-1].name[len("experiment_state-"):-len(".json")] if states else None



def complete(folder: Path, session: str) -> bool:
    """Whether the state set of `session` in `folder` reads back whole and agrees with itself
    (the search generator made as many trials as the state lists)."""
    from ray import cloudpickle

    try:
        trials = json.loads((folder / STATE_FILES[0].format(session)).read_text())["trial_data"]
        with open(folder / STATE_FILES[1].format(session), "rb") as f:
            generator = cloudpickle.load(f)
        searcher = folder / STATE_FILES[2].format(session)
        return generator["counter"] == len(trials) and searcher.stat().st_size > 0
    except Exception:  # noqa: BLE001 (cut short, missing, another layout: not complete)
        return False



def load_generator(exp_dir: Path) -> tuple[Path, dict] | None:
    """(file, state) of the newest saved search generator (Tune's cloudpickle), or None when
    it does not read back as a table."""
    from ray import cloudpickle

    path = Path(exp_dir) / STATE_FILES[1].format(newest_session(exp_dir))
    try:
        with open(path, "rb") as f:
            generator = cloudpickle.load(f)
    except Exception:  # noqa: BLE001 (missing, cut short, another layout)
        return None
    return (path, generator) if isinstance(generator, dict) else None



def dump_generator(path: Path, generator: dict) -> None:
    from ray import cloudpickle

    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        cloudpickle.dump(generator, f)
    os.replace(tmp, path)



def unpickle(blob):
    """An object Ray Tune stored in its state as a cloudpickle fallback (trusted: ours)."""
    from ray import cloudpickle

    if not (isinstance(blob, dict) and blob.get("_type") == "CLOUDPICKLE_FALLBACK"):
        raise ValueError("not a pickled object")
    return cloudpickle.loads(bytes.fromhex(blob["value"]))



def pickle_object(obj) -> dict:
    from ray import cloudpickle

    return {"_type": "CLOUDPICKLE_FALLBACK", "value": cloudpickle.dumps(obj).hex()}



def write_json(state_file: Path, state: dict | list) -> None:
    """`state` as JSON in `state_file`, replaced atomically."""
    tmp = state_file.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, state_file)




def check_format(exp_dir: Path) -> None:
    """Raise RuntimeError, naming what differs, unless the newest state set in `exp_dir` has
    the layout this package reads: `trial_data` entries of (trial JSON with relative_logdir,
    status and trial_id; run metadata JSON with a pickled checkpoint_manager), a search
    generator with counter and total_samples, and a searcher file."""
    import ray

    fix = (f"Ray {ray.__version__} saves its experiment state differently from the Ray versions "
           f"tuner supports (see pyproject.toml); install a supported Ray")
    session = newest_session(exp_dir)
    if session is None:
        raise RuntimeError(f"{exp_dir}: no experiment_state-*.json; {fix}")
    try:
        entry = json.loads((Path(exp_dir) / STATE_FILES[0].format(session)).read_text())[
            "trial_data"][0]
        trial, meta = json.loads(entry[0]), json.loads(entry[1])
        missing = [k for k in ("relative_logdir", "status", "trial_id") if k not in trial]
        unpickle(meta["checkpoint_manager"])
    except (*UNREADABLE, AttributeError) as e:
        raise RuntimeError(f"{exp_dir}: the saved trials do not read as "
                           f"[trial JSON, run metadata JSON] ({type(e).__name__}: {e}); "
                           f"{fix}") from None
    if missing:
        raise RuntimeError(f"{exp_dir}: a saved trial lacks {', '.join(missing)}; {fix}")
    loaded = load_generator(exp_dir)
    if loaded is None or not {"counter", "total_samples"} <= set(loaded[1]):
        raise RuntimeError(f"{exp_dir}: the saved search generator holds no counter and "
                           f"total_samples; {fix}")
    if not (Path(exp_dir) / STATE_FILES[2].format(session)).is_file():
        raise RuntimeError(f"{exp_dir}: no {STATE_FILES[2].format(session)}; {fix}")
