"""Where experiments live: the storage root and an experiment's folder by name or path."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tuner.errors import UserError, did_you_mean


def cache_root() -> Path:
    """tuner's cache (decoded image folders, a URI storage's local copies): $TUNER_CACHE, else
    $XDG_CACHE_HOME/tuner, else ~/.cache/tuner (like pip and torch, one folder per user)."""
    root = os.environ.get("TUNER_CACHE")
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "tuner"


def storage_root(storage=None) -> Path:
    """--storage, else $TUNER_STORAGE, else ./results: a folder (or one that can be made); for
    a URI or filesystem object, its local mirror (tuner.store.remote)."""
    remote = remote_storage(storage)
    if remote is not None:
        return remote.mirror()
    env = os.environ.get("TUNER_STORAGE")
    label = "--storage" if storage else "$TUNER_STORAGE" if env else "storage root"
    raw = str(storage or env or "results")
    root = _expand(_local_path(raw, label), label).resolve()
    # the nearest existing part must be a folder, or results could never be written there
    for part in (root, *root.parents):
        if part.exists():
            if not part.is_dir():
                at = "is a file" if part == root else f"lies under {part}, which is a file"
                raise UserError(f"{label} {raw}: {at}, not a folder; give a folder path")
            break
    return root


URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# URI, or the id of a filesystem object -> (what was given, its Remote): checked once per
# process (the object is kept, so its id is not reused while the entry lives)
_REMOTES: dict = {}


def remote_storage(storage=None):
    """The Remote (tuner.store.remote) of --storage or $TUNER_STORAGE when it is a URI other
    than file:// or a filesystem object; None for a folder path."""
    from tuner.store.remote import Remote

    if storage is not None and not isinstance(storage, (str, os.PathLike)):
        key, raw, label = id(storage), storage, "storage"
    else:
        env = os.environ.get("TUNER_STORAGE")
        raw = str(storage or env or "")
        m = URI.match(raw)
        if not m or m.group(1).lower() == "file":
            return None
        key, label = raw, "--storage" if storage else "$TUNER_STORAGE"
    if key not in _REMOTES:
        _REMOTES[key] = (raw, Remote.of(raw, label))
    return _REMOTES[key][1]


def storage_name(storage=None) -> str:
    """The storage root as users name it: the URI, or the folder's path."""
    remote = remote_storage(storage)
    return remote.shown if remote is not None else str(storage_root(storage))


def _local_path(raw: str, label: str) -> str:
    """`raw` as a local path: a file:// URI becomes its path."""
    m = URI.match(raw)
    if m and m.group(1).lower() == "file":
        return raw[len(m.group(0)):] or "/"
    return raw


def _expand(raw: str, label: str) -> Path:
    try:
        return Path(raw).expanduser()
    except RuntimeError:  # ~user for a user this machine does not know
        raise UserError(f"{label} {raw}: cannot expand {raw.split('/')[0]!r}: no such user's "
                        f"home folder; give the full path") from None


def find_experiment(name_or_dir: str, storage=None) -> Path:
    """The folder of an experiment by name (under the storage root) or by path; in a URI's
    storage, its mirror with the experiment's files brought up to date."""
    p = _expand(name_or_dir, "experiment")
    if p.is_dir() and (p / "experiment.json").exists():
        return p.resolve()
    remote = remote_storage(storage)
    if remote is not None:
        if remote.has_experiment(name_or_dir):
            return remote.pull(name_or_dir)
        root, known = remote.shown, remote.experiments()
    else:
        root = storage_root(storage)
        q = root / name_or_dir
        if (q / "experiment.json").exists():
            return q
        known = (
            sorted(d.name for d in root.glob("*") if (d / "experiment.json").exists())
            if root.is_dir()
            else []
        )
    listing = f"; experiments here: {', '.join(known)}" if known else "; none found there yet"
    raise UserError(
        f"{name_or_dir}: no experiment of that name under {root}"
        f"{did_you_mean(name_or_dir, known)}{listing} (use --storage DIR to look elsewhere)"
    )
