"""tuner's records and Ray Tune's saved state, made to agree before and after a stop.

**Which ledger wins.** A trial that has ended in tuner's records (trials.json, written as each
trial ends) has ended: its record wins over Ray's saved state, which Tune writes on a period and
which can still list it as running. For a trial that has not ended in tuner's records, Ray's
saved state wins: it decides what `Tuner.restore` continues, so a record of a trial Ray never
saved is dropped and the trial runs again, and after Ctrl-C the records of the trials Ray saved
as unfinished go back to running. `reconcile` applies this rule before a resume and
`reopen_interrupted_trials` after Ctrl-C; an unreadable state changes nothing.

Ray's files are read and written through `tuner.raytune.saved`.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from tuner.raytune.checkpoints import exists, successor
from tuner.raytune.saved import (
    BACKUP,
    ENDED,
    STATE_FILES,
    UNREADABLE,
    complete,
    dump_generator,
    load_generator,
    newest_session,
    pickle_object,
    saved_state,
    unpickle,
    write_json,
)
from tuner.store import load_records, save_records
from tuner.vocabulary import Status


def back_up_state(exp_dir: Path, seen: dict) -> None:
    """Keep a copy of Ray Tune's newest complete state set beside it (called as the search
    runs; `seen` remembers what was copied). A driver killed while Tune copies its state to
    the experiment folder leaves files cut short there, and Tune then resumed with its
    searcher's count lost and the earlier trials dropped; `restore_damaged_state` puts this
    copy back."""
    import time

    if time.monotonic() < seen.get("next_look", 0.0):  # a look a second, at most
        return
    seen["next_look"] = time.monotonic() + 1.0
    session = newest_session(exp_dir)
    if session is None:
        return
    try:
        stamp = (exp_dir / STATE_FILES[0].format(session)).stat().st_mtime_ns
    except OSError:
        return
    if seen.get(session) == stamp or not complete(exp_dir, session):
        return
    backup = exp_dir / BACKUP
    backup.mkdir(exist_ok=True)
    for old in backup.iterdir():
        if session not in old.name:
            old.unlink()
    for name in STATE_FILES:
        tmp = backup / (name.format(session) + ".tmp")
        shutil.copyfile(exp_dir / name.format(session), tmp)
        os.replace(tmp, backup / name.format(session))
    seen[session] = stamp


def restore_damaged_state(exp_dir: Path) -> bool:
    """Before a resume: when the newest state set is cut short and tuner's copy of it is
    whole, put the copy back. True when it did."""
    session = newest_session(exp_dir)
    backup = Path(exp_dir) / BACKUP
    if session is None or complete(exp_dir, session) or not complete(backup, session):
        return False
    for name in STATE_FILES:
        shutil.copyfile(backup / name.format(session), Path(exp_dir) / name.format(session))
    return True


KEPT = ".tuner-kept-trials.json"  # finished trials Ray Tune's saved state never listed


def _kept(exp_dir: Path) -> list[str]:
    try:
        names = json.loads((Path(exp_dir) / KEPT).read_text())
    except (OSError, ValueError):
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def keep_unsaved_finished_trials(exp_dir: Path) -> list[str]:
    """Keep the trials that started and finished after Ray Tune last saved the experiment.

    Tune saves its state on a period (at least 10 s apart, so that saving stays under 5 % of
    the search), not at each trial: a driver killed between two saves leaves finished trials
    the state does not list. tuner's records and TensorBoard runs hold them whole, so they are
    kept as they ended and Tune makes as many fewer new trials (the saved search generator's
    total is lowered), and the experiment still ends with the number of trials asked for.
    Their names are remembered beside the state, for later resumes. Returns the names kept.
    """
    saved = saved_state(exp_dir)
    if saved is None:
        return []
    kept = _kept(exp_dir)
    known = saved_trials(exp_dir, saved)
    new = sorted(r.trial for r in load_records(exp_dir)
                 if r.status.ended and r.trial not in known and (exp_dir / r.trial).is_dir())
    if not new or not _lower_total(exp_dir, len(new)):
        return []
    write_json(exp_dir / KEPT, kept + new)
    return new


def _lower_total(exp_dir: Path, n: int) -> bool:
    """Lower the number of trials the saved search generator will make by n."""
    loaded = load_generator(exp_dir)
    if loaded is None:  # unreadable: change nothing, the trials run again
        return False
    path, generator = loaded
    try:
        generator["total_samples"] = max(int(generator["counter"]),
                                         int(generator["total_samples"]) - n)
    except (KeyError, TypeError, ValueError):
        return False
    dump_generator(path, generator)
    return True


def drop_unsaved_trials(exp_dir: Path) -> list[str]:
    """Remove the folders and records of unfinished trials that started after Ray Tune's last
    saved state (finished ones are kept first: `keep_unsaved_finished_trials`).

    A driver killed mid-search leaves them behind; Tune does not know them and starts their
    work again as new trials, so keeping them would show each twice in TensorBoard and in
    the records. Returns the names removed.
    """
    saved = saved_state(exp_dir)
    if saved is None:
        return []
    known = saved_trials(exp_dir, saved)
    # by folder, and by record: in a URI's storage a trial has no folder in the local copy
    # until its first result is drawn
    orphans = sorted({p.name for p in exp_dir.glob("trial_*")
                      if p.is_dir() and p.name not in known}
                     | {r.trial for r in load_records(exp_dir)
                        if not r.status.ended and r.trial not in known})
    for name in orphans:
        shutil.rmtree(exp_dir / name, ignore_errors=True)
    if orphans:
        save_records(exp_dir, [r for r in load_records(exp_dir) if r.trial not in orphans])
    return orphans


def saved_trials(exp_dir: Path, saved=None) -> set[str]:
    """The names of the trials Ray Tune's saved state lists, and of those kept beside it."""
    saved = saved or saved_state(exp_dir)
    return ({t["relative_logdir"] for t in saved[2]} if saved else set()) | set(_kept(exp_dir))


