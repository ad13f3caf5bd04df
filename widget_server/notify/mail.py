"""Email to the site owner when a callback was missed or failed (off unless SMTP_HOST is set).

The owner needs the visitor's full number to call back, so the message carries it; logs
only ever show it masked.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from flask_babel import gettext
from sqlalchemy.orm import Session

from ..core.models import Callback
from ..core.numbers import mask
from ..core.statuses import OWNER_TEXT, Status

log = logging.getLogger(__name__)

# Missed: the visitor did not pick up or was busy. Failed: the call could not be placed.
NOTIFY_STATUSES = frozenset(
    {Status.NO_ANSWER, Status.BUSY, Status.FAILED, Status.VISITOR_VOICEMAIL}
)


def enabled(config: Any) -> bool:
    return bool(config.get("SMTP_HOST"))


def wanted(callback: Callback, status: str, config: Any) -> bool:
    """Say whether this move calls for an email (SMTP configured, addresses set)."""
    return status in NOTIFY_STATUSES and enabled(config) and bool(callback.widget.notify_emails)


def message(callback: Callback, config: Any) -> EmailMessage:
    widget = callback.widget
    missed = callback.status in (Status.NO_ANSWER, Status.BUSY, Status.VISITOR_VOICEMAIL)
    subject = (
        gettext("Missed callback request on %(widget)s", widget=widget.name)
        if missed
        else gettext("Failed callback request on %(widget)s", widget=widget.name)
    )
    lines = [
        gettext("A visitor asked to be called back, and the call did not happen."),
        "",
        gettext("Number: %(number)s", number=callback.visitor_number),
        gettext("Name: %(name)s", name=callback.visitor_name or "-"),
        gettext("Outcome: %(status)s", status=_outcome(callback.status)),
        gettext("Reason: %(cause)s", cause=callback.cause or "-"),
        gettext("Attempts: %(attempts)s", attempts=callback.attempts),
        gettext("Requested at: %(time)s UTC", time=f"{callback.created_at:%Y-%m-%d %H:%M}"),
        gettext("Page: %(page)s", page=callback.page_url or "-"),
        gettext("Callback id: %(id)s", id=callback.id),
    ]
    email = EmailMessage()
    email["Subject"] = subject
    email["From"] = str(config["SMTP_FROM"])
    email["To"] = ", ".join(widget.notify_emails)
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = make_msgid(domain=str(config["SMTP_FROM"]).rpartition("@")[2])
    email.set_content("\n".join(lines) + "\n")
    return email


def _outcome(status: str) -> str:
    owner_text = OWNER_TEXT.get(status)  # type: ignore[call-overload]
    return f"{status} ({owner_text})" if owner_text else status


def send(email: EmailMessage, config: Any) -> None:
    """Hand one message to the configured SMTP server; raises on failure (the job retries)."""
    host, port = str(config["SMTP_HOST"]), int(config["SMTP_PORT"])
    timeout = float(config["SMTP_TIMEOUT"])
    context = ssl.create_default_context()
    server: smtplib.SMTP
    if config["SMTP_SSL"]:
        server = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        server = smtplib.SMTP(host, port, timeout=timeout)
    with server:
        if config["SMTP_STARTTLS"] and not config["SMTP_SSL"]:
            server.starttls(context=context)
        if config["SMTP_USERNAME"]:
            server.login(str(config["SMTP_USERNAME"]), str(config["SMTP_PASSWORD"] or ""))
        server.send_message(email)


def notify(session: Session, callback_id: object, status: object, config: Any) -> bool:
    """Email the owner about one callback's end, from a verified job; return whether sent."""
    callback = session.get(Callback, callback_id) if isinstance(callback_id, str) else None
    if callback is None or callback.status != status or callback.erased_at is not None:
        return False
    if not wanted(callback, callback.status, config):
        return False
    send(message(callback, config), config)
    log.info(
        "owner emailed callback=%s widget=%s status=%s number=%s recipients=%s",
        callback.id,
        callback.widget_id,
        callback.status,
        mask(callback.visitor_number),
        len(callback.widget.notify_emails),
    )
    return True
