"""Password resets: a single-use, expiring emailed link; only the token's digest is kept."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from ..core.models import PasswordReset, User
from . import people
from .people import PeopleError
from .sessions import digest, end_sessions

MAX_TOKEN_LENGTH = 128


def request_reset(session: Session, user: User, now: datetime, valid_for: timedelta) -> str:
    """Store a reset for `user` and return its token (for the link; never stored as such)."""
    # One link at a time: asking again spends the earlier links; spent ones of anyone go.
    session.execute(
        delete(PasswordReset).where(
            (PasswordReset.user_id == user.id) | (PasswordReset.expires_at <= now)
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        PasswordReset(
            token_digest=digest(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + valid_for,
        )
    )
    session.flush()
    return token


def pending(session: Session, token: str, now: datetime) -> PasswordReset | None:
    """Return the reset a link's token names while it can still be used."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    reset = session.get(PasswordReset, digest(token))
    if reset is None or reset.used_at is not None or reset.expires_at <= now:
        return None
    return reset


def complete(session: Session, reset: PasswordReset, password: str, now: datetime) -> User:
    """Set the new password, spend the link, and end every session of the user."""
    user = session.get(User, reset.user_id)
    if user is None:
        raise PeopleError("token", "no such user")
    people.set_password(user, password)
    claimed = session.execute(
        update(PasswordReset)
        .where(PasswordReset.token_digest == reset.token_digest, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise PeopleError("token", "used")
    end_sessions(session, user.id)
    return user