def repoint_deleted_checkpoints(exp_dir: Path) -> list[tuple[str, str, str]]:
    """Point each unfinished trial of Ray Tune's saved state at a checkpoint that exists.

    Tune deletes a trial's previous checkpoint as it registers the next one and saves the
    experiment state only afterwards, so a driver killed in between leaves a state naming a
    deleted checkpoint, and `Tuner.restore` then fails that trial ("Could not recover from
    checkpoint as it does not exist on storage anymore") before it runs a line of ours. Such
    a trial continues instead from the checkpoint Tune registered in its place: the oldest
    one in its folder after the deleted one (a newer one may be there too, written by the
    worker before the driver saw its result, which TensorBoard and the records would then
    miss). Epochs after it are trained again and drawn once (the run's purge step), none is
    skipped. With no checkpoint left to continue from, the trial starts again.
    Returns (trial, named checkpoint, checkpoint now used or "the start") per trial changed.
    """
    saved = saved_state(exp_dir)
    if saved is None:
        return []
    state_file, state, trials = saved
    changed = []
    for entry, trial in zip(state["trial_data"], trials, strict=True):
        if trial["status"] in ENDED:
            continue
        try:
            meta = json.loads(entry[1])
            manager = unpickle(meta["checkpoint_manager"])
        except UNREADABLE:
            continue
        latest = getattr(manager, "_latest_checkpoint_result", None)
        if latest is None or latest.checkpoint is None or exists(latest.checkpoint):
            continue
        found = successor(latest)
        # the manager forgets the deleted one; keeping `found` in its list would make Tune
        # delete that folder, which its next checkpoint reuses, once that one registers
        manager._latest_checkpoint_result, manager._checkpoint_results = found, []
        meta["checkpoint_manager"] = pickle_object(manager)
        entry[1] = json.dumps(meta, indent=2)
        changed.append((trial["relative_logdir"], Path(latest.checkpoint.path).name,
                        Path(found.checkpoint.path).name if found else "the start"))
    if changed:
        write_json(state_file, state)
    return changed


