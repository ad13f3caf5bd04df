"""A widget under pressure: when a farm of addresses spends its calls, ask everyone to prove
they are human, so the budget is kept for the visitors who can.

Rate limits stop one address or one number; a farm of many addresses and numbers stays
under each of them and still spends a widget's, an account's or the server's budget, after
which genuine visitors are refused for hours. So every accepted submission is counted per
widget, with the distinct addresses it came from; past ESCALATE_AFTER_ACCEPTED or
ESCALATE_AFTER_SOURCES the widget is under pressure for ESCALATE_HOLD_SECONDS, and each new
submission must pass a human check: the widget's own if it has one, else ALTCHA's proof of
work, built in. A person's browser solves it in about a second; a farm pays for every call.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import current_app
from limits import parse
from limits.storage import Storage

from ..core.models import Widget
from .guard import NAMESPACE, STORAGE, TALLIED, Hit, parsed_limits
from .human_checks.altcha import DEFAULT_MAX_NUMBER

log = logging.getLogger(__name__)

# An address is one more source the first time it is accepted within this window.
SOURCE_WINDOW = parse("1 per 10 minutes")
# The check a pressured widget asks for when it has none of its own.
BUILT_IN_CHECK: Mapping[str, Any] = {"kind": "altcha", "max_number": DEFAULT_MAX_NUMBER}


def _storage() -> Storage:
    storage: Storage = current_app.extensions[STORAGE]
    return storage


def flag(widget_id: str) -> str:
    """The name of the widget's pressure flag in the limit store."""
    return f"{NAMESPACE}/pressure/{widget_id}"


def under_pressure(widget: Widget) -> bool:
    """Say whether the widget's submissions must pass a human check now."""
    try:
        return _storage().get(flag(widget.id)) > 0
    except Exception as exc:
        # Fail towards asking: a check costs a person a second, a farm its calls.
        log.error("pressure flag unreadable: %s", exc.__class__.__name__)
        return True


def human_check(widget: Widget, pressured: bool | None = None) -> Mapping[str, Any]:
    """The human check a submission to this widget must pass right now ({} for none).

    `pressured`: whether the widget is under pressure, when its flag was read already.
    """
    if widget.human_check:
        return widget.human_check
    if pressured is None:
        pressured = under_pressure(widget)
    return BUILT_IN_CHECK if pressured else {}


def put_under_pressure(widget: Widget) -> None:
    """Ask every submission to the widget for a human check for ESCALATE_HOLD_SECONDS."""
    _storage().incr(flag(widget.id), int(current_app.config["ESCALATE_HOLD_SECONDS"]))
    log.warning("widget=%s under pressure: human checks required", widget.id)


def accepted_hits(widget: Widget, client: str) -> list[Hit]:
    """What one accepted submission adds to the widget's pressure count.

    Counted by the submission's own limits (guard.hit_limits), after them and in the same
    round trip: a submission those refuse adds nothing. Every window counts, full or not
    (TALLIED); a full one is reported back, for `escalate`.
    """
    config = current_app.config
    accepted: list[Hit] = [
        (item, ("accepted", widget.id), 1, TALLIED, 0)
        for item in parsed_limits(str(config["ESCALATE_AFTER_ACCEPTED"]))
    ]
    sources: list[Hit] = [
        (item, ("sources", widget.id), 1, TALLIED, 0)
        for item in parsed_limits(str(config["ESCALATE_AFTER_SOURCES"]))
    ]
    # The address is one more source only the first time in SOURCE_WINDOW: a gate onto
    # the sources' windows.
    first_time = (SOURCE_WINDOW, ("source", widget.id, client), 1, None, len(sources))
    return [*accepted, first_time, *sources]


def escalate(widget: Widget) -> None:
    """The pressure count passed a bound: put the widget under pressure, unless it is."""
    try:
        if not under_pressure(widget):
            put_under_pressure(widget)
    except Exception as exc:
        # The callback is already accepted; a lost flag only delays the escalation.
        log.error("pressure not raised: %s", exc.__class__.__name__)
