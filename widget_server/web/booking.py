"""What the form page offers outside business hours: the next slots instead of "call now"."""

from __future__ import annotations

from typing import Any

from flask import Flask

from ..calls import scheduling
from ..core import clock
from ..core.models import Widget


def booking_offer(widget: Widget, department: str | None = None) -> dict[str, Any]:
    """Return {"open": bool, "slots": [{"start", "label"}]} for templates/_slots.html, by
    the hours of the department the visitor picked, if it has its own."""
    now = clock.now()
    if scheduling.hours_now(widget, now, department).open:
        return {"open": True, "slots": []}
    slots = scheduling.offered_slots(widget, now, department=department)
    return {"open": False, "slots": [scheduling.slot_json(widget, slot) for slot in slots]}


def init_app(app: Flask) -> None:
    app.jinja_env.globals["booking_offer"] = booking_offer
