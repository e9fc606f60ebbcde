"""`tuner board`: TensorBoard for one experiment (or all) on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

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
    logdir = find_experiment(name, storage) if name else storage_root(storage)
    if not logdir.is_dir():
        raise UserError(f"{logdir}: no results there yet; run an experiment first")
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
