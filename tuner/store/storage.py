"""Where experiments live: the storage root and an experiment's folder by name or path."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tuner.errors import UserError, did_you_mean


def storage_root(storage: str | None = None) -> Path:
    """--storage, else $TUNER_STORAGE, else ./results: a folder (or one that can be made)."""
    env = os.environ.get("TUNER_STORAGE")
    label = "--storage" if storage else "$TUNER_STORAGE" if env else "storage root"
    if storage is not None and not isinstance(storage, (str, os.PathLike)):
        raise UserError(f"storage: must be a folder path (a str or pathlib.Path), but got a "
                        f"{type(storage).__name__}; filesystem objects are not supported yet: "
                        f"mount the storage as a folder and give its path")
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


def _local_path(raw: str, label: str) -> str:
    """`raw` as a local path: a file:// URI becomes its path; any other URI (s3://, gs://,
    ...) is refused in one line instead of becoming a local folder named after its scheme."""
    m = URI.match(raw)
    if not m:
        return raw
    if m.group(1).lower() == "file":
        return raw[len(m.group(0)):] or "/"
    raise UserError(
        f"{label} {raw}: tuner reads and writes results through a folder path; "
        f"{m.group(1)}:// storage is not supported yet (it would have become a local folder "
        f"named '{m.group(1)}:'); on a cluster, mount one shared folder (NFS, a bucket through "
        f"s3fs or gcsfuse) at the same path on every node and give that path")


def _expand(raw: str, label: str) -> Path:
    try:
        return Path(raw).expanduser()
    except RuntimeError:  # ~user for a user this machine does not know
        raise UserError(f"{label} {raw}: cannot expand {raw.split('/')[0]!r}: no such user's "
                        f"home folder; give the full path") from None


def find_experiment(name_or_dir: str, storage: str | None = None) -> Path:
    """The folder of an experiment by name (under the storage root) or by path."""
    p = _expand(name_or_dir, "experiment")
    if p.is_dir() and (p / "experiment.json").exists():
        return p.resolve()
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
