"""An experiment folder read as one value: its saved experiment, its trials, their counts and
the best one; and the best trial's document (what best.toml holds). `tuner status`, `tuner best`
and their Python twins read these."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tuner.errors import UserError
from tuner.store.best import best_document, best_record
from tuner.store.records import TrialRecord, load_records
from tuner.store.storage import find_experiment, storage_root

SAVED = "experiment.json"


@dataclass(frozen=True)
class Summary:
    """One experiment as it stands on disk."""

    folder: Path
    spec: object  # the saved ExperimentSpec
    records: list
    best: TrialRecord | None

    @property
    def counts(self) -> dict:
        from tuner.tracking.progress import counts

        return counts(self.records)


def summarize(exp_dir: Path) -> Summary:
    """The Summary of an experiment folder."""
    from tuner.experiment import load_saved

    spec = load_saved(exp_dir)
    records = load_records(exp_dir)
    return Summary(Path(exp_dir), spec, records,
                   best_record(records, spec.search.metric, spec.search.mode))


def experiments(storage) -> tuple[Path, list[Path]]:
    """(the storage root, its experiment folders in name order); in a URI's storage, their
    mirrors, brought up to date at their top level."""
    from tuner.store.storage import remote_storage

    remote = remote_storage(storage)
    if remote is not None:
        return remote.mirror(), [remote.pull(n, deep=False) for n in remote.experiments()]
    root = storage_root(storage)
    found = sorted(d for d in root.glob("*") if (d / SAVED).exists()) if root.is_dir() else []
    return root, found


def best_of(name: str, storage: str | None) -> tuple[Summary, dict]:
    """(the experiment's Summary, the best trial's document), or a UserError before any
    trial has reported."""
    summary = summarize(find_experiment(name, storage))
    if summary.best is None:
        raise UserError(
            f"{name}: no trial has reported a result yet ({len(summary.records)} trials); "
            f"check `tuner status {name}`"
        )
    s = summary.spec
    return summary, best_document(s.name, summary.best, s.search.metric, s.search.mode)
