"""Tell the site owner what happened to a callback: webhooks and emails, never inline.

Called where a callback is created and where its status moves (`callbacks.submit`,
`callbacks.apply_status`). Each notice is only written down here (a delivery row, a job
to enqueue); the jobs are enqueued after the transaction commits, so the submit path never
waits on a receiver, and a notice that cannot be queued is logged and never touches the
callback.
"""

from __future__ import annotations

import logging

from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from ..core import outbox
from ..core.models import Callback
from . import mail, webhooks

log = logging.getLogger(__name__)


def callback_created(session: Session, callback: Callback) -> None:
    _webhook(session, callback, webhooks.CREATED)


def status_moved(session: Session, callback: Callback, status: str) -> None:
    _webhook(session, callback, webhooks.event_type(status))
    if has_app_context() and mail.wanted(callback, status, current_app.config):
        jobs = current_app.extensions["jobs"]
        callback_id = callback.id
        outbox.after_commit(session, lambda: jobs.enqueue_owner_email(callback_id, status))


def _webhook(session: Session, callback: Callback, kind: str) -> None:
    if not has_app_context():
        return
    try:
        delivery = webhooks.record(session, callback, kind)
    except Exception as exc:  # a webhook problem must never stop the callback
        log.error("webhook event not recorded callback=%s: %s", callback.id, exc.__class__)
        return
    if delivery is not None:
        jobs = current_app.extensions["jobs"]
        outbox.after_commit(session, lambda: jobs.enqueue_webhook(delivery.id, 1))
