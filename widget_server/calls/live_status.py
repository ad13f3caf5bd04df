"""What the visitor sees of a callback: its status in plain words, live as a stream of events.

The stream is Server-Sent Events read from the database (the one truth shared by every web
and worker process), polled at a short interval. It ends at a terminal status, or after a
bounded time so that a web thread is never held for ever (the web layer caps how many are
held at once); the browser reconnects after `retry` with `Last-Event-ID` and only hears
about news.

A callback refused in silence (`statuses.SILENT_REFUSALS`) is stored `rejected`, and its
visitor sees instead the life of a call that was placed and not answered, computed from the
clock: nobody learns from these views that a number is on a list, or that a bot was caught.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session, sessionmaker

from ..core import clock
from ..core.models import Callback, CallEvent
from ..core.numbers import mask
from ..core.statuses import NOT_YET_DIALING, Status, is_silenced, is_terminal
from .scheduling import visitor_text

# Plain reasons for a call that ended without a conversation, by stored cause.
REASONS = {
    "agent_no_answer": lazy_gettext("Our team couldn't answer in time."),
    "agent_busy": lazy_gettext("Our team's line was busy."),
    "agent_failed": lazy_gettext("We couldn't reach our team."),
    "visitor_no_answer": lazy_gettext("Your phone wasn't answered."),
    "visitor_busy": lazy_gettext("Your line was busy."),
    "visitor_failed": lazy_gettext("We couldn't reach your phone."),
    "provider_unavailable": lazy_gettext("Our phone service is unavailable."),
    # Routing: an agent who did not take a whispered call, nobody on duty, a machine.
    "agent_no_key": lazy_gettext("Our team couldn't answer in time."),
    "agent_voicemail": lazy_gettext("Our team couldn't answer in time."),
    "agents_away": lazy_gettext("Nobody from our team is available right now."),
    "visitor_voicemail": lazy_gettext("Your voicemail answered."),
}
TOO_LATE_TEXT = lazy_gettext("The call is already under way, so it can't be canceled now.")
ENDED_TEXT = lazy_gettext("This callback has already ended, so it can't be canceled.")
HEARTBEAT_SECONDS = 15.0
# A silenced callback waits this long as queued (or, booked, past its time) before its
# agent leg "rings": about as long as a real dial job takes to start.
PLACING_SECONDS = 1
VISITOR_CANCELED = "visitor_canceled"


def reason_text(status: str, cause: str | None) -> str | None:
    """Return a plain reason for an unhappy end (or a retry wait), None otherwise."""
    if status == Status.COMPLETED or not (is_terminal(status) or status == Status.RETRY_WAIT):
        return None
    text = REASONS.get(cause or "")
    return str(text) if text is not None else None


@dataclass(frozen=True)
class Step:
    """Where a callback stands as its visitor sees it, and since when."""

    status: Status
    at: datetime
    attempts: int
    cause: str | None


def visible_step(callback: Callback, now: datetime) -> Step:
    """Return the callback's current step for its visitor: its own, or a silenced one's."""
    if is_silenced(callback.status, callback.cause):
        return _as_if_placed(callback, now, _visitor_canceled_at(callback))
    return Step(Status(callback.status), callback.updated_at, callback.attempts, callback.cause)


def _as_if_placed(callback: Callback, now: datetime, canceled_at: datetime | None) -> Step:
    """The life a silenced callback shows: waiting, the agent leg ringing, not answered.

    Steps of a real call on a provider that reports the agent leg: queued (or scheduled
    until its time), then ringing for the widget's `timeout`, then `no_answer` for an agent
    who did not pick up, each step's time its own moment (microseconds and all).
    """
    if canceled_at is not None:  # recorded only while the visitor saw it waiting
        return Step(Status.CANCELED, canceled_at, 0, VISITOR_CANCELED)
    start = callback.scheduled_for or callback.created_at
    ringing = start + timedelta(seconds=PLACING_SECONDS)
    unanswered = ringing + timedelta(seconds=callback.widget.timeout)
    if now < ringing:
        waiting = Status.SCHEDULED if callback.scheduled_for else Status.QUEUED
        return Step(waiting, callback.created_at, 0, None)
    if now < unanswered:
        return Step(Status.AGENT_RINGING, ringing, 1, None)
    return Step(Status.NO_ANSWER, unanswered, 1, "agent_no_answer")


def _visitor_canceled_at(callback: Callback) -> datetime | None:
    """When the visitor canceled a silenced callback (a CallEvent never applied), if ever."""
    session = object_session(callback)
    if session is None:
        return None
    return session.scalar(
        select(CallEvent.occurred_at)
        .where(
            CallEvent.callback_id == callback.id,
            CallEvent.status == Status.CANCELED,
            CallEvent.source == "visitor",
        )
        .limit(1)
    )


def status_expired(callback: Callback, now: datetime, seconds: int) -> bool:
    """Say whether the callback's visitor has had its end for longer than `seconds`."""
    step = visible_step(callback, now)
    return is_terminal(step.status) and step.at < now - timedelta(seconds=seconds)


def visitor_view(callback: Callback, now: datetime) -> dict[str, Any]:
    """Return the callback as the visitor may see it (no personal data beyond a masked number)."""
    step = visible_step(callback, now)
    return {
        "id": callback.id,
        "status": step.status.value,
        "text": visitor_text(step.status, callback.scheduled_for, callback.widget),
        "reason": reason_text(step.status, step.cause),
        "terminal": is_terminal(step.status),
        "cancelable": step.status in NOT_YET_DIALING,
        "scheduled_for": iso_utc(callback.scheduled_for),
        "number": mask(callback.visitor_number),
        "attempts": step.attempts,
        "updated_at": step.at.isoformat(),
    }


def iso_utc(instant: datetime | None) -> str | None:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z") if instant else None


def event_id(view: dict[str, Any]) -> str:
    # Statuses only move forward within an attempt, so (attempt, status) never repeats.
    return f"{view.get('attempts', 0)}.{view['status']}"


@dataclass(frozen=True)
class StreamSettings:
    poll_seconds: float
    max_seconds: float
    retry_ms: int


def sse(view: dict[str, Any]) -> str:
    """Format one status as a Server-Sent Event."""
    return f"id: {event_id(view)}\nevent: status\ndata: {json.dumps(view)}\n\n"


def status_stream(
    read: Callable[[], dict[str, Any] | None],
    settings: StreamSettings,
    last_event_id: str | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[str]:
    """Yield the current status at once (unless the client has it), then each change.

    Ends at a terminal status, when the callback disappears, or after `max_seconds`.
    """
    yield f"retry: {settings.retry_ms}\n\n"
    started = clock()
    last_sent = last_event_id
    last_write = started
    while True:
        view = read()
        if view is None:
            return
        if event_id(view) != last_sent:
            last_sent = event_id(view)
            last_write = clock()
            yield sse(view)
        if view["terminal"] or clock() - started >= settings.max_seconds:
            return
        if clock() - last_write >= HEARTBEAT_SECONDS:
            # A comment line keeps proxies from closing an idle connection.
            last_write = clock()
            yield ": keep-alive\n\n"
        sleep(settings.poll_seconds)


def database_reader(
    sessions: sessionmaker[Session],
    callback_id: str,
    now: Callable[[], datetime] = clock.now,
) -> Callable[[], dict[str, Any] | None]:
    """Return a reader that opens a short session per poll (no transaction held in between)."""

    def read() -> dict[str, Any] | None:
        with sessions() as session:
            callback = session.get(Callback, callback_id)
            return visitor_view(callback, now()) if callback is not None else None

    return read
