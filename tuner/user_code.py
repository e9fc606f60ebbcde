"""The one place that imports a module the user named ([model] factory, [space] module), so
that a missing module or a broken one is a UserError like any other bad input."""

from __future__ import annotations

from tuner.errors import UserError


def is_module_name(name: str) -> bool:
    """True for a dotted Python module name such as 'mypkg.spaces' (no paths, no code)."""
    return bool(name) and all(part.isidentifier() for part in name.split("."))


def exception_origin(e: BaseException) -> str:
    """'ValueError: bad at /path/mod.py line 3': what failed and where, on one line."""
    import traceback

    if isinstance(e, SyntaxError):
        return f"SyntaxError: {e.msg} at {e.filename} line {e.lineno}"
    frames = traceback.extract_tb(e.__traceback__)
    at = f" at {frames[-1].filename} line {frames[-1].lineno}" if frames else ""
    return f"{type(e).__name__}: {e}{at}"


def import_user_module(name: str, *, where: str):
    """Import the module `name` that an experiment names; any failure is a one-line UserError.

    Only an importable module is ever run (installed, or on PYTHONPATH): nothing is evaluated
    from experiment text, and the experiment file's own folder is not searched.
    """
    import importlib

    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name and (name == e.name or name.startswith(e.name + ".")):
            raise UserError(
                f"{where}: cannot import {name!r}: no module named {e.name!r}; install it or put "
                f"its folder on PYTHONPATH (the experiment file's folder is not searched)"
            ) from None
        raise UserError(
            f"{where}: importing {name!r} failed ({exception_origin(e)}); install what it needs"
        ) from None
    except Exception as e:  # a bug in the user's module: say what and where
        raise UserError(
            f"{where}: importing {name!r} failed ({exception_origin(e)}); fix the module"
        ) from None


# ------------------------------------------------------------------ objects made in Python

# A model factory or a search space built in Python (a notebook's class, a dict of priors) has
# no module to import: `tuner.Experiment` pickles it (cloudpickle, by value) into the
# experiment folder's inputs/ and the experiment names it "python:<file>"; this registry maps
# such a name to the object in every process that has seen it.
PYTHON_PREFIX = "python:"
INPUTS = "inputs"
_OBJECTS: dict[str, object] = {}


def is_python_object(name) -> bool:
    """True for a factory or space made in Python and kept with its experiment."""
    return isinstance(name, str) and name.startswith(PYTHON_PREFIX)


def python_object_name(obj, stem: str) -> tuple[str, bytes]:
    """("python:<stem>-<hash>.pkl", its pickled bytes) for `obj`, registered under that name."""
    import hashlib

    import cloudpickle

    blob = cloudpickle.dumps(obj)
    name = f"{PYTHON_PREFIX}{stem}-{hashlib.sha256(blob).hexdigest()[:12]}.pkl"
    _OBJECTS[name] = obj
    return name, blob


def register_python_object(name: str, obj) -> None:
    _OBJECTS[name] = obj


def load_python_objects(exp_dir) -> None:
    """Register the objects an experiment folder keeps (inputs/*.pkl), as their names."""
    from pathlib import Path

    folder = Path(exp_dir) / INPUTS
    for f in sorted(folder.glob("*.pkl")) if folder.is_dir() else []:
        name = PYTHON_PREFIX + f.name
        if name not in _OBJECTS:
            _OBJECTS[name] = _LazyObject(f)


class _LazyObject:
    """A kept object, unpickled when first used (status and best never need it)."""

    def __init__(self, path):
        self.path = path


def python_object(name: str, *, where: str):
    """The object a "python:<file>" name stands for; one line when it cannot be had."""
    obj = _OBJECTS.get(name)
    if obj is None:
        raise UserError(
            f"{where}: {name!r} was made in Python and is kept in its experiment's folder "
            f"(inputs/); use it through that experiment (tuner resume / train --from NAME), "
            f"or pass the object again to tuner.Experiment"
        )
    if isinstance(obj, _LazyObject):
        obj = _OBJECTS[name] = unpickle_python_object(obj.path.read_bytes(), where=where)
    return obj


def unpickle_python_object(blob: bytes, *, where: str):
    """A kept object from its bytes. A module it uses by name that this Python (a cluster
    worker, another environment) cannot import is one line saying which and the fix."""
    import cloudpickle

    try:
        return cloudpickle.loads(blob)
    except ModuleNotFoundError as e:
        raise UserError(
            f"{where}: the model or space defined in your notebook or script uses module "
            f"{e.name!r}, which this Python cannot import; install it here (on a cluster: on "
            f"every node, or in the job's runtime_env), or define what it needs in the notebook"
        ) from None
    except Exception as e:
        raise UserError(f"{where}: could not load the object kept in Python "
                        f"({exception_origin(e)}); pass it to tuner.Experiment again") from None