def reopen_interrupted_trials(exp_dir: Path) -> None:
    """After Ctrl-C: records of the trials Ray Tune saved as unfinished go back to "running".

    Tune ends the trials it interrupts as terminated in memory (so the callbacks see them
    finish) but saves them as running, to continue them on restore; the records follow the
    saved state, which is what `tuner resume` will do.
    """
    saved = saved_state(exp_dir)
    if saved is None:
        return
    status = {t["relative_logdir"]: t["status"] for t in saved[2]}
    records = load_records(exp_dir)
    for r in records:
        if status.get(r.trial) not in (None, *ENDED) and r.status != Status.DIVERGED:
            r.status, r.reason = Status.RUNNING, ""
    save_records(exp_dir, records)


def mark_finished_trials(exp_dir: Path) -> list[str]:
    """Tell Ray Tune's saved state about trials that finished after it was last saved.

    Tune saves its state on a period, not when a trial ends, so a driver killed in
    between leaves a finished trial (a stopped-early one included) marked running there, and
    `Tuner.restore` would train it further. tuner's records are written as each trial ends:
    they say which trials are done. Returns the names changed in the state file.
    """
    saved = saved_state(exp_dir)
    if saved is None:
        return []
    state_file, state, trials = saved
    done = {r.trial: r.status.ray_status for r in load_records(exp_dir) if r.status.ended}
    changed = []
    for entry, trial in zip(state["trial_data"], trials, strict=True):
        want = done.get(trial["relative_logdir"])
        if want and trial["status"] not in ENDED:
            trial["status"] = want
            entry[0] = json.dumps(trial, indent=2)
            changed.append(trial["relative_logdir"])
    if changed:
        write_json(state_file, state)
    return sorted(changed)


def free_ended_trials(exp_dir: Path) -> bool:
    """Take the trials the saved state lists as ended out of the concurrency limiter's live set.

    Ray Tune's limiter (`max_concurrent_trials`) counts a trial live from its suggestion to its
    completion; a trial that finished after the last save (marked ended above) never
    completes again on restore, so the restored limiter would count it live for ever and,
    with all its slots so taken, suggest nothing more: the resumed search waited without end.
    True when the saved generator changed.
    """
    saved, loaded = saved_state(exp_dir), load_generator(exp_dir)
    if saved is None or loaded is None:  # unreadable: change nothing
        return False
    unfinished = {t.get("trial_id") for t in saved[2] if t["status"] not in ENDED}
    path, generator = loaded
    limiter = generator.get("name:ConcurrencyLimiter")
    if not isinstance(limiter, dict) or not isinstance(limiter.get("live_trials"), set):
        return False
    live = limiter["live_trials"] & unfinished
    if live == limiter["live_trials"]:
        return False
    limiter["live_trials"], limiter["num_unfinished_live_trials"] = live, len(live)
    dump_generator(path, generator)
    return True


def reconcile(exp_dir: Path, out) -> None:
    """Before `tuner resume` restores Ray Tune's saved state: make it whole, and make it and
    tuner's records agree (each function above), saying what changed."""
    if restore_damaged_state(exp_dir):
        print("  Ray Tune's saved state was cut short when the driver stopped: resuming from "
              "tuner's copy of its last complete state", file=out)
    kept = keep_unsaved_finished_trials(exp_dir)
    if kept:
        print(f"  {', '.join(kept)} started and finished after Ray Tune last saved the "
              f"experiment: kept as they ended, and as many fewer new trials run", file=out)
    for name in drop_unsaved_trials(exp_dir):
        print(f"  {name} started after Ray Tune last saved the experiment: it runs again "
              f"as a new trial", file=out)
    finished = mark_finished_trials(exp_dir)
    if finished:
        print(f"  {', '.join(finished)} had finished after Ray Tune last saved the experiment: "
              f"kept as they ended", file=out)
    free_ended_trials(exp_dir)
    for name, named, used in repoint_deleted_checkpoints(exp_dir):
        print(f"  {name}: Ray Tune's saved state names {named}, deleted since; it continues "
              f"from {used}", file=out)
