"""Trial names: trial_001, trial_002, ... instead of Ray's own, kept across resumes."""

from __future__ import annotations

import shutil
from pathlib import Path


class TrialNamer:
    """trial_001, trial_002, ... in creation order; on resume, new trials take the lowest free
    numbers (those of trials removed because they had started after Ray Tune's last saved
    state), so the experiment's names stay trial_001 to trial_N.

    Ray copies the creator for every trial, so the names live at module level, keyed by the
    experiment folder, rather than on the instance.
    """

    _names: dict[str, dict[str, str]] = {}

    def __init__(self, exp_dir: Path):
        self.key = str(exp_dir)

    def __call__(self, trial) -> str:
        if self.key not in TrialNamer._names:  # first call in this process (run or resume)
            from tuner.raytune.reconcile import saved_trials

            # the folders here, and the trials Ray's saved state will restore: in a URI's
            # storage a trial has no folder in the local copy before its first result
            existing = sorted({p.name for p in Path(self.key).glob("trial_*") if p.is_dir()}
                              | saved_trials(Path(self.key)))
            TrialNamer._names[self.key] = {f"existing-{i}": n for i, n in enumerate(existing)}
        names = TrialNamer._names[self.key]
        if trial.trial_id not in names:
            taken = set(names.values())
            number = next(i for i in range(1, len(names) + 2) if f"trial_{i:03d}" not in taken)
            names[trial.trial_id] = name = f"trial_{number:03d}"
            # a freed name's driver-side folder, left by an earlier driver on the same Ray
            # session (a cluster, a notebook), would make Ray add a suffix to the new trial's
            staging = getattr(getattr(trial, "storage", None), "experiment_driver_staging_path",
                              None)
            if staging and Path(staging).resolve() != Path(self.key).resolve():
                shutil.rmtree(Path(staging) / name, ignore_errors=True)
        return names[trial.trial_id]
