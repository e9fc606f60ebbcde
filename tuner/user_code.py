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
