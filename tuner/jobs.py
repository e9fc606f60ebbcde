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

import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from tuner.errors import UserError

JOBS_FILE = "jobs.json"
DEFAULT_TOKEN_FILE = Path("~/.ray/auth_token")
# seconds to wait for the Jobs API to answer before calling it unreachable
PROBE_TIMEOUT_S = 10
FINAL = ("SUCCEEDED", "FAILED", "STOPPED")
TOKEN_FIX = ("put the head's token (`ray get-auth-token` on the head prints it) in RAY_AUTH_TOKEN "
             "or in ~/.ray/auth_token")


# ---------------------------------------------------------------- token and address


def find_token() -> tuple[str | None, str]:
    """(token, where it came from), in Ray's order; (None, "") when there is none.

    RAY_AUTH_TOKEN, then the file RAY_AUTH_TOKEN_PATH names, then ~/.ray/auth_token.
    """
    env = os.environ.get("RAY_AUTH_TOKEN", "").strip()
    if env:
        return env, "RAY_AUTH_TOKEN"
    named = os.environ.get("RAY_AUTH_TOKEN_PATH", "").strip()
    path = Path(named or DEFAULT_TOKEN_FILE).expanduser()
    where = f"RAY_AUTH_TOKEN_PATH={named}" if named else str(DEFAULT_TOKEN_FILE)
    if not path.is_file():
        if named:
            raise UserError(f"{where}: no such token file; point RAY_AUTH_TOKEN_PATH at the file "
                            f"holding the cluster's token, or unset it")
        return None, ""
    try:
        token = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{where}: cannot read the token file ({e}); check its permissions"
                        ) from None
    if not token:
        raise UserError(f"{where}: the token file is empty; {TOKEN_FIX}")
    return token, where


def check_address(address: str | None) -> str:
    """The Jobs API URL (http:// or https://, no trailing slash), else a UserError."""
    if not address:
        raise UserError("tuner submit: --address is required: the Ray Jobs API of the cluster's "
                        "head, e.g. --address http://HEAD:8265")
    url = address.strip().rstrip("/")
    scheme, _, rest = url.partition("://")
    if scheme not in ("http", "https") or not rest:
        raise UserError(
            f"--address {address}: tuner submit talks to the Ray Jobs API over HTTP; give the "
            f"head's dashboard address, e.g. http://HEAD:8265 (a HOST:PORT or ray:// address is "
            f"for `tuner run --address` on a machine in the cluster)"
        )
    return url


def sends_token() -> bool:
    """Whether requests to a Jobs API carry a token (one is found, RAY_AUTH_MODE allows it)."""
    return bool(_headers()[0])


def _headers() -> tuple[dict, str]:
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled":
        return {}, ""
    token, where = find_token()
    return ({"Authorization": f"Bearer {token}"}, where) if token else ({}, "")


def _probe(url: str, headers: dict, where: str) -> None:
    """One request to /api/version: unreachable, not a Jobs API, no token or a wrong one."""
    import requests

    try:
        r = requests.get(f"{url}/api/version", headers=headers, timeout=PROBE_TIMEOUT_S)
    except requests.exceptions.RequestException as e:
        why = type(e).__name__
        raise UserError(
            f"--address {url}: cannot reach the Ray Jobs API ({why}); check the address and "
            f"that the head runs the dashboard (ray start --head --dashboard-host=... "
            f"--dashboard-port=8265)"
        ) from None
    if r.status_code == 401 and os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled":
        raise UserError(f"--address {url}: the cluster requires a token and RAY_AUTH_MODE="
                        f"disabled keeps tuner from sending one; unset RAY_AUTH_MODE")
    if r.status_code == 401:
        raise UserError(f"--address {url}: the cluster requires a token and none was found; "
                        f"{TOKEN_FIX}")
    if r.status_code == 403:
        raise UserError(f"--address {url}: the cluster rejected the token from {where}; "
                        f"{TOKEN_FIX}")
    if r.status_code != 200:
        raise UserError(f"--address {url}: answered HTTP {r.status_code} at /api/version, so it "
                        f"is not a Ray Jobs API; give the head's dashboard address (port 8265 "
                        f"by default)")


