"""The dashboard's emails (password reset, invitation) through the SMTP sender, if set."""

from __future__ import annotations

import logging
import threading
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app
from flask_babel import gettext

from ...notify import mail

log = logging.getLogger(__name__)


def _send(to: str, subject: str, lines: list[str], background: bool = False) -> bool:
    config = dict(current_app.config)
    if not mail.enabled(config):
        log.info("dashboard email not sent: SMTP_HOST is not set")
        return False
    email = EmailMessage()
    email["Subject"] = subject
    email["From"] = str(config["SMTP_FROM"])
    email["To"] = to
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = make_msgid(domain=str(config["SMTP_FROM"]).rpartition("@")[2])
    email.set_content("\n".join(lines) + "\n")
    if background:
        # After the answer: how long the mail server takes must not tell whether the
        # email belongs to a user.
        threading.Thread(target=_deliver, args=(email, config), daemon=True).start()
        return True
    return _deliver(email, config)


def _deliver(email: EmailMessage, config: dict[str, object]) -> bool:
    try:
        mail.send(email, config)
    except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors
        log.warning("dashboard email failed: %s", exc.__class__.__name__)
        return False
    return True


def send_password_reset(to: str, link: str, seconds: int) -> bool:
    return _send(
        to,
        gettext("Reset your dashboard password"),
        [
            gettext("Someone asked to reset the password of this email's dashboard user."),
            gettext(
                "Open this link within %(minutes)s minutes to choose a new password:",
                minutes=seconds // 60,
            ),
            "",
            link,
            "",
            gettext("The link works once. If you did not ask for it, ignore this email."),
        ],
        background=True,
    )


def send_invitation(to: str, account: str, link: str, seconds: int) -> bool:
    return _send(
        to,
        gettext("You are invited to %(account)s", account=account),
        [
            gettext("You are invited to the dashboard of %(account)s.", account=account),
            gettext("Open this link within %(days)s days to join:", days=max(1, seconds // 86400)),
            "",
            link,
            "",
            gettext("The link works once."),
        ],
    )
