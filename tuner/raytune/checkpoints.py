"""Trial checkpoints in Ray Tune's storage: which one a trial resumes from, which ones it
deletes, and which one replaces a checkpoint Ray's saved state names but that is gone.

A trial keeps its two newest checkpoints itself (`prune_checkpoints`) instead of Tune's
`num_to_keep`, with which Tune saves its whole experiment state after every checkpoint of every
trial. `successor` builds Ray's private `_TrainingResult`: the one place it is named.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

CHECKPOINT_FILE = "trial.pt"
KEEP_CHECKPOINTS = 2  # the newest a trial keeps (the driver may not have seen the last yet)


def prune_checkpoints(latest, keep: int = KEEP_CHECKPOINTS) -> list[str]:
    """Delete the trial's checkpoints older than its `keep` newest (`latest`: the one just
    reported). Returns the names deleted.

    The trial prunes its own folder rather than have Ray Tune keep one per trial
    (`CheckpointConfig(num_to_keep=1)`): with that setting Tune saves its whole experiment state
    after every checkpoint of every trial, work that grows with the trials so far and made long
    searches of short trials slower at each trial. Tune now saves it on its own period, and
    a resume continues each trial from the newest checkpoint in its folder.
    """
    from pyarrow.fs import FileSelector, FileType

    if latest is None:
        return []
    fs, path = latest.filesystem, latest.path.rstrip("/")
    parent, name = path.rsplit("/", 1) if "/" in path else ("", path)
    try:
        newest = int(name.split("_")[1])
        found = fs.get_file_info(FileSelector(parent or "."))
    except (OSError, ValueError, IndexError):
        return []
    deleted = []
    for info in found:
        base = info.path.rstrip("/").rsplit("/", 1)[-1]
        if info.type != FileType.Directory or not base.startswith("checkpoint_"):
            continue
        try:
            index = int(base.split("_")[1])
        except (ValueError, IndexError):
            continue
        if index <= newest - keep:
            try:
                fs.delete_dir(info.path)
                deleted.append(base)
            except OSError:  # gone already (a second worker of a restored trial): nothing to do
                pass
    return sorted(deleted)


def load_trial_state(checkpoint) -> dict:
    """The training state a trial saved in `checkpoint` (a `ray.tune.Checkpoint`).

    Ray Tune saves its experiment state on a period, and each trial deletes its older
    checkpoints (`prune_checkpoints`): a driver killed in between leaves a state that can name
    a deleted checkpoint. On local storage the trial then continues from the newest
    checkpoint in its folder.
    """
    import torch

    with checkpoint.as_directory() as d:
        path = os.path.join(d, CHECKPOINT_FILE)
        # only where `d` is the checkpoint's own folder: a remote one comes as a temporary copy
        # whose neighbours are not this trial's
        if not os.path.exists(path) and os.path.normpath(d) == os.path.normpath(checkpoint.path):
            newest = sorted(glob.glob(os.path.join(os.path.dirname(os.path.normpath(d)),
                                                   "checkpoint_*", CHECKPOINT_FILE)))
            path = newest[-1] if newest else path
        return torch.load(path, weights_only=True)



def exists(checkpoint) -> bool:
    from pyarrow.fs import FileType

    return checkpoint.filesystem.get_file_info(checkpoint.path).type != FileType.NotFound



def successor(deleted):
    """The `_TrainingResult` of the oldest checkpoint after `deleted` in its trial's folder
    (one report, one checkpoint: its metrics follow from the deleted one's), or None."""
    from pyarrow.fs import FileSelector, FileType
    from ray.train._internal.session import _TrainingResult
    from ray.tune import Checkpoint

    fs, path = deleted.checkpoint.filesystem, Path(deleted.checkpoint.path)
    try:
        index = int(path.name.split("_")[1])
        later = sorted(int(Path(i.path).name.split("_")[1])
                       for i in fs.get_file_info(FileSelector(str(path.parent)))
                       if i.type == FileType.Directory
                       and Path(i.path).name.startswith("checkpoint_")
                       and int(Path(i.path).name.split("_")[1]) > index)
    except (OSError, ValueError, IndexError):
        return None
    if not later:
        return None
    name = f"checkpoint_{later[0]:06d}"
    metrics = dict(deleted.metrics)
    if isinstance(metrics.get("training_iteration"), int):
        metrics["training_iteration"] += later[0] - index
    metrics["checkpoint_dir_name"] = name
    return _TrainingResult(Checkpoint(str(path.parent / name), filesystem=fs), metrics)


