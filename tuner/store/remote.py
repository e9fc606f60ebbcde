"""Storage that is not a local folder: a URI (s3://, gs://, abfs://, or any scheme pyarrow or
fsspec provides) or a filesystem object, which every node of a cluster reaches.

Ray Tune writes there itself: each trial's checkpoints (from the node it runs on) and its
saved state. tuner's own files (trials.json, best.toml, TensorBoard runs, the saved experiment,
final training, the report) are written to a local copy of the experiment folder, its
*mirror* under `$TUNER_CACHE/storage/`, and uploaded as they change (`push`, and `Uploader`
while a search runs); every verb that reads an experiment first brings its files down into the
mirror (`pull`; checkpoints stay in the storage), so `status`, `best`, `report`, `board`,
`train --from`, `resume` and `--warm-start` read the storage from any machine. The mirror is a
cache: deleted, it comes back from the storage.

    remote = Remote.of("s3://bucket/runs")
    remote.pull("digits")          # -> ~/.cache/tuner/storage/s3/bucket/runs/digits
    remote.push(mirror_dir, "digits")
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from tuner.errors import UserError
from tuner.store.storage import cache_root

SYNC_FILE = ".tuner-sync.json"  # in a mirror: what was last uploaded or downloaded, per file
CHECKPOINT_PREFIX = "checkpoint_"  # Ray Tune's checkpoint folders: read by trials, not pulled
UPLOAD_EVERY_S = 5.0  # while a search runs, changed files are uploaded this often
CHECK_TIMEOUT_S = float(os.environ.get("TUNER_STORAGE_TIMEOUT_S", 20))
COPY_CHUNK = 1 << 20  # bytes a copy to or from the storage moves at a time


FIX = ("give a cloud URI every node reaches (s3://bucket/path, gs://bucket/path) with "
       "credentials set on every node, or a folder mounted at the same path on every node")


@dataclass(frozen=True)
class Remote:
    """A storage root on a pyarrow filesystem: `fs` and the root's path on it; `shown` is how
    the user named it (the URI), for messages and for Ray's job command lines."""

    shown: str
    fs: object  # pyarrow.fs.FileSystem
    root: str

    # -- finding it ------------------------------------------------------------------------
    @staticmethod
    def of(storage, label: str = "--storage") -> Remote:
        """The Remote of a URI (checked: the scheme is known, the storage answers, tuner can
        write there) or of a filesystem object, `fs` or `(fs, "bucket/path")`."""
        if isinstance(storage, str):
            fs, root = _from_uri(storage, label)
            remote = Remote(storage.rstrip("/") if "?" not in storage else storage, fs,
                            root.rstrip("/"))
        else:
            fs, root = storage if isinstance(storage, tuple) else (storage, "")
            fs = _as_pyarrow(fs, label)
            remote = Remote(f"{fs.type_name}:{root}", fs, str(root).rstrip("/"))
        remote.check(label)
        return remote

    def path(self, *parts: str) -> str:
        return "/".join(p for p in (self.root, *parts) if p)

    def uri(self, *parts: str) -> str:
        """The URI of a path under the root, as shown to users (a query, such as
        ?endpoint_override=..., stays at the end)."""
        base, _, query = self.shown.partition("?")
        joined = "/".join(p for p in (base.rstrip("/"), *parts) if p)
        return f"{joined}?{query}" if query else joined

    def mirror(self, *parts: str) -> Path:
        """The local copy of the storage root (or of an experiment under it)."""
        scheme = self.shown.split("://", 1)[0] if "://" in self.shown else self.fs.type_name
        where = self.path().replace(":", "_").lstrip("/")
        return cache_root().joinpath("storage", scheme, *filter(None, where.split("/")), *parts)

    # -- checks ----------------------------------------------------------------------------
    def check(self, label: str, timeout: float = CHECK_TIMEOUT_S) -> None:
        """Write, read back and delete a marker at the root: a missing bucket, no credentials,
        no write access or no answer is one line here, before Ray starts."""
        failed: list[str] = []
        worker = threading.Thread(target=self._check, args=(label, failed), daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():  # a storage that cannot be reached retries for minutes
            raise UserError(f"{label} {self.shown}: no answer from the storage in {timeout:g} s "
                            f"(is this machine offline, or the endpoint wrong?); {FIX}")
        if failed:
            raise UserError(failed[0])

    def _check(self, label: str, failed: list) -> None:
        import secrets

        marker = self.path(f".tuner-check-{secrets.token_hex(4)}")
        step = "write"
        try:
            self.fs.create_dir(self.root) if self.root else None
            token = secrets.token_hex(8).encode()
            with self.fs.open_output_stream(marker) as f:
                f.write(token)
            step = "read back"
            with self.fs.open_input_stream(marker) as f:
                if f.read() != token:
                    raise OSError("the marker read back differs from what was written")
            step = "delete"
            self.fs.delete_file(marker)
        except Exception as e:  # noqa: BLE001 (pyarrow raises OSError, ArrowInvalid, ...)
            # pyarrow's "To create buckets, enable allow_bucket_creation" is not for users
            said = first_line(e).split(". To create buckets")[0].rstrip(".")
            failed.append(f"{label} {self.shown}: cannot {step} a file there: {said}; "
                          f"{_hint(e)}")

    def has_experiment(self, name: str) -> bool:
        from pyarrow.fs import FileType

        return self.fs.get_file_info(self.path(name, "experiment.json")).type == FileType.File

    def experiments(self) -> list[str]:
        """The names of the experiments under the root."""
        from pyarrow.fs import FileSelector, FileType

        found = self.fs.get_file_info(FileSelector(self.root, allow_not_found=True))
        names = [i.base_name for i in found if i.type == FileType.Directory]
        return sorted(n for n in names if self.has_experiment(n))

    # -- moving files ----------------------------------------------------------------------
    def pull(self, name: str = "", *, deep: bool = True) -> Path:
        """Bring an experiment's files (`deep`=False: only those at its top level) down into
        its mirror, checkpoints left out; returns the mirror folder. A file changed here and
        not in the storage is kept (a push uploads it)."""
        from pyarrow.fs import FileSelector, FileType

        local = self.mirror(name)
        base = self.path(name)
        infos = self.fs.get_file_info(FileSelector(base, recursive=deep, allow_not_found=True))
        state = _SyncState(local)
        wanted = {}
        for info in infos:
            if info.type != FileType.File:
                continue
            rel = info.path[len(base):].lstrip("/")
            if any(part.startswith(CHECKPOINT_PREFIX) for part in rel.split("/")[:-1]):
                continue
            wanted[rel] = info
        for rel, info in wanted.items():
            if state.remote_changed(rel, info) and not state.local_changed(rel, keep=True):
                _download(self.fs, info.path, local / rel)
                state.synced(rel, info)
        if deep:  # a file the storage no longer holds goes here too (an overwritten run)
            for rel in state.known():
                if rel not in wanted and not state.local_changed(rel, keep=True):
                    (local / rel).unlink(missing_ok=True)
                    state.forget(rel)
        state.save()
        return local

    def push(self, local: Path, name: str = "", *, only: str | None = None) -> int:
        """Upload the files of `local` (or of its sub-folder `only`) that changed since they
        were last synced to the experiment `name`; returns how many went."""
        local = Path(local)
        state = _SyncState(local)
        start = local / only if only else local
        sent = 0
        paths = [start] if start.is_file() else sorted(p for p in start.rglob("*") if p.is_file())
        for path in paths:
            rel = path.relative_to(local).as_posix()
            if rel == SYNC_FILE or rel.endswith(".tmp") or not state.local_changed(rel):
                continue
            before = state.stat(rel)  # a change while it uploads goes with the next push
            self.fs.create_dir(self.path(name, *rel.split("/")[:-1]))
            with open(path, "rb") as src, self.fs.open_output_stream(self.path(name, rel)) as dst:
                shutil.copyfileobj(src, dst, COPY_CHUNK)
            state.files[rel] = {"local": before, "remote": None}
            sent += 1
        if sent:
            state.refresh(self.fs, self.path(name))
        state.save()
        return sent

    def delete(self, name: str, *, keep: str | None = None) -> None:
        """Delete an experiment's files in the storage (but its sub-folder `keep`)."""
        from pyarrow.fs import FileSelector, FileType

        base = self.path(name)
        for info in self.fs.get_file_info(FileSelector(base, allow_not_found=True)):
            if info.base_name == keep:
                continue
            if info.type == FileType.Directory:
                self.fs.delete_dir(info.path)
            else:
                self.fs.delete_file(info.path)

    def delete_trials(self, name: str, *, keep: set[str]) -> list[str]:
        """Delete the experiment's trial_* folders in the storage but those in `keep`."""
        from pyarrow.fs import FileSelector, FileType

        gone = []
        for info in self.fs.get_file_info(FileSelector(self.path(name), allow_not_found=True)):
            if info.type == FileType.Directory and info.base_name.startswith("trial_") \
                    and info.base_name not in keep:
                self.fs.delete_dir(info.path)
                gone.append(info.base_name)
        return sorted(gone)


class Uploader:
    """Upload an experiment's mirror every `every` seconds in a thread while a search runs,
    and once more at `close`: a driver on any machine leaves its records in the storage."""

    def __init__(self, remote: Remote, local: Path, name: str, every: float = UPLOAD_EVERY_S):
        self.remote, self.local, self.name, self.every = remote, Path(local), name, every
        self._stop = threading.Event()
        self.error: str | None = None
        self._thread = threading.Thread(target=self._loop, name="tuner-upload", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        self._push()  # the saved experiment at once: the storage lists the search from its start
        while not self._stop.wait(self.every):
            self._push()

    def _push(self) -> None:
        try:
            self.remote.push(self.local, self.name)
            self.error = None
        except Exception as e:  # noqa: BLE001 (a storage hiccup: the next upload tries again)
            self.error = first_line(e)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._push()
        if self.error:
            raise UserError(f"{self.remote.uri(self.name)}: the last upload of the "
                            f"experiment's files failed: {self.error}; its trials are saved "
                            f"in {self.local}; `tuner resume {self.name}` uploads them again")


class _SyncState:
    """What a mirror's files were when last synced: local (size, mtime) and the storage's
    (size, mtime) per path, kept in the mirror's SYNC_FILE."""

    def __init__(self, local: Path):
        self.local = Path(local)
        self.file = self.local / SYNC_FILE
        try:
            self.files = json.loads(self.file.read_text())
        except (OSError, ValueError):
            self.files = {}

    def stat(self, rel: str):
        try:
            s = (self.local / rel).stat()
        except OSError:
            return None
        return [s.st_size, s.st_mtime_ns]

    def local_changed(self, rel: str, keep: bool = False) -> bool:
        """True when the local file differs from when it was last synced; `keep`: only a file
        that exists counts (one never synced and absent is no change to keep)."""
        now = self.stat(rel)
        if keep and now is None:
            return False
        return now != self.files.get(rel, {}).get("local")

    def remote_changed(self, rel: str, info) -> bool:
        return _remote(info) != self.files.get(rel, {}).get("remote")

    def synced(self, rel: str, info) -> None:
        self.files[rel] = {"local": self.stat(rel), "remote": _remote(info)}

    def refresh(self, fs, base: str) -> None:
        """The storage's view of the files just pushed, so a pull does not fetch them back."""
        from pyarrow.fs import FileSelector, FileType

        for info in fs.get_file_info(FileSelector(base, recursive=True, allow_not_found=True)):
            rel = info.path[len(base):].lstrip("/")
            if info.type == FileType.File and rel in self.files \
                    and self.files[rel]["remote"] is None:
                self.files[rel]["remote"] = _remote(info)

    def known(self) -> list[str]:
        return list(self.files)

    def forget(self, rel: str) -> None:
        self.files.pop(rel, None)

    def save(self) -> None:
        self.local.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.files))
        os.replace(tmp, self.file)


