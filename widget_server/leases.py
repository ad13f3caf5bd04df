"""Leases on calls in progress: a widget's throttle slots and one call per destination.

A lease is a row whose primary key is the slot: of two processes taking the same slot,
exactly one insert wins. A lease ends when its callback ends, or when it expires because a
provider never reported the end of the call.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import Lease, utcnow


def take(session: Session, key: str, holder: str, ttl: int) -> bool:
    """Take the slot `key` for `holder` unless someone holds it unexpired."""
    now = utcnow()
    expires = now + timedelta(seconds=ttl)
    try:
        with session.begin_nested():
            session.add(Lease(key=key, holder=holder, expires_at=expires))
        return True
    except IntegrityError:
        pass
    # Taken: reclaim it only if it has expired (a conditional update is atomic too).
    result = session.execute(
        update(Lease)
        .where(Lease.key == key, Lease.expires_at < now)
        .values(holder=holder, expires_at=expires)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def take_widget_slot(
    session: Session, widget_id: str, throttle: int, holder: str, ttl: int
) -> bool:
    """Take one of the widget's `throttle` slots (0 means no limit)."""
    if throttle <= 0:
        return True
    return any(take(session, f"widget:{widget_id}:{slot}", holder, ttl) for slot in range(throttle))


def take_destination(session: Session, e164: str, holder: str, ttl: int) -> bool:
    return take(session, f"number:{e164}", holder, ttl)


def extend(session: Session, holder: str, until: datetime) -> None:
    """Keep `holder`'s leases until at least `until` (a retry wait outlasting the lease)."""
    session.execute(
        update(Lease)
        .where(Lease.holder == holder, Lease.expires_at < until)
        .values(expires_at=until)
        .execution_options(synchronize_session=False)
    )


def release(session: Session, holder: str) -> None:
    session.execute(delete(Lease).where(Lease.holder == holder))
