"""How the owner sees one callback: its status in plain words, its number, its timeline.

The owner is told what really happened, including refusals the visitor was never told
of (a number on the block or opt-out list is shown as rejected, with the reason).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from flask_babel import lazy_gettext
from phonenumbers import NumberParseException
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.models import Callback, CallbackNote
from ..core.numbers import mask
from ..core.statuses import Status

STATUS_NAMES = {
    Status.QUEUED: lazy_gettext("Queued"),
    Status.SCHEDULED: lazy_gettext("Scheduled"),
    Status.RETRY_WAIT: lazy_gettext("Waiting to retry"),
    Status.DIALING: lazy_gettext("Dialing"),
    Status.AGENT_RINGING: lazy_gettext("Ringing your team"),
    Status.AGENT_ANSWERED: lazy_gettext("Team answered"),
    Status.VISITOR_RINGING: lazy_gettext("Ringing the visitor"),
    Status.CONNECTED: lazy_gettext("Connected"),
    Status.COMPLETED: lazy_gettext("Completed"),
    Status.FAILED: lazy_gettext("Failed"),
    Status.NO_ANSWER: lazy_gettext("No answer"),
    Status.BUSY: lazy_gettext("Busy"),
    Status.CANCELED: lazy_gettext("Canceled"),
    Status.REJECTED: lazy_gettext("Rejected"),
    Status.HANDED_OFF: lazy_gettext("Handed to the phone system"),
    Status.VISITOR_VOICEMAIL: lazy_gettext("Visitor's voicemail answered"),
}
# Causes worth a plain sentence; any other cause is shown as its code.
CAUSE_NAMES = {
    "honeypot": lazy_gettext("refused in silence: a bot filled the hidden field"),
    "opted_out": lazy_gettext("refused in silence: the number opted out"),
    "blocked_number": lazy_gettext("refused in silence: the number is blocked"),
    "blocked_prefix": lazy_gettext("refused in silence: the number's prefix is blocked"),
    "visitor_canceled": lazy_gettext("canceled by the visitor"),
    "owner_canceled": lazy_gettext("canceled from the dashboard"),
    "owner_call_back": lazy_gettext("called back from the dashboard"),
    "widget_closed": lazy_gettext("the widget was closed"),
    "lines_busy": lazy_gettext("all lines were busy"),
}
# Keys of a provider's answer that may carry a credential; their values are never shown.
SECRET_WORDS = ("secret", "token", "password", "passwd", "key", "auth", "signature", "cookie")
REDACTED = "••••••"


def status_name(status: str) -> str:
    name = STATUS_NAMES.get(status)  # type: ignore[call-overload]
    return str(name) if name is not None else status


def cause_name(cause: str | None) -> str | None:
    if not cause:
        return None
    name = CAUSE_NAMES.get(cause)
    return str(name) if name is not None else cause


def shown_number(callback: Callback, masked: bool) -> str:
    """The visitor's number as the member may see it ("" once retention erased it)."""
    if not callback.visitor_number:
        return ""
    if masked:
        return mask(callback.visitor_number)
    try:
        parsed = phonenumbers.parse(callback.visitor_number, None)
    except NumberParseException:
        return mask(callback.visitor_number)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def page_path(page_url: str | None) -> str:
    """The path of the visitor's page (its query string may hold personal data)."""
    if not page_url:
        return ""
    try:
        return urlsplit(page_url).path or "/"
    except ValueError:
        return ""


def redacted(details: Any) -> Any:
    """A provider's answer with every value under a credential-like key hidden."""
    if isinstance(details, Mapping):
        return {
            str(key): REDACTED
            if any(word in str(key).lower() for word in SECRET_WORDS)
            else redacted(value)
            for key, value in details.items()
        }
    if isinstance(details, list):
        return [redacted(item) for item in details]
    return details


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "event" or "note"
    status: str | None = None
    status_label: str | None = None
    cause: str | None = None
    source: str | None = None
    applied: bool = True
    author: str | None = None
    text: str | None = None


def timeline(session: Session, callback: Callback) -> list[TimelineEntry]:
    """The callback's events and notes in the order they happened."""
    entries = [
        TimelineEntry(
            at=event.occurred_at,
            kind="event",
            status=event.status,
            status_label=status_name(event.status),
            cause=cause_name(event.cause),
            source=event.source,
            applied=event.applied,
        )
        for event in callback.events
    ]
    notes = session.scalars(
        select(CallbackNote)
        .where(CallbackNote.callback_id == callback.id)
        .order_by(CallbackNote.id)
    )
    entries += [
        TimelineEntry(at=note.created_at, kind="note", author=note.author_email, text=note.body)
        for note in notes
    ]
    return sorted(entries, key=lambda entry: entry.at)
