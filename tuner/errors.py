"""The one exception type for bad user input: the CLI prints it on one line and exits 2.

Also the one place that imports a module the user named ([model] factory, [space] module), so
that a missing module or a broken one is a UserError like any other bad input.
"""


class UserError(Exception):
    """Bad input found before anything started: the message says what, where and the fix."""

    exit_code = 2

    def __init__(self, message: str):
        # One line, always: a wrapped message is easier to miss in a terminal.
        super().__init__(" ".join(str(message).split()))


def did_you_mean(name: str, valid) -> str:
    """' (did you mean 'x'?)' when a close match exists, else ''."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_problem(e: Exception) -> str:
    """What a TOML or JSON parser's exception says, without advice meant for programmers."""
    if isinstance(e, RecursionError):
        return "nested too deeply"
    if "integer string conversion" in str(e):
        return "a number with more than 4300 digits"
    return " ".join(str(e).split())


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
