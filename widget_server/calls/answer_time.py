"""How long a widget's visitors usually wait for a connected call, to tell the next one.

The median time from request to connected over the widget's recent callbacks, once at
least `MIN_CONNECTED` of them connected: fewer say nothing reliable, so nothing is shown.
One bounded query (the newest `RECENT` callbacks by the widget/created index, then their
connected events), kept in process for `CACHE_SECONDS`, so a busy form page costs nothing.
"""

from __future__ import annotations

import math
import statistics
import time
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.models import Callback, CallEvent
from ..core.statuses import Status

MIN_CONNECTED = 10
RECENT = 200
CACHE_SECONDS = 60.0
ROUND_TO = 5  # seconds: "within 20 seconds" reads better than "within 17"

_cache: dict[str, tuple[float, int | None]] = {}


def usual_answer_seconds(session: Session, widget_id: str) -> int | None:
    """The widget's recent median seconds to a connected call, rounded up, or None."""
    now = time.monotonic()
    cached = _cache.get(widget_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    value = _measure(session, widget_id)
    _cache[widget_id] = (now + CACHE_SECONDS, value)
    return value


def forget(widget_id: str | None = None) -> None:
    """Drop cached figures (all of them, or one widget's)."""
    if widget_id is None:
        _cache.clear()
    else:
        _cache.pop(widget_id, None)


def _measure(session: Session, widget_id: str) -> int | None:
    recent = (
        select(Callback.id, Callback.created_at)
        .where(Callback.widget_id == widget_id)
        .order_by(Callback.created_at.desc())
        .limit(RECENT)
        .subquery()
    )
    rows = session.execute(
        select(recent.c.created_at, CallEvent.occurred_at)
        .join(CallEvent, CallEvent.callback_id == recent.c.id)
        .where(CallEvent.status == Status.CONNECTED.value, CallEvent.applied.is_(True))
    ).all()
    waits = [(_utc(connected) - _utc(asked)).total_seconds() for asked, connected in rows]
    waits = [w for w in waits if w >= 0]
    if len(waits) < MIN_CONNECTED:
        return None
    median = statistics.median(waits)
    return max(ROUND_TO, math.ceil(median / ROUND_TO) * ROUND_TO)


def _utc(instant: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored as UTC); PostgreSQL aware ones.
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)
