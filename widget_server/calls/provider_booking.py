"""Bookings a provider keeps in its own scheduler (Capability.SCHEDULING, e.g. Voiptech).

A scheduled callback on such a widget is handed to the provider when it is booked, not
dialled by this server at its time: the provider's scheduler places the call, with its own
retries (the widget's `max_retries`, `retry_delay` seconds apart). Once the provider took
the booking the callback ends `handed_off`, its `scheduled_for` kept.

One booking per callback, across crashes too: the booking counts as attempt 1, committed
before the provider is asked, so a redelivered job stops at once. A worker killed before
the answer leaves the callback `scheduled` with that attempt; nobody can say whether the
provider holds it, so the reconciler ends it `failed` with cause `lost` after its time
(never booked twice).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from .. import providers
from ..core.models import Callback, Widget
from ..core.statuses import Status
from . import routing
from .status_machine import event_row

PROVIDER_BOOKING = "provider_booking"
# A booking this close to its time is dialled here: the provider needs a future time.
MIN_LEAD = timedelta(seconds=60)


def books_with_provider(
    widget: Widget, booked_for: datetime | None, now: datetime, department: str | None = None
) -> bool:
    """Say whether a booking for `booked_for` goes to the widget's provider's scheduler.

    Only a booking that rings one agent does: the provider's scheduler knows no rounds, so
    several agents (of the widget or the visitor's department) are dialled from here.
    """
    if booked_for is None or booked_for - now < MIN_LEAD or widget.scheduling == "server":
        return False
    if len(routing.agents_of(widget, department)) > 1:
        return False
    adapter = providers.REGISTRY.get(widget.provider)
    return adapter is not None and adapter.can(providers.Capability.SCHEDULING)


def mark_sent(session: Session, callback: Callback, attempt: int) -> None:
    """Commit the booking's attempt before the provider is asked (see the module)."""
    callback.attempts = attempt
    session.add(
        event_row(
            callback.id,
            Status.SCHEDULED,
            source="server",
            applied=False,
            cause=PROVIDER_BOOKING,
            details={"attempt": attempt, "provider": callback.widget.provider},
        )
    )
    session.commit()


def book(
    provider: providers.Provider, callback: Callback, request: providers.CallRequest
) -> providers.OriginateResult:
    """Ask the provider to book the call for the callback's time."""
    widget = callback.widget
    assert callback.scheduled_for is not None  # books_with_provider said so
    return provider.schedule(
        request, callback.scheduled_for, widget.max_retries, widget.retry_delay, callback.id
    )
