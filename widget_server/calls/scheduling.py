"""Scheduled callbacks: what a visitor may book, checks when a booking is due, the sweeper."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from babel.dates import format_datetime
from flask import has_request_context
from flask_babel import get_locale, gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.errors import Unprocessable
from ..core.models import Callback, Widget
from ..core.statuses import VISITOR_TEXT, Status
from . import blocklist, hours, leases

log = logging.getLogger(__name__)

DEFAULT_SLOT_COUNT = 8
MAX_SLOT_COUNT = 50
# A due booking whose line is busy waits this long between tries, and gives up after the
# second figure: a call long after the booked time would surprise the visitor.
BUSY_RETRY_SECONDS = 60
BUSY_GIVE_UP = timedelta(minutes=30)
# The sweeper leaves a due booking this long to its own queued job before enqueueing another.
SWEEP_GRACE = timedelta(seconds=60)
SWEEP_BATCH = 500


def schedule(widget: Widget, department: str | None = None) -> hours.Schedule:
    """Return the widget's schedule, or a department's own when it has business hours."""
    business_hours = widget.business_hours
    for found in widget.departments or []:
        if department and found.get("key") == department and found.get("business_hours"):
            business_hours = found["business_hours"]
    if hours.validation_errors(business_hours):
        # Stored before schedules were checked: treat as "always open", as it was then,
        # rather than fail every page of the widget.
        log.warning("widget=%s has invalid business_hours; treated as always open", widget.id)
        business_hours = {}
    return hours.schedule_for(business_hours, widget.time_zone)


@dataclass(frozen=True)
class Hours:
    """Whether a widget takes calls now; the shape of the public ``hours`` key."""

    open: bool
    closed: bool
    next_open: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "open": self.open,
            "closed": self.closed,
            "next_open": _iso(self.next_open) if self.next_open else None,
        }


def hours_now(widget: Widget, now: datetime, department: str | None = None) -> Hours:
    if widget.closed:
        return Hours(open=False, closed=True, next_open=None)
    plan = schedule(widget, department)
    return Hours(hours.is_open(plan, now), False, hours.next_open(plan, now))


def offered_slots(
    widget: Widget, now: datetime, count: int = DEFAULT_SLOT_COUNT, department: str | None = None
) -> list[datetime]:
    return hours.slots(schedule(widget, department), now, count)


def slot_json(widget: Widget, slot: datetime) -> dict[str, str]:
    return {"start": _iso(slot), "label": local_label(widget, slot)}


def local_label(widget: Widget, instant: datetime) -> str:
    """Show an instant in the widget's time zone, in the visitor's language."""
    locale = str(get_locale()) if has_request_context() else "en"
    zone = schedule(widget).zone
    return format_datetime(instant, "EEE d MMM, HH:mm", tzinfo=zone, locale=locale)


def booking_for(
    widget: Widget, requested: str | None, now: datetime, department: str | None = None
) -> datetime | None:
    """Return the booked slot (UTC), or None to call now; refuse naming ``scheduled_for``.

    The slot is recomputed from the schedule at submission time: a value that is not a slot
    the form offers now (forged, stale, outside hours) is refused, never stored.
    """
    if requested is None:
        state = hours_now(widget, now, department)
        if state.open:
            return None
        message = gettext("We're not taking calls right now. Please choose a time for your call.")
        raise Unprocessable(fields={"scheduled_for": message}, reason="outside_hours")
    try:
        slot = datetime.fromisoformat(requested)
    except ValueError:
        slot = None
    if slot is None or slot.tzinfo is None:
        message = gettext("Choose one of the offered times.")
        raise Unprocessable(fields={"scheduled_for": message}, reason="slot_invalid")
    slot = slot.astimezone(UTC)
    if not hours.is_offered(schedule(widget, department), slot, now):
        message = gettext("This time is no longer available. Please choose another.")
        raise Unprocessable(fields={"scheduled_for": message}, reason="slot_not_offered")
    return slot


def visitor_text(status: str, scheduled_for: datetime | None, widget: Widget) -> str:
    """The status text for the visitor; a booking names its local time."""
    if status in (Status.SCHEDULED, Status.HANDED_OFF) and scheduled_for is not None:
        # A booking handed to a provider's own scheduler is still a booking to its visitor.
        return gettext(
            "Your callback is booked for %(time)s (%(zone)s).",
            time=local_label(widget, scheduled_for),
            zone=widget.time_zone,
        )
    return str(VISITOR_TEXT[Status(status)])


# When a booking is due (worker side) ---------------------------------------------------


@dataclass(frozen=True)
class Gate:
    """What to do with a due booking: dial, wait and try again, or end it with a status."""

    wait: float = 0
    status: str | None = None
    cause: str | None = None


DIAL = Gate()


def gate(session: Session, callback: Callback, now: datetime, lease_seconds: int) -> Gate:
    """Run the per-number checks again when a booking is due, and take its leases.

    Rate limits were counted at submission; what can change in between is an opt-out or a
    block, and whether the widget's lines and the visitor's number are free right now.
    """
    widget = callback.widget
    if widget.closed or not widget.enabled:
        return Gate(status=Status.FAILED, cause="widget_closed")
    blocked = blocklist.number_blocked(session, callback.visitor_number)
    if blocked:
        return Gate(status=Status.REJECTED, cause=blocked)
    if leases.take_widget_slot(
        session, widget.id, widget.throttle, callback.id, lease_seconds
    ) and leases.take_destination(session, callback.visitor_number, callback.id, lease_seconds):
        return DIAL
    booked = callback.scheduled_for or now
    if now - booked > BUSY_GIVE_UP:
        return Gate(status=Status.FAILED, cause="lines_busy")
    return Gate(wait=BUSY_RETRY_SECONDS)


def sweep(session: Session, now: datetime, enqueue_dial: Callable[[str, int], None]) -> int:
    """Enqueue a first dial for every booking overdue by more than the grace period.

    Safe to repeat and to race with the booking's own job: the dialer never runs an attempt
    twice, so a lost job is replaced and a duplicate is dropped.
    """
    due = session.scalars(
        select(Callback.id)
        .where(
            Callback.status == Status.SCHEDULED,
            Callback.scheduled_for <= now - SWEEP_GRACE,
        )
        .order_by(Callback.scheduled_for)
        .limit(SWEEP_BATCH)
    ).all()
    for callback_id in due:
        enqueue_dial(callback_id, 1)
    if due:
        log.info("sweeper enqueued %s due scheduled callbacks", len(due))
    return len(due)


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
