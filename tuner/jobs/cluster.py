"""Reaching a cluster's Jobs API: its address, the token Ray reads, one-line errors."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from tuner.errors import UserError

DEFAULT_TOKEN_FILE = Path("~/.ray/auth_token")


# seconds to wait for the Jobs API to answer before calling it unreachable
PROBE_TIMEOUT_S = 10


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
    return bool(auth_headers()[0])


def auth_headers() -> tuple[dict, str]:
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
def jobs_api(url: str, where: str):
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
    headers, where = auth_headers()
    _probe(url, headers, where)
    _quiet_sdk()
    from ray.job_submission import JobSubmissionClient

    with jobs_api(url, where):
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


def short_error(e: BaseException, url: str) -> str:
    text = " ".join(str(e).split()).removeprefix(f"--address {url}: ")
    return text.split("; ")[0][:120]
