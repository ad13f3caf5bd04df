"""Count each refused submission in the analytics tally, by reason: no database write.

A refusal must neither write nor wait for SQLite's write lock (db.defer_write_lock), so
it only adds to the tally, which the rollup job flushes into the daily rows.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, request

from ..core import clock, ids
from ..jobs import jobs
from ..owners.analytics import steps
from ..owners.analytics.steps import Step
from .limits import BROWSER_SUBMISSIONS

NOT_COUNTED = frozenset({404, 405})  # no such widget, or not a submission at all

log = logging.getLogger(__name__)


def count_refusal(response: Response) -> Response:
    if (
        request.method != "POST"
        or request.endpoint not in BROWSER_SUBMISSIONS
        or response.status_code < 400
        or response.status_code in NOT_COUNTED
    ):
        return response
    widget_id = (request.view_args or {}).get("widget_id", "")
    if not ids.plausible(widget_id):
        return response
    reason = g.pop("refused_reason", None)  # the check that refused named it (metrics.refused)
    try:
        jobs().analytics_tally.add(
            widget_id, clock.now(), Step.REFUSED, {steps.REASON: steps.reason_value(reason)}
        )
    except Exception as exc:  # noqa: BLE001
        # The answer is already decided (often a 503 because Redis is down, where the tally
        # lives too): a count lost must never turn it into a 500.
        log.warning("refusal not counted: %s", type(exc).__name__)
    return response


def init_app(app: Flask) -> None:
    app.after_request(count_refusal)
