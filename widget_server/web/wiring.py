"""Shared view plumbing: find a widget, hand a submission to the domain with the app's parts."""

from __future__ import annotations

from flask import current_app

from .. import db
from ..callbacks import Accepted, Submission, submit
from ..errors import NotFound
from ..guard import hit_number_limits
from ..jobs import jobs
from ..models import Widget
from ..tokens import tokens


def widget_or_404(widget_id: str) -> Widget:
    widget = db.session().get(Widget, widget_id) if len(widget_id) <= 64 else None
    if widget is None or not widget.enabled:
        raise NotFound("No such widget.")
    return widget


def submit_callback(widget: Widget, submission: Submission) -> Accepted:
    return submit(
        db.session(),
        widget,
        submission,
        tokens=tokens(),
        hit_number_limits=hit_number_limits,
        enqueue_dial=jobs().enqueue_dial,
        lease_seconds=current_app.config["LEASE_SECONDS"],
    )
