"""Leases on calls in progress: a widget's throttle slots and one call per destination.

A lease is a row whose primary key is the slot: of two processes taking the same slot,
exactly one insert wins. A lease ends when its callback ends, or when it expires because a
provider never reported the end of the call.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..core.models import Lease, utcnow


def _take_free(insert: Any) -> Any:
    # Both databases we run on speak INSERT … ON CONFLICT DO NOTHING … RETURNING. Built
    # once per dialect, values sent as parameters: every submission takes a lease.
    return (
        insert(Lease)
        .values(key=bindparam("key"), holder=bindparam("holder"), expires_at=bindparam("expires"))
        .on_conflict_do_nothing(index_elements=[Lease.key])
        .returning(Lease.key)
    )


_TAKE_FREE = {"sqlite": _take_free(sqlite.insert), "postgresql": _take_free(postgresql.insert)}
_RECLAIM_EXPIRED = (
    update(Lease)
    .where(Lease.key == bindparam("slot"), Lease.expires_at < bindparam("now"))
    .values(holder=bindparam("holder"), expires_at=bindparam("expires"))
    .returning(Lease.key)
)


def take(session: Session, key: str, holder: str, ttl: int) -> bool:
    """Take the slot `key` for `holder` unless someone holds it unexpired."""
    now = utcnow()
    expires = now + timedelta(seconds=ttl)
    # A free slot costs one statement: no savepoint and no error to recover from. A row
    # comes back exactly when the insert won; of two concurrent takers, the primary key lets
    # one in and the other waits for it, then inserts nothing.
    # Through the session's connection (its transaction): no lease is ever an ORM object,
    # and the ORM's bulk-insert path cost more than the statement itself.
    connection = session.connection()
    take_free = _TAKE_FREE[connection.dialect.name]
    inserted = connection.execute(
        take_free, {"key": key, "holder": holder, "expires": expires}
    ).first()
    if inserted is not None:
        return True
    # Taken: reclaim it only if it has expired (a conditional update is atomic too, and
    # unlike DO UPDATE … WHERE it locks no row it leaves alone, so takers of a busy slot
    # never queue behind each other).
    reclaimed = connection.execute(
        _RECLAIM_EXPIRED, {"slot": key, "now": now, "holder": holder, "expires": expires}
    ).first()
    return reclaimed is not None


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


def expire_at(session: Session, holder: str, until: datetime) -> None:
    """End `holder`'s leases at `until`: a call handed off is over by then, as far as known."""
    session.execute(
        update(Lease)
        .where(Lease.holder == holder)
        .values(expires_at=until)
        .execution_options(synchronize_session=False)
    )


def release(session: Session, holder: str) -> None:
    session.execute(delete(Lease).where(Lease.holder == holder))
