"""Checks for source-specific [data] options, with messages that name the key and the fix."""

from __future__ import annotations

from typing import Any

from tuner.errors import UserError


def check_options(where: str, options: dict, allowed: tuple[str, ...], source: str) -> None:
    """Reject [data] keys this source does not use (a typo must never be ignored)."""
    for k in sorted(options):
        if k not in allowed:
            use = f"; it takes: {', '.join(allowed)}" if allowed else "; it takes none"
            raise UserError(f"{where} {k}: not used by data source {source!r}{use}")


def int_option(where: str, options: dict, key: str, default: Any, low: int = 1,
               high: int = 1_000_000) -> int:
    v = options.get(key, default)
    if v is None:
        raise UserError(f"{where} {key}: required for this data source, e.g. {key} = 12")
    if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
        raise UserError(f"{where} {key}: must be an integer between {low} and {high}, "
                        f"but got {v!r}")
    return v


def fraction_option(where: str, options: dict, key: str, default: float) -> float:
    v = options.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < 1:
        raise UserError(f"{where} {key}: must be a fraction between 0 and 1, but got {v!r}")
    return float(v)


def str_option(where: str, options: dict, key: str, default: str | None = None) -> str | None:
    v = options.get(key, default)
    if v is not None and not isinstance(v, str):
        raise UserError(f"{where} {key}: must be a string, but got {v!r}")
    return v
