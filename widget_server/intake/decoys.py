"""Decoys: the answer to a submission refused in silence (honeypot, block list, opt-out).

A decoy is stored nowhere. What its status views show is carried in its signed status
token, so they read exactly like a real callback's: the same keys, the masked number, a
booking's time and the widget's CORS headers. Nobody learns from them that a number is on
the block or opt-out list.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..calls.live_status import iso_utc
from ..calls.scheduling import visitor_text
from ..core.models import Widget, utcnow
from ..core.numbers import mask
from ..core.statuses import VISITOR_TEXT, Status

PREFIX = "decoy-"
_SEPARATOR = "|"


@dataclass(frozen=True)
class Decoy:
    id: str  # 32 hex digits, like a real callback id
    widget_id: str
    created_at: datetime
    number: str  # masked; empty for a honeypot hit (nothing was parsed)
    scheduled_for: datetime | None

    def ref(self) -> str:
        """The string the status token signs."""
        booked = str(int(self.scheduled_for.timestamp())) if self.scheduled_for else ""
        fields = (self.id, self.widget_id, str(int(self.created_at.timestamp())), booked)
        return PREFIX + _SEPARATOR.join((*fields, self.number))


def make(widget_id: str, e164: str | None, scheduled_for: datetime | None) -> Decoy:
    return Decoy(
        id=secrets.token_hex(16),
        widget_id=widget_id,
        created_at=utcnow().replace(microsecond=0),
        number=mask(e164) if e164 else "",
        scheduled_for=scheduled_for,
    )


def is_decoy(ref: str) -> bool:
    return ref.startswith(PREFIX)


def parse(ref: str) -> Decoy:
    """Read a decoy back from its (already verified) reference."""
    body = ref.removeprefix(PREFIX)
    parts = body.split(_SEPARATOR, 4)
    if len(parts) != 5:  # issued before decoys carried their details
        return Decoy(body, "", utcnow(), "", None)
    decoy_id, widget_id, created, booked, number = parts
    return Decoy(
        id=decoy_id,
        widget_id=widget_id,
        created_at=datetime.fromtimestamp(int(created), UTC),
        number=number,
        scheduled_for=datetime.fromtimestamp(int(booked), UTC) if booked else None,
    )


def view(decoy: Decoy, widget: Widget | None) -> dict[str, Any]:
    """Return what a decoy shows: a queued (or booked) callback like any other."""
    status = Status.SCHEDULED if decoy.scheduled_for else Status.QUEUED
    text = (
        visitor_text(status, decoy.scheduled_for, widget)
        if widget is not None
        else str(VISITOR_TEXT[status])
    )
    return {
        "id": decoy.id,
        "status": status.value,
        "text": text,
        "reason": None,
        "terminal": False,
        "cancelable": True,
        "scheduled_for": iso_utc(decoy.scheduled_for),
        "number": decoy.number,
        "attempts": 0,
        "updated_at": decoy.created_at.isoformat(),
    }