def _remote(info) -> list:
    return [info.size, info.mtime_ns]


def _download(fs, path: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    with fs.open_input_stream(path) as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst, COPY_CHUNK)
    os.replace(tmp, dest)


def _from_uri(uri: str, label: str):
    """(pyarrow filesystem, path) of a URI: pyarrow's own schemes, else fsspec's."""
    import pyarrow.fs as pafs

    try:
        return pafs.FileSystem.from_uri(uri)
    except Exception:  # noqa: BLE001 (not one of pyarrow's: fsspec's, or none)
        scheme = uri.split("://", 1)[0]
        try:
            import fsspec

            fs, root = fsspec.core.url_to_fs(uri)
        except (ImportError, ValueError) as e:
            raise UserError(f"{label} {uri}: {scheme}:// is not a storage pyarrow or fsspec "
                            f"knows ({first_line(e)}); {FIX}") from None
        except Exception as e:  # noqa: BLE001 (a known scheme whose package is missing)
            raise UserError(f"{label} {uri}: {first_line(e)}; {FIX}") from None
        return _as_pyarrow(fs, label), root


def _as_pyarrow(fs, label: str):
    """A pyarrow filesystem, or an fsspec one wrapped as pyarrow's (Ray Tune takes those)."""
    import pyarrow.fs as pafs

    if isinstance(fs, pafs.FileSystem):
        return fs
    try:
        import fsspec
    except ImportError:
        fsspec = None
    if fsspec is not None and isinstance(fs, fsspec.AbstractFileSystem):
        return pafs.PyFileSystem(pafs.FSSpecHandler(fs))
    raise UserError(f"{label}: a {type(fs).__name__} is not a filesystem tuner can use; give "
                    f"a folder path, a URI (s3://bucket/path), a pyarrow.fs.FileSystem or an "
                    f"fsspec filesystem, alone or as (filesystem, 'bucket/path')")


def first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0].strip() if text else type(e).__name__


def _hint(e: BaseException) -> str:
    text = str(e).lower()
    if any(w in text for w in ("could not connect", "connection refused", "network_connection",
                               "timed out", "couldn't resolve", "could not resolve")):
        return ("check the endpoint (AWS_ENDPOINT_URL for an S3-compatible server) and that "
                "this machine reaches it")
    if "bucket" in text and ("not found" in text or "does not exist" in text
                             or "no_such_bucket" in text):
        return "create the bucket first, or fix its name"
    if any(w in text for w in ("credential", "access denied", "forbidden", "signature",
                               "invalidaccesskey", "access_denied")):
        return ("set the storage's credentials (for S3: AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or ~/.aws/credentials) on this machine and every node")
    return FIX
