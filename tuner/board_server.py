"""`tuner board`: TensorBoard for one experiment (or all) on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

from tuner.errors import UserError
from tuner.store import find_experiment, storage_root


def free_port(host: str, start: int) -> int:
    """`start` if free, else the next free port above it."""
    for port in range(start, start + 100):
        with socket.socket() as s:
            try:
                s.bind((host, port))
                return port
            except OSError:
                continue
    raise UserError(f"--port {start}: no free port in {start}..{start + 99} on {host}")


PULL_EVERY_S = 10.0  # a URI's storage: its event files are brought down this often


def board_logdir(name, storage) -> Path:
    """The folder TensorBoard serves: one experiment's, or the storage root's; for a URI's
    storage its local mirror, with the event files brought down (`follow_storage` keeps it
    current)."""
    from tuner.store.storage import remote_storage

    logdir = find_experiment(name, storage) if name is not None else storage_root(storage)
    if name is None and remote_storage(storage) is not None:
        from tuner.store import experiments

        experiments(storage)  # every experiment's files, brought down once before serving
    if not logdir.is_dir():
        raise UserError(f"{logdir}: no results there yet; run an experiment first")
    return logdir


def follow_storage(name, storage, proc) -> None:
    """For a URI's storage, TensorBoard serves the local mirror of the event files
    (`board_logdir` brought them down); a thread brings the new ones down every PULL_EVERY_S
    while `proc` (TensorBoard) runs, so a search still running elsewhere shows its curves as
    they grow. TensorBoard's own s3:// reading needs boto3, credentials and endpoint settings
    of its own; the mirror needs none of that."""
    import threading

    from tuner.store.storage import remote_storage

    remote = remote_storage(storage)
    if remote is None:
        return

    def pull():
        while True:
            try:
                proc.wait(timeout=PULL_EVERY_S)
                return  # TensorBoard stopped
            except subprocess.TimeoutExpired:
                pass
            try:
                for n in [name] if name is not None else remote.experiments():
                    remote.pull(n)
            except Exception:  # noqa: BLE001 (a storage hiccup: the next pull tries again)
                pass

    threading.Thread(target=pull, name="tuner-board-pull", daemon=True).start()


def command(logdir: str, host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tensorboard.main",
        "--logdir",
        logdir,
        "--host",
        host,
        "--port",
        str(port),
        "--reload_interval",
        "5",
    ]


def serve(
    name: str | None, *, storage: str | None, host: str = "127.0.0.1", port: int = 6006
) -> int:
    logdir = board_logdir(name or None, storage)
    port = free_port(host, port)
    print(f"TensorBoard for {logdir}\n  http://{host}:{port}/  (Ctrl-C to stop)", flush=True)
    def stop(signum, frame):  # `kill` (SIGTERM) stops TensorBoard too, like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # and Ctrl-C (SIGINT) always does: a shell that starts a command in the background (`&`)
    # makes it ignore SIGINT, and Python then leaves it ignored
    signal.signal(signal.SIGINT, stop)
    proc = subprocess.Popen(
        command(str(logdir), host, port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    follow_storage(name, storage, proc)
    try:
        _, err = proc.communicate()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait(timeout=10)
        print("TensorBoard stopped")
        return 0
    if proc.returncode:
        tail = (err or "").strip().splitlines()[-1:] or ["no message"]
        print(f"tensorboard exited with {proc.returncode}: {tail[0]}", file=sys.stderr)
        return 1
    return 0
