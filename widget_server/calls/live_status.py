"""What the visitor sees of a callback: its status in plain words, live as a stream of events.

The stream is Server-Sent Events read from the database (the one truth shared by every web
and worker process), polled at a short interval. It ends at a terminal status, or after a
bounded time so that a web thread is never held for ever (the web layer caps how many are
held at once); the browser reconnects after `retry` with `Last-Event-ID` and only hears
about news. A decoy's stream runs the same loop on a view that never changes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_babel import lazy_gettext
from sqlalchemy.orm import Session, sessionmaker

from ..core.models import Callback
from ..core.numbers import mask
from ..core.statuses import NOT_YET_DIALING, Status, is_terminal
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
}
CANCELED_TEXT = lazy_gettext("Your callback was canceled. We won't call you.")
TOO_LATE_TEXT = lazy_gettext("The call is already under way, so it can't be canceled now.")
ENDED_TEXT = lazy_gettext("This callback has already ended, so it can't be canceled.")
HEARTBEAT_SECONDS = 15.0


def reason_text(status: str, cause: str | None) -> str | None:
    """Return a plain reason for an unhappy end (or a retry wait), None otherwise."""
    if status == Status.COMPLETED or not (is_terminal(status) or status == Status.RETRY_WAIT):
        return None
    text = REASONS.get(cause or "")
    return str(text) if text is not None else None


def visitor_view(callback: Callback) -> dict[str, Any]:
    """Return the callback as the visitor may see it (no personal data beyond a masked number)."""
    status = Status(callback.status)
    return {
        "id": callback.id,
        "status": status.value,
        "text": visitor_text(status, callback.scheduled_for, callback.widget),
        "reason": reason_text(status, callback.cause),
        "terminal": is_terminal(status),
        "cancelable": status in NOT_YET_DIALING,
        "scheduled_for": iso_utc(callback.scheduled_for),
        "number": mask(callback.visitor_number),
        "attempts": callback.attempts,
        "updated_at": callback.updated_at.isoformat(),
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
    sessions: sessionmaker[Session], callback_id: str
) -> Callable[[], dict[str, Any] | None]:
    """Return a reader that opens a short session per poll (no transaction held in between)."""

    def read() -> dict[str, Any] | None:
        with sessions() as session:
            callback = session.get(Callback, callback_id)
            return visitor_view(callback) if callback is not None else None

    return read
