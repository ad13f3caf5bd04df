"""What the form page offers outside business hours: the next slots instead of "call now"."""

from __future__ import annotations

from typing import Any

from flask import Flask

from ..calls import scheduling
from ..core import clock
from ..core.models import Widget


def booking_offer(widget: Widget) -> dict[str, Any]:
    """Return {"open": bool, "slots": [{"start", "label"}]} for templates/_slots.html."""
    now = clock.now()
    if scheduling.hours_now(widget, now).open:
        return {"open": True, "slots": []}
    slots = scheduling.offered_slots(widget, now)
    return {"open": False, "slots": [scheduling.slot_json(widget, slot) for slot in slots]}


def init_app(app: Flask) -> None:
    app.jinja_env.globals["booking_offer"] = booking_offer