@contextmanager
def _jobs_api(url: str, where: str):
    """Requests to the Jobs API that fail after the probe: one line, never a stack trace."""
    import requests
    from ray.exceptions import AuthenticationError

    try:
        yield
    except AuthenticationError as e:
        what = "rejected the token from " + where if "failed" in str(e) else "requires a token"
        raise UserError(f"--address {url}: the cluster {what}; {TOKEN_FIX}") from None
    except (ConnectionError, requests.exceptions.RequestException) as e:
        raise UserError(f"--address {url}: lost the Ray Jobs API ({type(e).__name__}); check "
                        f"that the head is still up") from None


def connect(address: str):
    """A JobSubmissionClient for `address` with the token, checked with one request first."""
    url = check_address(address)
    headers, where = _headers()
    _probe(url, headers, where)
    _quiet_sdk()
    from ray.job_submission import JobSubmissionClient

    with _jobs_api(url, where):
        return JobSubmissionClient(url, headers=headers)


def _quiet_sdk() -> None:
    import logging

    # the SDK's modules set their loggers to INFO and log every upload and websocket close
    import ray.dashboard.modules.dashboard_sdk  # noqa: F401
    import ray.dashboard.modules.job.sdk  # noqa: F401

    for name in ("ray", "ray.dashboard.modules.dashboard_sdk", "ray.dashboard.modules.job.sdk"):
        logging.getLogger(name).setLevel(logging.WARNING)


def cluster_error(address: str, exc: BaseException) -> UserError | None:
    """One line for a failed ray.init(address=...): no cluster there, or the token; else None."""
    chain, e = [], exc
    while e is not None and len(chain) < 10:
        chain.append(str(e))
        e = e.__cause__ or e.__context__
    text = " ".join(chain)
    if ("InvalidAuthToken" in text or "Authentication token is missing" in text
            or "no authentication token was found" in text):
        if os.environ.get("RAY_AUTH_MODE", "").lower() != "token":
            return UserError(
                f"--address {address}: the cluster requires a token; set RAY_AUTH_MODE=token "
                f"and {TOKEN_FIX}"
            )
        _, where = find_token()
        what = (f"the cluster rejected the token from {where}" if where
                else "RAY_AUTH_MODE=token, but no token was found")
        return UserError(f"--address {address}: {what}; {TOKEN_FIX}")
    if "Failed to connect" in text or "Could not find any running Ray instance" in text:
        fix = ("start one with `ray start --head` or give HOST:PORT" if address == "auto"
               else "check HOST:PORT (the head's GCS port, 6379 by default) and that it is up")
        return UserError(f"--address {address}: no Ray cluster answered there; {fix}")
    return None


# ---------------------------------------------------------------- what the job ships


def _inside(path: Path, root: Path) -> Path | None:
    try:
        return path.resolve().relative_to(root.resolve())
    except ValueError:
        return None


def _below(path: Path, cwd: Path) -> Path | None:
    """`path` as written, relative to `cwd` (an absolute one inside it too); None outside."""
    if path.is_absolute():
        return _inside(path, cwd)
    rel = Path(os.path.normpath(path))
    return None if rel.parts[:1] == ("..",) else rel


def _python_files(folder: Path):
    for f in sorted(folder.rglob("*.py")):
        if "__pycache__" not in f.parts:
            yield f


def _user_modules(spec) -> list[tuple[str, str]]:
    """([key], module) for the user's own code an experiment names: a space module given by its
    dotted name, a model factory given as 'module:function'."""
    out = []
    if "." in spec.space_module or ":" in spec.space_module:
        out.append(("[space] module", spec.space_module.partition(":")[0]))
    if ":" in spec.factory:
        out.append(("[model] factory", spec.factory.partition(":")[0]))
    return out


