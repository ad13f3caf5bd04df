"""Shared view plumbing: find a widget, hand a submission to the domain with the app's parts."""

from __future__ import annotations

import logging

from flask import current_app, request

from .. import blocklist, db, ids
from ..callbacks import DECOY_PREFIX, Accepted, Submission, submit
from ..errors import NotFound, TooManyRequests
from ..guard import hit_limits
from ..jobs import jobs
from ..models import Callback, Widget
from ..tokens import TokenRefused, tokens

log = logging.getLogger(__name__)


def widget_or_404(widget_id: str) -> Widget:
    widget = db.session().get(Widget, widget_id) if ids.plausible(widget_id) else None
    if widget is None or not widget.enabled:
        raise NotFound("No such widget.")
    return widget


def submit_callback(widget: Widget, submission: Submission) -> Accepted:
    if blocklist.address_blocked(db.session(), request.remote_addr):
        log.info("refused widget=%s reason=blocked_address", widget.id)
        raise TooManyRequests(reason="blocked_address")
    return submit(
        db.session(),
        widget,
        submission,
        tokens=tokens(),
        hit_limits=hit_limits,
        enqueue_dial=jobs().enqueue_dial,
        lease_seconds=current_app.config["LEASE_SECONDS"],
    )


def callback_for_status_token(token: str) -> tuple[str, Callback | None]:
    """Return (callback id, callback) for a status token; the callback is None for a decoy.

    Forged tokens and unknown callbacks answer 404.
    """
    try:
        callback_id = tokens().read_status_token(token)
    except TokenRefused:
        raise NotFound("No such callback.") from None
    if callback_id.startswith(DECOY_PREFIX):
        return callback_id, None
    callback = db.session().get(Callback, callback_id)
    if callback is None:
        raise NotFound("No such callback.")
    return callback_id, callback
