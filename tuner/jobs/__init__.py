"""Ray Jobs: `tuner submit` runs an experiment on a cluster through its Jobs API.

    tuner submit experiments/digits_cnn.toml --address http://HEAD:8265 --follow

The job's working_dir holds what the run needs from this machine, laid out as it is below the
current directory (the experiment file, the search-space modules, the data files it names), so
the file's relative paths resolve on the cluster as they do here; its entrypoint is
`python -m tuner run FILE --address auto --storage PATH ...`. Each submission is recorded in
<storage>/jobs.json, which `tuner status` reads to list the jobs with their state on the cluster.

Token authentication (Ray 2.60 turns it on for the Jobs API): the token comes from, in Ray's
order, the RAY_AUTH_TOKEN variable, the file RAY_AUTH_TOKEN_PATH names, or ~/.ray/auth_token
(where `ray get-auth-token --generate` writes it); `ray get-auth-token` on the head prints it.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from tuner.errors import UserError
from tuner.jobs.cluster import (
    TOKEN_FIX,
    auth_headers,
    check_address,
    cluster_error,
    connect,
    find_token,
    jobs_api,
    sends_token,
)
from tuner.jobs.ledger import JOBS_FILE, add_record, current_states, load_jobs, update_status
from tuner.jobs.package import entrypoint, job_files, stage

__all__ = ["JOBS_FILE", "TOKEN_FIX", "check_address", "cluster_error", "connect",
           "current_states", "find_token", "follow", "job_files", "load_jobs", "sends_token",
           "submit"]


FINAL = ("SUCCEEDED", "FAILED", "STOPPED")


def submit(spec, address: str, storage: Path, flags: list[str], out=None,
           shown: str | None = None) -> tuple[object, str]:
    """Ship and start the experiment as a Ray Job; returns (client, job id) and records it.
    `storage`: the local storage root (a URI's mirror) where the job is recorded; `shown`:
    the storage the job writes to, when it is not that folder (a URI, passed unchanged)."""
    out = out or sys.stdout
    files, exp_rel, notes = job_files(spec)
    client = connect(address)
    url = check_address(address)
    shown = shown or str(storage)
    command = entrypoint(exp_rel, shown, flags)
    with tempfile.TemporaryDirectory(prefix="tuner-job-") as tmp:
        size = stage(files, Path(tmp))
        with jobs_api(url, auth_headers()[1]):
            try:
                job_id = client.submit_job(
                    entrypoint=command,
                    runtime_env={"working_dir": tmp},
                    metadata={"tuner_experiment": spec.name},
                )
            except (RuntimeError, ValueError) as e:
                first = " ".join(str(e).split())[:300]
                raise UserError(f"--address {url}: the cluster refused the job ({first})"
                                ) from None
    try:
        add_record(storage, {
            "job_id": job_id, "experiment": spec.name, "file": spec.path, "address": url,
            "storage": shown, "entrypoint": command,
            "submitted": datetime.now().isoformat(timespec="seconds"), "status": "PENDING",
        })
    except (OSError, UserError) as e:  # the job runs all the same; say where to look instead
        notes.append(f"not recorded in {storage / JOBS_FILE} ({e}), so `tuner status` will not "
                     f"list it; `ray job status {job_id} --address {url}` shows it")
    for note in notes:
        print(f"  note   {note}", file=out)
    print(f"submitted {job_id} to {url}: {spec.name}, {len(files)} files "
          f"({size / 1024:.0f} KiB) in its working_dir", file=out)
    print(f"  run    {command}", file=out)
    print(f"  output {shown.rstrip('/')}/{spec.name}", file=out)
    out.flush()
    return client, job_id


def follow(client, job_id: str, storage: Path, out=None) -> int:
    """Stream the job's logs until it ends; 0 when it succeeded, 1 when it failed or stopped."""
    import asyncio

    import aiohttp

    out = out or sys.stdout
    url = client.get_address().rstrip("/")

    async def tail():
        async for chunk in client.tail_job_logs(job_id):
            out.write(chunk)
            out.flush()

    try:
        with jobs_api(url, auth_headers()[1]):
            try:
                asyncio.run(tail())
            except (RuntimeError, OSError, aiohttp.ClientError):
                # the log stream broke off: the job goes on, and its status below still tells
                print(f"\n(lost the log stream of {job_id}; waiting for it to end)", file=out)
            status = _wait_final(client, job_id)
            message = (client.get_job_info(job_id).message or "").strip()
    except KeyboardInterrupt:
        mode = "RAY_AUTH_MODE=token " if sends_token() else ""
        print(f"\nstopped following {job_id}; it keeps running on the cluster: `tuner status "
              f"--jobs` shows it, `{mode}ray job stop {job_id} --address {url}` stops it",
              file=out)
        return 130
    try:
        update_status(storage, job_id, status)
    except (OSError, UserError):  # not recorded (said at submission): nothing to update
        pass
    why = f": {message.splitlines()[0][:200]}" if status != "SUCCEEDED" and message else ""
    print(f"\njob {job_id} {status.lower()}{why}", file=out)
    return 0 if status == "SUCCEEDED" else 1


def _wait_final(client, job_id: str) -> str:
    while True:
        status = str(client.get_job_status(job_id).value)
        if status in FINAL:
            return status
        time.sleep(1)


# ---------------------------------------------------------------- the jobs ledger
