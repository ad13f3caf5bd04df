"""Dashboard sessions kept server-side: the cookie carries only a random id.

A row per signed-in browser makes rotation at sign-in, sign-out and "sign out everywhere"
real: a copied cookie stops working once its row is gone.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from ..core.models import DashboardSession, Membership


def digest(token: str) -> str:
    """Return the SHA-256 hex digest a secret token is stored and looked up by."""
    return hashlib.sha256(token.encode()).hexdigest()


# last_seen_at is written at most this often, so reading pages does not write every time.
TOUCH_EVERY = timedelta(minutes=1)


def start(session: Session, user_id: str, account_id: str, now: datetime) -> str:
    """Open a session and return the id for the cookie (never stored as such)."""
    session_id = secrets.token_urlsafe(32)
    session.add(
        DashboardSession(
            id_digest=digest(session_id),
            user_id=user_id,
            account_id=account_id,
            created_at=now,
            last_seen_at=now,
        )
    )
    session.flush()
    return session_id


def find(
    session: Session, session_id: str, now: datetime, idle: timedelta, lifetime: timedelta
) -> tuple[DashboardSession, Membership] | None:
    """Return a live session and the membership it acts under, ending a stale one."""
    if not session_id or len(session_id) > 128:
        return None
    row = session.get(DashboardSession, digest(session_id))
    if row is None:
        return None
    if now - row.last_seen_at > idle or now - row.created_at > lifetime:
        session.delete(row)
        session.commit()
        return None
    membership = session.get(Membership, (row.user_id, row.account_id))
    if membership is None:  # removed from the account since
        session.delete(row)
        session.commit()
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        session.commit()
    return row, membership


def purge_stale(session: Session, now: datetime, idle: timedelta, lifetime: timedelta) -> int:
    """Delete sessions past their idle or total lifetime (run at each sign-in, so the table
    holds about as many rows as there are live sessions)."""
    query = delete(DashboardSession).where(
        (DashboardSession.last_seen_at < now - idle)
        | (DashboardSession.created_at < now - lifetime)
    )
    return int(session.execute(query).rowcount or 0)  # type: ignore[attr-defined]


def end(session: Session, session_id: str) -> None:
    session.execute(
        delete(DashboardSession).where(DashboardSession.id_digest == digest(session_id))
    )


def end_sessions(session: Session, user_id: str, account_id: str | None = None) -> int:
    """End every session of a user (in one account, or everywhere); return how many."""
    query = delete(DashboardSession).where(DashboardSession.user_id == user_id)
    if account_id is not None:
        query = query.where(DashboardSession.account_id == account_id)
    return int(session.execute(query).rowcount or 0)  # type: ignore[attr-defined]
