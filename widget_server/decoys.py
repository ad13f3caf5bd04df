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

from .models import utcnow
from .phone_policy import mask

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
