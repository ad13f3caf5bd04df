"""The callback status machine: every status change of a callback goes through here.

A status moves only forward (see ``statuses.can_move``); every report is stored as a
``CallEvent``, applied or not, so the timeline shows what each source said. A move into a
terminal status frees the callback's leases, and every move queues the owner's notices.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from ..core import metrics
from ..core.models import Callback, CallEvent, utcnow
from ..core.statuses import TERMINAL, can_move
from ..notify import owner_notices
from . import leases


def apply_status(
    session: Session,
    callback: Callback,
    status: str,
    *,
    source: str,
    cause: str | None = None,
    provider_call_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> bool:
    """Record an event and move the callback forward if it is news; return whether it moved."""
    moved = can_move(callback.status, status)
    session.add(
        CallEvent(
            callback_id=callback.id,
            status=status,
            cause=cause,
            source=source,
            provider_call_id=provider_call_id,
            details=dict(details or {}),
            applied=moved,
        )
    )
    if moved:
        metrics.CALLBACK_STATUS.labels(status).inc()
        callback.status = status
        callback.updated_at = utcnow()
        if cause:
            callback.cause = cause
        if status in TERMINAL:
            callback.finished_at = callback.updated_at
            leases.release(session, callback.id)
        # Webhooks and emails to the site owner: queued after commit, never sent inline.
        owner_notices.status_moved(session, callback, status)
    if provider_call_id and not callback.provider_call_id:
        callback.provider_call_id = provider_call_id
    return moved
