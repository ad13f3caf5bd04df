"""The callback status machine: every status change of a callback goes through here.

A status moves only forward (see ``statuses.can_move``), with one step back: an attempt
that ended unanswered returns the callback to ``retry_wait`` until the next one. Every
report is stored as a ``CallEvent``, applied or not, so the timeline shows what each source
said. A move into a terminal status frees the callback's leases, and every forward move
queues the owner's notices.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from ..core import metrics
from ..core.models import Callback, CallEvent, utcnow
from ..core.statuses import NO_OUTCOME_REPORTED, TERMINAL, Status, can_move
from ..notify import owner_notices
from . import leases


def event_row(
    callback_id: str,
    status: str,
    *,
    source: str,
    applied: bool,
    cause: str | None = None,
    provider_call_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> CallEvent:
    """Build the timeline row for one report about a callback."""
    return CallEvent(
        callback_id=callback_id,
        status=status,
        cause=cause,
        source=source,
        provider_call_id=provider_call_id,
        details=dict(details or {}),
        applied=applied,
    )


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
        event_row(
            callback.id,
            status,
            source=source,
            applied=moved,
            cause=cause,
            provider_call_id=provider_call_id,
            details=details,
        )
    )
    if moved:
        _move(callback, status, cause)
        if status in TERMINAL:
            callback.finished_at = callback.updated_at
            if status != Status.HANDED_OFF:
                # A handed-off call may still be going on: hand_off() bounds its leases.
                leases.release(session, callback.id)
        # Webhooks and emails to the site owner: queued after commit, never sent inline.
        owner_notices.status_moved(session, callback, status)
    if provider_call_id and not callback.provider_call_id:
        callback.provider_call_id = provider_call_id
    return moved


def hand_off(
    session: Session,
    callback: Callback,
    *,
    source: str,
    lease_seconds: int,
    details: Mapping[str, Any] | None = None,
) -> bool:
    """End a callback a provider that reports no outcome has accepted: `handed_off`.

    Its leases (the visitor's number, the widget's slot) run on for `lease_seconds` from
    the call's start (its booked time, for a booking), as the call is probably under way.
    """
    moved = apply_status(
        session,
        callback,
        Status.HANDED_OFF,
        source=source,
        cause=NO_OUTCOME_REPORTED,
        details={"provider": source, "reports_outcome": False, **(details or {})},
    )
    if moved:
        start = max(callback.scheduled_for or callback.updated_at, callback.updated_at)
        leases.expire_at(session, callback.id, start + timedelta(seconds=lease_seconds))
    return moved


def wait_for_retry(
    session: Session, callback: Callback, *, source: str, cause: str | None, retry_in: int
) -> None:
    """Step back to retry_wait: the current attempt is over, the callback is not."""
    session.add(
        event_row(
            callback.id,
            Status.RETRY_WAIT,
            source=source,
            applied=True,
            cause=cause,
            details={"attempt": callback.attempts, "retry_in": retry_in},
        )
    )
    # No owner notice: the owner hears how the callback ends, not of each attempt.
    _move(callback, Status.RETRY_WAIT, cause)


def _move(callback: Callback, status: str, cause: str | None) -> None:
    metrics.CALLBACK_STATUS.labels(status).inc()
    callback.status = status
    callback.updated_at = utcnow()
    if cause:
        callback.cause = cause
