"""API keys as owners see them: the visible part, the state, a checked name.

Making, listing and revoking keys is `admin.create_key`, `admin.list_keys` and
`admin.revoke_key`: the admin API, the CLI and the dashboard share them.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..core.models import ApiKey
from ..core.reasons import Reason
from . import admin

MAX_NAME = 128
NAME_REQUIRED = Reason("is required")
NAME_TOO_LONG = Reason("must be at most %(limit)s characters", limit=MAX_NAME)
NAME_UNPRINTABLE = Reason("must be printable characters")


def visible_part(key: ApiKey) -> str:
    """Return the part of a key that may be shown: its prefix and lookup, never the secret."""
    return f"{admin.KEY_PREFIX}{key.lookup}…"


def name_problem(name: str) -> str | None:
    """Say why a key name cannot be saved, or None."""
    if not name.strip():
        return NAME_REQUIRED
    if len(name) > MAX_NAME:
        return NAME_TOO_LONG
    if not name.isprintable():
        return NAME_UNPRINTABLE
    return None


def account_keys(session: Session, account_id: str) -> list[ApiKey]:
    """Return an account's keys, newest first, revoked ones included."""
    return list(reversed(admin.list_keys(session, account_id)))
