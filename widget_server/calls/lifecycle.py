"""A callback's life once it is queued: provider events per attempt, retries, cancel.

Attempts: the dialer numbers each originate (1, 2, …) and stores the number on the callback.
Every event names the attempt it belongs to (its signed event URL or its signed job), and
only an event for the current attempt can move the callback; older ones are stored with
`applied=False`.

Retries: when the agent leg is not answered (no answer, busy, failed) or the provider fails
in a way worth repeating, and the widget's `max_retries` allows another attempt, the
callback goes to `retry_wait` instead of ending and the next attempt is queued after
`retry_delay * 2 ** (attempt - 1)` seconds (at most an hour). That is the one step back in a
callback's life: the next attempt starts again at `dialing`. A visitor who does not answer
is not called again; one whose voicemail answered (`visitor_voicemail`) is.

Agents (calls.routing): an agent leg is an attempt too. An agent who did not take the call
moves the round to its next agent at once, through the same `retry_wait` step with no
delay; retries count rounds (`Callback.rounds`), so `max_retries` means "more rounds".

A dial job only places a call from `queued`, `scheduled` or `retry_wait`, so there is
never more than one live call per callback, and a canceled callback never dials again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from ..core.errors import QueueUnavailable
from ..core.models import Callback, Widget
from ..core.statuses import NOT_YET_DIALING, Status, is_silenced, is_terminal
from ..providers import ProviderEvent
from . import leases, live_status, routing
from .status_machine import apply_status, event_row, wait_for_retry

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 3600
# Ends of an attempt that another attempt may fix: the agent was away or the provider
# stumbled. A visitor who did not answer or was busy is not called again.
# A visitor's voicemail is tried again too: a person may pick up next time.
RETRY_CAUSES = frozenset(
    {
        "agent_no_answer",
        "agent_busy",
        "agent_failed",
        "agent_voicemail",
        "agent_no_key",
        "agents_away",
        "provider_unavailable",
        "provider_timeout",
        "visitor_voicemail",
    }
)
RETRY_ENDS = frozenset({Status.NO_ANSWER, Status.BUSY, Status.FAILED, Status.VISITOR_VOICEMAIL})
UNKNOWN = "unknown"  # CallEvent.status of a report this product has no status for

EnqueueDial = Callable[[str, int, float], None]
DEFAULT_LEASE = 15 * 60  # settings.DEFAULTS["LEASE_SECONDS"], outside an app


def retry_delay(widget: Widget, attempt: int) -> int:
    """Return the seconds to wait before the attempt after `attempt` (exponential backoff)."""
    return int(min(widget.retry_delay * 2 ** (attempt - 1), MAX_RETRY_DELAY))


def may_retry(widget: Widget, callback: Callback) -> bool:
    """Say whether another round may follow: retries count rounds, not agent legs."""
    rounds = callback.rounds or callback.attempts  # 0: never routed (stored before rounds)
    return not is_terminal(callback.status) and rounds <= widget.max_retries


def lock(session: Session, callback_id: str) -> Callback | None:
    """Load a callback fresh and locked (SELECT … FOR UPDATE; SQLite serialises writers)."""
    return session.get(Callback, callback_id, with_for_update=True, populate_existing=True)


def _lease_seconds() -> int:
    return int(current_app.config["LEASE_SECONDS"]) if has_app_context() else DEFAULT_LEASE


def retry_later(
    session: Session,
    callback: Callback,
    *,
    source: str,
    cause: str | None,
    enqueue_dial: EnqueueDial,
    delay: int | None = None,
    next_agent: bool = False,
) -> int:
    """End the current attempt without ending the callback; queue the next one.

    With `next_agent`, the next attempt rings the round's next agent at once; otherwise
    it starts a new round after the widget's backoff.

    Committed before the job is queued, so the next dial job finds `retry_wait`. `delay`
    defaults to the widget's backoff; the reconciler passes 0 for an attempt that provably
    never reached the provider.
    """
    if next_agent:
        delay = 0
    else:
        routing.end_round(callback)
    if delay is None:
        delay = retry_delay(callback.widget, callback.rounds or callback.attempts)
    wait_for_retry(session, callback, source=source, cause=cause, retry_in=delay)
    # The callback keeps its slots through the wait and the next attempt: a long backoff
    # must not let its leases lapse, or the same number could be taken by another request.
    leases.extend(
        session, callback.id, callback.updated_at + timedelta(seconds=delay + _lease_seconds())
    )
    session.commit()
    try:
        enqueue_dial(callback.id, callback.attempts + 1, delay)
    except QueueUnavailable:
        log.error("queue unavailable for callback=%s", callback.id)
        apply_status(session, callback, Status.FAILED, source="server", cause="queue_unavailable")
        session.commit()
        return delay
    log.info(
        "retry callback=%s attempt=%s in %ss cause=%s",
        callback.id,
        callback.attempts + 1,
        delay,
        cause,
    )
    return delay


@dataclass(frozen=True)
class EventOutcome:
    applied: bool  # the callback moved (or went to retry_wait)
    stale: bool = False  # the event belonged to an attempt that is over
    retry_in: int | None = None


def record_event(
    session: Session,
    callback_id: str,
    attempt: int | None,
    event: ProviderEvent,
    *,
    source: str,
    enqueue_dial: EnqueueDial,
) -> EventOutcome | None:
    """Store one provider event and move the callback if it is news for the current attempt.

    `attempt` None (an event job queued before attempts were carried) counts as current.
    Returns None when the callback does not exist.
    """
    callback = lock(session, callback_id)
    if callback is None:
        return None
    details: dict[str, Any] = {**event.details, "attempt": attempt or callback.attempts}
    current = attempt is None or attempt == callback.attempts
    if not current or callback.status == Status.RETRY_WAIT:
        # A late report of an attempt that is over: kept for the record, never applied.
        _store(session, callback, event.status, event, source, details)
        session.commit()
        return EventOutcome(applied=False, stale=True)
    widget = callback.widget
    if event.status in RETRY_ENDS and routing.advance(callback, event.cause):
        _store(session, callback, event.status, event, source, {**details, "next_agent": True})
        retry_later(
            session,
            callback,
            source=source,
            cause=event.cause,
            enqueue_dial=enqueue_dial,
            next_agent=True,
        )
        return EventOutcome(applied=True, retry_in=0)
    if event.status in RETRY_ENDS and event.cause in RETRY_CAUSES and may_retry(widget, callback):
        _store(session, callback, event.status, event, source, {**details, "retried": True})
        delay = retry_later(
            session, callback, source=source, cause=event.cause, enqueue_dial=enqueue_dial
        )
        return EventOutcome(applied=True, retry_in=delay)
    moved = apply_status(
        session,
        callback,
        event.status,
        source=source,
        cause=event.cause,
        provider_call_id=event.provider_call_id,
        details=details,
    )
    session.commit()
    return EventOutcome(applied=moved)


def record_unknown(
    session: Session, callback_id: str, attempt: int, source: str, reported: str
) -> None:
    """Keep a provider's report that maps to no status, without moving anything."""
    session.add(
        event_row(
            callback_id,
            UNKNOWN,
            source=source,
            applied=False,
            details={"attempt": attempt, "reported": reported[:64]},
        )
    )
    session.commit()


