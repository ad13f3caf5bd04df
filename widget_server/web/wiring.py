"""Shared view plumbing: find a widget, hand a submission to the domain with the app's parts."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import current_app, request

from ..calls.live_status import status_expired
from ..core import clock, db, ids
from ..core.errors import NotFound
from ..core.models import Callback, Widget
from ..core.tokens import TokenRefused, Tokens, tokens
from ..intake import widget_snapshots
from ..intake.submission import Accepted, Browser, Intake, Submission, submit
from ..jobs import jobs
from .limits import client_ip_key
from .request_origin import own_origin, request_origin

log = logging.getLogger(__name__)


def widget_or_404(widget_id: str) -> Widget:
    """The widget of a public request (loader config, form, live status) in its session."""
    return widget_snapshots.attached(db.session(), kept_widget_or_404(widget_id))


def kept_widget_or_404(widget_id: str) -> Widget:
    """The widget as this process keeps it, for a submission (read it only).

    Current while no widget or block-list entry has changed since it was read. Shared with
    every request: `submit` reads it, and attaches a copy where the session needs one.
    """
    widget = widget_snapshots.kept(db.session(), widget_id) if ids.plausible(widget_id) else None
    if widget is None or not widget.enabled:
        raise NotFound("No such widget.")
    return widget


def submit_callback(widget: Widget, submission: Submission) -> Accepted:
    """Submit a browser's request: the form page's, or a custom UI's JSON."""
    # The human check was solved on the page that sent the request (the form page on this
    # server, or an allowed host page for the JSON API): a captcha's reported hostname
    # must be that page's host.
    browser = Browser(
        remote_ip=request.remote_addr, page_host=urlsplit(request_origin() or own_origin()).hostname
    )
    return submit(db.session(), widget, submission, intake(tokens(), browser))


def intake(
    form_tokens: Tokens, browser: Browser | None, idempotency_scope: str | None = None
) -> Intake:
    """Build what a submission from this request runs against."""
    return Intake(
        tokens=form_tokens,
        queue=jobs(),
        lease_seconds=current_app.config["LEASE_SECONDS"],
        client=client_ip_key(),
        address=request.remote_addr,
        browser=browser,
        idempotency_scope=idempotency_scope,
    )


def callback_for_status_token(token: str) -> Callback:
    """Return the callback a status token names.

    Forged tokens, unknown callbacks and tokens of a callback whose visitor has seen its
    end for longer than STATUS_TOKEN_SECONDS answer 404.
    """
    try:
        callback_id = tokens().read_status_token(token)
    except TokenRefused:
        raise NotFound("No such callback.") from None
    callback = db.session().get(Callback, callback_id) if ids.plausible(callback_id) else None
    if callback is None or status_expired(
        callback, clock.now(), current_app.config["STATUS_TOKEN_SECONDS"]
    ):
        raise NotFound("No such callback.")
    return callback
