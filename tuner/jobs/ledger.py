"""<storage>/jobs.json: the jobs `tuner submit` started, and their state asked of the cluster."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tuner.errors import UserError
from tuner.jobs.cluster import connect, short_error

JOBS_FILE = "jobs.json"


def load_jobs(storage: Path) -> list[dict]:
    """The jobs recorded under a storage root (oldest first); [] when there are none."""
    f = Path(storage) / JOBS_FILE
    if not f.exists():
        return []
    try:
        jobs = json.loads(f.read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"{f}: unreadable jobs record ({e}); delete it to start a new one"
                        ) from None
    if not isinstance(jobs, list):
        return []
    return [j for j in jobs if isinstance(j, dict) and isinstance(j.get("job_id"), str)
            and isinstance(j.get("address", ""), str)]


def _save_jobs(storage: Path, jobs: list[dict]) -> None:
    storage = Path(storage)
    storage.mkdir(parents=True, exist_ok=True)
    tmp = storage / (JOBS_FILE + ".tmp")
    tmp.write_text(json.dumps(jobs, indent=1) + "\n")
    os.replace(tmp, storage / JOBS_FILE)


def add_record(storage: Path, record: dict) -> None:
    _save_jobs(storage, [*load_jobs(storage), record])


def update_status(storage: Path, job_id: str, status: str) -> None:
    jobs = load_jobs(storage)
    for j in jobs:
        if j.get("job_id") == job_id:
            j["status"] = status
    _save_jobs(storage, jobs)


def current_states(storage: Path) -> list[tuple[dict, str]]:
    """(record, state now) per recorded job, asking each cluster once; a cluster that does not
    answer gives the last state seen, with why it is not current."""
    jobs = load_jobs(storage)
    clients: dict[str, object] = {}
    shown = []
    for j in jobs:
        url = j.get("address", "")
        if url not in clients:
            try:
                clients[url] = connect(url)
            except UserError as e:
                clients[url] = e
        try:
            if isinstance(clients[url], UserError):
                raise clients[url]
            state = str(clients[url].get_job_status(j["job_id"]).value)
            j["status"] = state
        except Exception as e:  # unreachable, or a job the cluster forgot: say so, go on
            state = f"{j.get('status', '?')} when last seen ({short_error(e, url)})"
        shown.append((j, state))
    if shown:
        _save_jobs(storage, jobs)
    return shown
