"""What a job carries in its working_dir: the experiment, its modules and data, laid out as
below the current directory; and the command it runs."""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

from tuner.errors import UserError


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
