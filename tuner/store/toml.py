"""TOML out, written by tomli_w (tomllib reads it back)."""

from __future__ import annotations


def _plain(v):
    """`v` with NumPy scalars, tuples and str subclasses as the plain types TOML writes."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # a NumPy scalar
        return v.item()
    if isinstance(v, str):
        return str(v)
    return v


def to_toml(doc: dict, comment: str = "") -> str:
    """TOML text of `doc` (written by tomli_w), after `comment` as # lines."""
    import tomli_w

    head = "".join(f"# {line}\n" for line in comment.splitlines())
    return head + tomli_w.dumps(_plain(doc))


def toml_value(v) -> str:
    """One scalar as TOML writes it after `key = ` (a [space] line, for instance)."""
    import tomli_w

    return tomli_w.dumps({"v": _plain(v)})[len("v = "):].rstrip("\n")
