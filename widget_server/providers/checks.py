"""Small checks shared by every adapter: unknown settings, timeouts and unsafe text."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from ..core.reasons import Reason
from .setting_fields import N_

UNKNOWN_SETTING = Reason("unknown setting")
ONE_OF = N_("must be one of %(choices)s")

TIMEOUT_SETTINGS = ("connect_timeout", "read_timeout")


def unsafe_text(value: str) -> bool:
    """Say whether `value` holds control, format or line-separator characters."""
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value)


def printable(value: object, limit: int | None = 120) -> str:
    """Return `value` as text, cut to `limit` characters, without unprintable ones."""
    return "".join(ch for ch in str(value)[:limit] if ch.isprintable()) if value else ""


def unknown_settings(values: Mapping[str, Any], known: Iterable[str]) -> dict[str, str]:
    """Name every setting that is not in `known`, in sorted order."""
    return {key: UNKNOWN_SETTING for key in sorted(set(values) - set(known))}


def timeout_errors(values: Mapping[str, Any], limits: Mapping[str, int]) -> dict[str, str]:
    """Check that each setting named in `limits` is seconds above 0 and at most its limit."""
    errors: dict[str, str] = {}
    for key, limit in limits.items():
        value = values.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= limit:
            errors[key] = Reason(
                "must be a number of seconds above 0, at most %(limit)s", limit=limit
            )
    return errors
