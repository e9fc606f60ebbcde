"""Find search-space modules: `searchspaces/<name>.py` or an importable module the user names."""

from __future__ import annotations

import pkgutil

from tuner.errors import UserError, did_you_mean
from tuner.spaces.space import SearchSpace
from tuner.user_code import (
    exception_origin,
    import_user_module,
    is_module_name,
    is_python_object,
    python_object,
)


def _builtin() -> list[str]:
    import searchspaces

    return sorted(
        m.name
        for m in pkgutil.iter_modules(searchspaces.__path__)
        if not m.name.startswith("_") and m.name != "common"
    )


class _Spaces:
    """Lazy view of the built-in space names (importing a module only when asked)."""

    def names(self) -> list[str]:
        return _builtin()

    def __iter__(self):
        return iter(self.names())

    def __contains__(self, name) -> bool:
        return name in self.names()


SPACES = _Spaces()


def load_space(name: str, *, where: str = "[space] module") -> SearchSpace:
    """The SearchSpace of a built-in module (`cnn`) or a user's importable module (`pkg.space`).

    A user module must define `space() -> SearchSpace`; nothing is loaded from experiment text,
    only a module that Python can import (installed, or on PYTHONPATH) is run.
    """
    if not isinstance(name, str) or not name:
        raise UserError(f"{where}: must be a module name such as 'cnn', but got {name!r}")
    if is_python_object(name):  # built in Python (tuner.Experiment), kept with its experiment
        space = python_object(name, where=where)
        if not isinstance(space, SearchSpace):
            raise UserError(f"{where}: {name} holds a {type(space).__name__}, not a SearchSpace")
        return space
    if name in SPACES:
        modname = f"searchspaces.{name}"
    elif "." in name or ":" in name:
        if not is_module_name(name):
            raise UserError(
                f"{where}: {name!r} is not a module name; give a built-in space "
                f"({', '.join(SPACES.names())}) or your own module's dotted name, e.g. "
                f"'mypkg.spaces' (not a file path)"
            )
        modname = name
    else:
        raise UserError(
            f"{where}: unknown search space {name!r}{did_you_mean(name, SPACES.names())}; "
            f"built in: {', '.join(SPACES.names())} (or name your own importable module, "
            f"e.g. 'mypkg.myspace')"
        )
    module = import_user_module(modname, where=where)
    factory = getattr(module, "space", None)
    if not callable(factory):
        raise UserError(
            f"{where}: module {modname!r} defines no space() function; add "
            f"`def space() -> SearchSpace` to it (see searchspaces/cnn.py)"
        )
    try:
        space = factory()
    except UserError as e:
        raise UserError(f"{where}: {modname}.space(): {e}") from None
    except Exception as e:
        raise UserError(
            f"{where}: {modname}.space() failed ({exception_origin(e)}); fix the module"
        ) from None
    if not isinstance(space, SearchSpace):
        raise UserError(
            f"{where}: {modname}.space() must return a SearchSpace, but returned "
            f"{type(space).__name__}"
        )
    return space


def derive_hooks(name: str) -> list:
    """The `derive(profile, space, where)` functions that size a space module's priors to the
    data: the shared priors' (searchspaces/common.py), then the module's own when it defines
    one (a built-in or your own module; a space made in Python has none)."""
    import importlib

    from searchspaces import common

    hooks = [common.derive]
    if is_python_object(name):
        return hooks
    modname = f"searchspaces.{name}" if name in SPACES else name
    own = getattr(importlib.import_module(modname), "derive", None)  # imported by load_space
    return hooks + ([own] if callable(own) else [])