def _store(
    session: Session,
    callback: Callback,
    status: str,
    event: ProviderEvent,
    source: str,
    details: dict[str, Any],
) -> None:
    session.add(
        event_row(
            callback.id,
            status,
            source=source,
            applied=False,
            cause=event.cause,
            provider_call_id=event.provider_call_id,
            details=details,
        )
    )


class CancelResult(StrEnum):
    CANCELED = "canceled"
    ALREADY_CANCELED = "already_canceled"
    TOO_LATE = "too_late"  # a call is under way or the callback has ended
    UNKNOWN = "unknown"


def cancel(
    session: Session,
    callback_id: str,
    now: datetime,
    *,
    source: str = "visitor",
    cause: str = live_status.VISITOR_CANCELED,
) -> tuple[CancelResult, Callback | None]:
    """Cancel a callback that has no live call (queued, scheduled, waiting for a retry).

    Under the row lock, so a dial job deciding at the same moment either sees `canceled`
    and never dials, or has already moved to `dialing` and the cancel answers too late.
    The visitor cancels by default; the owners' inbox names itself as `source`.
    """
    callback = lock(session, callback_id)
    if callback is None:
        return CancelResult.UNKNOWN, None
    if is_silenced(callback.status, callback.cause):
        return _cancel_silenced(session, callback, now), callback
    if callback.status == Status.CANCELED:
        session.rollback()
        return CancelResult.ALREADY_CANCELED, callback
    if callback.status not in NOT_YET_DIALING:
        session.rollback()
        return CancelResult.TOO_LATE, callback
    apply_status(session, callback, Status.CANCELED, source=source, cause=cause)
    session.commit()
    log.info("canceled callback=%s by the %s", callback.id, source)
    return CancelResult.CANCELED, callback


def _cancel_silenced(session: Session, callback: Callback, now: datetime) -> CancelResult:
    """Cancel what a silenced callback shows its visitor; the stored status stays `rejected`.

    Answered as a real cancel is, by the step the visitor sees; the cancel is kept as an
    event that is never applied, so the visitor's later views show it too.
    """
    shown = live_status.visible_step(callback, now).status
    if shown == Status.CANCELED:
        session.rollback()
        return CancelResult.ALREADY_CANCELED
    if shown not in NOT_YET_DIALING:
        session.rollback()
        return CancelResult.TOO_LATE
    session.add(
        event_row(
            callback.id,
            Status.CANCELED,
            source="visitor",
            applied=False,
            cause=live_status.VISITOR_CANCELED,
        )
    )
    session.commit()
    log.info("canceled callback=%s by the visitor (refused in silence)", callback.id)
    return CancelResult.CANCELED