def _module_files(module: str, cwd: Path) -> dict[Path, Path] | None:
    """The top-level package (or file) of a user's space module below `cwd`: {path in the job:
    source}; None when it lives elsewhere (installed: the cluster must have it too)."""
    import importlib.util

    top = module.split(".")[0]
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.origin or _inside(Path(spec.origin), cwd) is None:
        return None
    origin = Path(spec.origin)
    if spec.submodule_search_locations:  # a package: every .py below it
        folder = origin.parent
        base = _inside(folder, cwd)
        return {base / f.relative_to(folder): f for f in _python_files(folder)}
    return {_inside(origin, cwd): origin}


def job_files(spec, cwd: Path | None = None) -> tuple[dict[Path, Path], Path, list[str]]:
    """({path in the job's working_dir: source file}, the experiment's path there, notes).

    Shipped: the experiment file, `searchspaces/`, the user's own space module and model
    factory module (their top-level package) and the data file. Paths keep their layout below
    `cwd` (the experiment's relative data paths resolve from there); an experiment file elsewhere
    goes to the top; an absolute data path, or a module not below `cwd`, is not shipped: the
    cluster must have it.
    """
    import searchspaces

    cwd = Path.cwd() if cwd is None else cwd
    files: dict[Path, Path] = {}
    notes: list[str] = []
    exp = Path(spec.path)
    exp_rel = _below(exp, cwd) or Path(exp.name)
    files[exp_rel] = exp.resolve()
    builtin = Path(searchspaces.__file__).parent
    for f in _python_files(builtin):
        files[Path("searchspaces") / f.relative_to(builtin)] = f
    for key, name in _user_modules(spec):
        module = _module_files(name, cwd)
        if module is None:
            notes.append(f"{key} {name} is not below {cwd}: not shipped, so the cluster must "
                         f"be able to import it")
        files.update(module or {})
    raw = spec.data.options.get("path") if spec.data.source == "file" else None
    if isinstance(raw, str):
        p = Path(raw).expanduser()
        where = f"{spec.path}: [data] path: {raw}"
        if p.is_absolute():
            notes.append(f"[data] path {raw} is absolute: not shipped, so it must exist at that "
                         f"path on the cluster (a shared filesystem)")
        else:
            rel = _below(p, cwd)
            if rel is None:
                raise UserError(f"{where}: lies outside the current directory, so the job cannot "
                                f"keep its relative path; run tuner submit from a folder that "
                                f"holds it, or give an absolute path on a shared filesystem")
            if not (cwd / rel).is_file():
                raise UserError(f"{where}: no such file (relative paths are relative to the "
                                f"current directory, {cwd}); check the path")
            files[rel] = (cwd / rel).resolve()
    return files, exp_rel, notes


def stage(files: dict[Path, Path], into: Path) -> int:
    """Copy the files into `into` (the job's working_dir); returns their total size in bytes."""
    size = 0
    for rel, src in files.items():
        dst = into / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
        size += dst.stat().st_size
    return size


def entrypoint(exp_rel: Path, storage: str, flags: list[str]) -> str:
    """The job's shell command: `python -m tuner run FILE --address auto --storage PATH ...`."""
    return shlex.join(["python", "-m", "tuner", "run", exp_rel.as_posix(), "--address", "auto",
                       "--storage", storage, *flags])


# ---------------------------------------------------------------- submit and follow


def submit(spec, address: str, storage: Path, flags: list[str], out=None) -> tuple[object, str]:
    """Ship and start the experiment as a Ray Job; returns (client, job id) and records it."""
    out = out or sys.stdout
    files, exp_rel, notes = job_files(spec)
    client = connect(address)
    url = check_address(address)
    command = entrypoint(exp_rel, str(storage), flags)
    with tempfile.TemporaryDirectory(prefix="tuner-job-") as tmp:
        size = stage(files, Path(tmp))
        with _jobs_api(url, _headers()[1]):
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
            "storage": str(storage), "entrypoint": command,
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
    print(f"  output {storage / spec.name}", file=out)
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
        with _jobs_api(url, _headers()[1]):
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
            state = f"{j.get('status', '?')} when last seen ({_short(e, url)})"
        shown.append((j, state))
    if shown:
        _save_jobs(storage, jobs)
    return shown


def _short(e: BaseException, url: str) -> str:
    text = " ".join(str(e).split()).removeprefix(f"--address {url}: ")
    return text.split("; ")[0][:120]
