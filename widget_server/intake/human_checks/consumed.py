"""Solutions used once: a SHA-256 of each accepted-for-checking response, until it expires."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...core.models import ConsumedChallenge, utcnow


def consume(session: Session, kind: str, material: str, expires_at: datetime) -> bool:
    """Record `material` as used; return False when it was used before.

    The primary key decides: of two concurrent uses, exactly one insert commits. Only a
    hash is stored, so the table never holds a usable token.
    """
    key = hashlib.sha256(f"{kind}\x00{material}".encode()).hexdigest()
    purge_expired(session)
    session.add(ConsumedChallenge(key=key, kind=kind, expires_at=expires_at))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def purge_expired(session: Session, now: datetime | None = None) -> int:
    """Delete rows whose response can no longer pass anyway (its challenge or token expired)."""
    result = session.execute(
        delete(ConsumedChallenge).where(ConsumedChallenge.expires_at < (now or utcnow()))
    )
    return int(getattr(result, "rowcount", 0) or 0)
