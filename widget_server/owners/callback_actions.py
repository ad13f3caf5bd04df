"""What a member may do to a callback from the inbox: call back now, cancel, mark, note.

Calling back reuses the dialer's retry path: the callback steps back to `retry_wait` and a
signed dial job for the next attempt is queued, so the dialer's own guards (one originate
per attempt, never from a live call) hold, and the checks a dial needs run here first:
the number is not erased, blocked or opted out and still passes the widget's number
rules, and the widget's line and the number's lease are free.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask_babel import gettext
from sqlalchemy.orm import Session

from ..calls import blocklist, leases, lifecycle
from ..calls.queue import DialQueue
from ..calls.status_machine import apply_status, wait_for_retry
from ..core.errors import QueueUnavailable
from ..core.models import Callback, CallbackNote, utcnow
from ..core.statuses import NOT_YET_DIALING, TERMINAL, Status
from ..core.text import has_control, has_unpaired_surrogate
from ..intake import phone_policy
from ..intake.submission import policy_for
from . import audit

log = logging.getLogger(__name__)

SOURCE = "owner"  # CallEvent.source of what a member did in the dashboard
CALL_BACK_CAUSE = "owner_call_back"
CANCEL_CAUSE = "owner_canceled"
MAX_NOTE = 2000


class ActionRefused(Exception):
    """An action that cannot be done now; `message` tells the member why."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def call_back_now(
    session: Session,
    callback: Callback,
    queue: DialQueue,
    lease_seconds: int,
    actor: audit.Actor | None = None,
) -> Callback:
    """Start a new attempt of `callback` now, or raise ActionRefused saying why not."""
    locked = lifecycle.lock(session, callback.id)
    if locked is None:
        raise ActionRefused(gettext("This callback no longer exists."))
    callback = locked
    widget = callback.widget
    refusal = _call_back_refusal(session, callback)
    if refusal:
        session.rollback()
        raise ActionRefused(refusal)
    _record(session, actor, audit.CALLBACK_CALLED_BACK, callback, {"status": callback.status})
    stepped_back = callback.status in TERMINAL
    if stepped_back:
        # Its leases went with its end; a new attempt takes them again, as a submission does.
        if not (
            leases.take_widget_slot(session, widget.id, widget.throttle, callback.id, lease_seconds)
            and leases.take_destination(
                session, callback.visitor_number, callback.id, lease_seconds
            )
        ):
            session.rollback()
            raise ActionRefused(
                gettext("The lines are busy or this number is being called. Try again soon.")
            )
        wait_for_retry(session, callback, source=SOURCE, cause=CALL_BACK_CAUSE, retry_in=0)
        callback.finished_at = None
        session.commit()
    # Scheduled and retry_wait keep their later job: the dialer runs whichever comes first
    # and drops the other, as it never runs an attempt twice.
    try:
        queue.enqueue_dial(callback.id, callback.attempts + 1, 0)
    except QueueUnavailable:
        log.error("queue unavailable for callback=%s", callback.id)
        if stepped_back:
            # No job will run this attempt: end it rather than leave it waiting forever.
            apply_status(
                session, callback, Status.FAILED, source="server", cause="queue_unavailable"
            )
            session.commit()
        else:
            session.rollback()  # nothing was done: no entry says it was
        raise ActionRefused(
            gettext("Calls cannot be placed right now. Please try again later.")
        ) from None
    session.commit()  # the entry, when the callback waited already and nothing else changed
    log.info("call back now callback=%s attempt=%s", callback.id, callback.attempts + 1)
    return callback


def _call_back_refusal(session: Session, callback: Callback) -> str | None:
    widget = callback.widget
    if not callback.visitor_number:
        return gettext("The number was erased; it cannot be called.")
    if not widget.enabled or widget.closed:
        return gettext("The widget is closed; open it to place calls.")
    if callback.status == Status.QUEUED:
        return gettext("This callback is already waiting for its call.")
    if callback.status not in NOT_YET_DIALING and callback.status not in TERMINAL:
        return gettext("A call is in progress for this callback.")
    try:
        # The widget's number rules as they are now: a region or whitelist taken away
        # since the visitor asked applies to this new call.
        phone_policy.check(callback.visitor_number, policy_for(widget))
    except phone_policy.PolicyRefusal as refusal:
        return gettext(
            "The widget no longer allows this number: %(reason)s", reason=refusal.message
        )
    blocked = blocklist.number_blocked(session, callback.visitor_number)
    if blocked == "opted_out":
        return gettext("This number opted out of calls.")
    if blocked:
        return gettext("This number is on the block list.")
    return None


def cancel(
    session: Session, callback: Callback, now: datetime, actor: audit.Actor | None = None
) -> Callback:
    """Cancel a callback that is not being called yet, or raise ActionRefused."""
    if callback.status in TERMINAL:
        raise ActionRefused(gettext("This callback has already ended."))
    # Written by the cancel's own commit; any other outcome rolls it back with the rest.
    _record(session, actor, audit.CALLBACK_CANCELED, callback, {"status": callback.status})
    result, canceled = lifecycle.cancel(
        session, callback.id, now, source=SOURCE, cause=CANCEL_CAUSE
    )
    if result == lifecycle.CancelResult.CANCELED and canceled is not None:
        return canceled
    session.rollback()
    if result == lifecycle.CancelResult.TOO_LATE:
        raise ActionRefused(gettext("Too late to cancel: the call has started."))
    raise ActionRefused(gettext("This callback has already ended."))


def mark_handled(
    session: Session,
    callback: Callback,
    who: str,
    handled: bool = True,
    actor: audit.Actor | None = None,
) -> Callback:
    """Mark the callback handled by `who` now (or clear the mark)."""
    callback.handled_at = utcnow() if handled else None
    callback.handled_by = who[:255] if handled else None
    action = audit.CALLBACK_HANDLED if handled else audit.CALLBACK_UNHANDLED
    _record(session, actor, action, callback)
    session.commit()
    return callback


def add_note(
    session: Session,
    callback: Callback,
    author_id: str,
    author_email: str,
    text: str,
    actor: audit.Actor | None = None,
) -> CallbackNote:
    """Store a note on the callback, or raise ActionRefused naming the field `note`."""
    body = text.replace("\r\n", "\n").strip()
    if not body:
        raise ActionRefused(gettext("Write the note first."), field="note")
    if len(body) > MAX_NOTE:
        raise ActionRefused(
            gettext("A note holds at most %(limit)s characters.", limit=MAX_NOTE),
            field="note",
        )
    if has_control(body.replace("\n", "").replace("\t", "")) or has_unpaired_surrogate(body):
        raise ActionRefused(
            gettext("The note holds characters that cannot be stored."), field="note"
        )
    note = CallbackNote(
        callback_id=callback.id, author_id=author_id, author_email=author_email[:255], body=body
    )
    session.add(note)
    # The note's length only: its text may hold what the visitor said, and stays on the call.
    _record(session, actor, audit.NOTE_ADDED, callback, {"characters": len(body)})
    session.commit()
    return note


def _record(
    session: Session,
    actor: audit.Actor | None,
    action: str,
    callback: Callback,
    details: dict[str, object] | None = None,
) -> None:
    if actor is not None:
        audit.record(
            session, actor, action, object_type="callback", object_id=callback.id, details=details
        )
