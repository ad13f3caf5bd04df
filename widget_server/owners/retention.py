"""Retention and erasure: remove visitors' numbers and personal details from stored calls.

What is erased from a callback: the number (the keyed `number_hash` stays), the name, the
page URL's query and fragment (which can carry anything), `extra`, the provider's details;
from its events, their details; from its webhook deliveries, the payload's number, name,
page URL and extra. Statuses, times, causes and UTM parameters stay, so reports still add
up. Per-number rate limits live in the rate-limit store under their own windows and
opt-outs in the block list: neither reads the callbacks, so both keep working after an
erasure (an opt-out is the person's own request and is never erased here).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import phonenumbers
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from ..calls import leases
from ..calls.status_machine import apply_status
from ..core.models import AuditEntry, Callback, CallEvent, WebhookDelivery, Widget, utcnow
from ..core.numbers import mask
from ..core.statuses import TERMINAL, Status
from ..intake.number_hash import candidates, number_hash
from . import audit

log = logging.getLogger(__name__)

BATCH = 200
ERASED_PAYLOAD_KEYS = ("number", "name", "extra")


@dataclass(frozen=True)
class Erased:
    callbacks: int = 0
    events: int = 0
    webhook_deliveries: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "callbacks": self.callbacks,
            "events": self.events,
            "webhook_deliveries": self.webhook_deliveries,
        }


def _strip_query(url: str | None) -> str | None:
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def erase_callback(session: Session, callback: Callback, now: datetime | None = None) -> Erased:
    """Erase one callback's personal data (already erased ones are scrubbed again, harmless)."""
    if callback.visitor_number and not callback.number_hash:
        callback.number_hash = number_hash(callback.visitor_number)
    callback.visitor_number = ""
    callback.visitor_name = None
    callback.page_url = _strip_query(callback.page_url)
    callback.extra = {}
    callback.provider_details = {}
    callback.erased_at = callback.erased_at or now or utcnow()
    # A handed-off call's lease outlives its end (it expires, and is not deleted): its key
    # names the number.
    leases.release(session, callback.id)
    events = list(session.scalars(select(CallEvent).where(CallEvent.callback_id == callback.id)))
    for event in events:
        event.details = {}
    deliveries = list(
        session.scalars(select(WebhookDelivery).where(WebhookDelivery.callback_id == callback.id))
    )
    for delivery in deliveries:
        scrubbed: dict[str, Any] = dict(delivery.payload or {})
        for key in ERASED_PAYLOAD_KEYS:
            if key in scrubbed:
                scrubbed[key] = {} if key == "extra" else None
        scrubbed["page_url"] = _strip_query(scrubbed.get("page_url"))
        delivery.payload = scrubbed  # a new dict, so the JSON column sees the change
    return Erased(1, len(events), len(deliveries))


def erase_expired(session: Session, days: int, now: datetime | None = None) -> int:
    """Erase finished callbacks created more than `days` ago; 0 days keeps everything."""
    if not days or days <= 0:
        return 0
    moment = now or utcnow()
    cutoff = moment - timedelta(days=days)
    erased = 0
    while True:
        batch = list(
            session.scalars(
                select(Callback)
                .where(
                    Callback.created_at < cutoff,
                    Callback.erased_at.is_(None),
                    Callback.status.in_([status.value for status in TERMINAL]),
                )
                .order_by(Callback.created_at)
                .limit(BATCH)
            )
        )
        for callback in batch:
            erase_callback(session, callback, moment)
        session.commit()  # one transaction per batch: a big backlog never holds long locks
        erased += len(batch)
        if len(batch) < BATCH:
            break
    if erased:
        log.info("retention erased %s callbacks older than %s days", erased, days)
    return erased


def purge_audit_entries(session: Session, days: int, now: datetime | None = None) -> int:
    """Delete audit entries older than `days`; 0 days keeps everything."""
    if not days or days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    result = session.execute(delete(AuditEntry).where(AuditEntry.at < cutoff))
    session.commit()
    purged = int(getattr(result, "rowcount", 0) or 0)
    if purged:
        log.info("retention purged %s audit entries older than %s days", purged, days)
    return purged


def erase_number(
    session: Session, account_id: str, e164: str, actor: audit.Actor | None = None
) -> Erased:
    """Erase one number's data across an account's callbacks; calls still to come are canceled.

    A person who asks to be forgotten must not be called afterwards either, so a callback
    still queued, scheduled or under way is canceled (no further attempt is made) first.
    """
    hashes = candidates(e164)
    found = list(
        session.scalars(
            select(Callback)
            .join(Widget, Widget.id == Callback.widget_id)
            .where(
                Widget.account_id == account_id,
                Callback.erased_at.is_(None),
                or_(Callback.visitor_number == e164, Callback.number_hash.in_(hashes)),
            )
            .with_for_update(of=Callback)
        )
    )
    total = Erased()
    for callback in found:
        if callback.status not in TERMINAL:
            apply_status(session, callback, Status.CANCELED, source="server", cause="erased")
            session.flush()
        one = erase_callback(session, callback)
        total = Erased(
            total.callbacks + one.callbacks,
            total.events + one.events,
            total.webhook_deliveries + one.webhook_deliveries,
        )
    if actor is not None:
        # The number masked, as everywhere it is logged: the log must not undo the erasure.
        details = {"number": mask(e164), "callbacks": total.callbacks}
        audit.record(session, actor, audit.NUMBER_ERASED, details=details)
    session.commit()
    log.info("erased callbacks=%s account=%s on request", total.callbacks, account_id)
    return total


def e164_or_none(value: object) -> str | None:
    """Read a number for erasure: any valid-looking international number, as E.164."""
    if not isinstance(value, str) or not value.strip() or len(value) > 40:
        return None
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
