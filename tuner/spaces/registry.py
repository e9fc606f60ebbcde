"""Find search-space modules: `searchspaces/<name>.py` or an importable module the user names."""

from __future__ import annotations

import importlib
import pkgutil

from tuner.errors import UserError, did_you_mean
from tuner.spaces.space import SearchSpace


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

    A user module must define `space() -> SearchSpace`; nothing is loaded from experiment text.
    """
    if not isinstance(name, str) or not name:
        raise UserError(f"{where}: must be a module name such as 'cnn', but got {name!r}")
    if "." in name:
        modname = name
    elif name in SPACES:
        modname = f"searchspaces.{name}"
    else:
        raise UserError(
            f"{where}: unknown search space {name!r}{did_you_mean(name, SPACES.names())}; "
            f"built in: {', '.join(SPACES.names())} (or name your own importable module, "
            f"e.g. 'mypkg.myspace')"
        )
    try:
        module = importlib.import_module(modname)
    except ImportError as e:
        raise UserError(
            f"{where}: cannot import {modname!r} ({e}); check it is on PYTHONPATH"
        ) from None
    factory = getattr(module, "space", None)
    if not callable(factory):
        raise UserError(f"{where}: module {modname!r} must define space() -> SearchSpace")
    space = factory()
    if not isinstance(space, SearchSpace):
        raise UserError(f"{where}: {modname}.space() must return a SearchSpace, got {space!r}")
    return space
