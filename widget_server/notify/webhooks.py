"""Outbound webhooks: signed JSON events about a widget's callbacks, to the site owner's URL.

Each event is stored as a WebhookDelivery (its payload fixed when the event happened) and
sent by a signed job; a failed attempt (network error, timeout, non-2xx answer) is retried
with exponential backoff until WEBHOOK_MAX_ATTEMPTS, then the delivery is `dead`. Nothing
here ever changes a callback: a webhook that fails is the receiver's problem, not the call's.

Each attempt is signed afresh with the widget's webhook secret, in the one scheme of
core/signing.py (`X-Widget-Server-Signature: t=<unix seconds>,v1=<hex>`).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core import egress, signing
from ..core.models import Callback, WebhookDelivery, Widget, utcnow
from ..core.statuses import TERMINAL, Status

log = logging.getLogger(__name__)

CREATED = "callback.created"
STATUS_CHANGED = "callback.status_changed"
COMPLETED = "callback.completed"
FAILED = "callback.failed"
TEST = "webhook.test"
EVENT_TYPES = (CREATED, STATUS_CHANGED, COMPLETED, FAILED, TEST)
# Ends in which the visitor wanted a call and did not get one. A visitor's own cancel is
# not a failure: it arrives as callback.status_changed with "terminal": true.
FAILED_STATUSES = frozenset(
    {Status.FAILED, Status.NO_ANSWER, Status.BUSY, Status.REJECTED, Status.VISITOR_VOICEMAIL}
)

EVENT_HEADER = "X-Widget-Server-Event"
EVENT_ID_HEADER = "X-Widget-Server-Event-Id"
USER_AGENT = "widget-server-webhooks/1"

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
DELIVERY_STATUSES = (PENDING, DELIVERED, DEAD)
SWEEP_GRACE = 300  # seconds a pending delivery may be overdue before the sweep queues it


# Events ----------------------------------------------------------------------------------


def event_type(status: str) -> str:
    """Name the event for a callback that has just moved to `status`."""
    if status == Status.COMPLETED:
        return COMPLETED
    if status in FAILED_STATUSES:
        return FAILED
    return STATUS_CHANGED


def payload(callback: Callback, kind: str, *, at: datetime | None = None) -> dict[str, Any]:
    """Build an event's JSON: what the callback looks like at this moment."""
    moment = at or utcnow()
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": kind,
        "timestamp": moment.isoformat(),
        "widget_id": callback.widget_id,
        "callback_id": callback.id,
        "number": callback.visitor_number or None,
        "name": callback.visitor_name,
        "status": callback.status,
        "terminal": callback.status in TERMINAL,
        "cause": callback.cause,
        "attempts": callback.attempts or 0,
        "page_url": callback.page_url,
        "utm": dict(callback.utm or {}),
        "extra": dict(callback.extra or {}),
        "created_at": callback.created_at.isoformat() if callback.created_at else None,
    }


def record(session: Session, callback: Callback, kind: str) -> WebhookDelivery | None:
    """Store the event for delivery when the widget has a webhook; None when it has none."""
    widget = callback.widget
    if not widget.webhook_url:
        return None
    # The callback's row first: the delivery refers to it, and its defaults (status,
    # created_at) are only filled in by the flush.
    session.flush()
    delivery = WebhookDelivery(
        widget_id=widget.id,
        callback_id=callback.id,
        event=kind,
        payload=payload(callback, kind),
        status=PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(delivery)
    return delivery


def encode(event: Mapping[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), sort_keys=True).encode()


# Sending ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status_code: int | None = None
    error: str | None = None
    retryable: bool = True


def send(url: str, secret: str, event: Mapping[str, Any], config: Any) -> Attempt:
    """POST one event, signed now; never raises for anything the receiver does."""
    problem = egress.url_problem(
        url, allow_http=config["WEBHOOK_ALLOW_HTTP"], allow_private=config["WEBHOOK_ALLOW_PRIVATE"]
    )
    if problem in (egress.NOT_PUBLIC, egress.LOCAL_NAME):
        return Attempt(False, error=egress.REFUSED, retryable=False)
    if problem:
        return Attempt(False, error=f"url refused: {problem}", retryable=False)
    body = encode(event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: str(event.get("type", "")),
        EVENT_ID_HEADER: str(event.get("id", "")),
        signing.HEADER: signing.sign(secret, body),
    }
    timeout = float(config["WEBHOOK_TIMEOUT"])
    # Resolved once and checked before connecting: a refused address is never connected
    # to, so the answer is the same whether anything listens there or not.
    http = egress.webhook_policy(config).session()
    try:
        with http.post(
            url,
            data=body,
            headers=headers,
            timeout=(min(5.0, timeout), timeout),
            allow_redirects=False,
            stream=True,  # the answer's body is never read: a receiver cannot flood us
        ) as response:
            code = response.status_code
    except egress.DestinationRefused:
        # A configuration problem, not a passing one: retrying would only probe again.
        return Attempt(False, error=egress.REFUSED, retryable=False)
    except requests.Timeout:
        return Attempt(False, error="timeout")
    except requests.RequestException as exc:
        return Attempt(False, error=f"connection error ({exc.__class__.__name__})")
    finally:
        http.close()
    if 200 <= code < 300:
        return Attempt(True, status_code=code)
    return Attempt(False, status_code=code, error=f"answered HTTP {code}")


def retry_delay(attempts_made: int, config: Any) -> float:
    """Seconds before the next attempt after `attempts_made` failed ones (doubling)."""
    base = float(config["WEBHOOK_RETRY_BASE_DELAY"])
    return float(min(base * 2 ** (attempts_made - 1), float(config["WEBHOOK_MAX_RETRY_DELAY"])))


def _host(url: str | None) -> str:
    try:
        return urlsplit(url or "").hostname or "?"
    except ValueError:
        return "?"


def run(
    session: Session,
    delivery_id: object,
    attempt: object,
    *,
    config: Any,
    schedule: Callable[[int, int, float], None],
) -> None:
    """Run one delivery attempt from a verified job; schedule the next one if it fails."""
    if not isinstance(delivery_id, int) or not isinstance(attempt, int):
        log.warning("webhook job dropped: malformed")
        return
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.status != PENDING or delivery.attempts >= attempt:
        # Delivered, dead or already tried: a redelivered job never sends twice.
        session.rollback()
        return
    widget = session.get(Widget, delivery.widget_id)
    url = widget.webhook_url if widget is not None else None
    secret = widget.webhook_secret if widget is not None else None
    delivery.attempts = attempt
    # In flight until then; should this worker die mid-request, the sweep takes it up after.
    delivery.next_attempt_at = utcnow() + timedelta(seconds=2 * float(config["WEBHOOK_TIMEOUT"]))
    # Committed before sending: a crash mid-request leaves this attempt counted, not repeated.
    session.commit()
    if not url or not secret:
        outcome = Attempt(False, error="webhook no longer configured", retryable=False)
    else:
        outcome = send(url, secret, delivery.payload, config)
    _note(session, delivery, outcome, config, schedule)
    log.info(
        "webhook delivery=%s widget=%s event=%s host=%s attempt=%s -> %s",
        delivery.id,
        delivery.widget_id,
        delivery.event,
        _host(url),
        attempt,
        delivery.status if outcome.ok or delivery.status == DEAD else "retry",
    )


def _note(
    session: Session,
    delivery: WebhookDelivery,
    outcome: Attempt,
    config: Any,
    schedule: Callable[[int, int, float], None],
) -> None:
    delivery.last_status_code = outcome.status_code
    delivery.last_error = (outcome.error or None) and str(outcome.error)[:255]
    delivery.next_attempt_at = None
    if outcome.ok:
        delivery.status = DELIVERED
        delivery.delivered_at = utcnow()
        session.commit()
        return
    if not outcome.retryable or delivery.attempts >= int(config["WEBHOOK_MAX_ATTEMPTS"]):
        delivery.status = DEAD
        session.commit()
        log.warning(
            "webhook delivery=%s widget=%s dead after %s attempts: %s",
            delivery.id,
            delivery.widget_id,
            delivery.attempts,
            delivery.last_error,
        )
        return
    delay = retry_delay(delivery.attempts, config)
    delivery.next_attempt_at = utcnow() + timedelta(seconds=delay)
    session.commit()
    schedule(delivery.id, delivery.attempts + 1, delay)


def overdue(session: Session, *, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Return pending deliveries whose job is long overdue: never queued (the queue was down
    when the event was committed), or lost with a worker that died mid-attempt."""
    cutoff = (now or utcnow()) - timedelta(seconds=SWEEP_GRACE)
    query = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at < cutoff)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def sweep(session: Session, schedule: Callable[[int, int, float], None]) -> int:
    """Queue the next attempt of every overdue delivery; a duplicate job is harmless, since
    each attempt runs once (see `run`)."""
    found = overdue(session)
    for delivery_id in found:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is not None:
            schedule(delivery.id, delivery.attempts + 1, 0)
    session.rollback()
    if found:
        log.warning("webhook sweep queued %s overdue deliveries", len(found))
    return len(found)


def send_test(session: Session, widget: Widget, config: Any) -> WebhookDelivery:
    """Send a sample event to the widget's webhook now (one attempt) and log it."""
    now = utcnow()
    sample = {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": TEST,
        "timestamp": now.isoformat(),
        "widget_id": widget.id,
        "callback_id": None,
        "number": "+12015550123",
        "name": "Sample Visitor",
        "status": Status.COMPLETED.value,
        "terminal": True,
        "cause": None,
        "attempts": 1,
        "page_url": "https://www.example.com/pricing?utm_source=newsletter&utm_medium=email",
        "utm": {"utm_source": "newsletter", "utm_medium": "email"},
        "extra": {"sample": "true"},
        "created_at": now.isoformat(),
    }
    delivery = WebhookDelivery(
        widget_id=widget.id, event=TEST, payload=sample, status=PENDING, attempts=1
    )
    session.add(delivery)
    session.commit()
    outcome = send(widget.webhook_url or "", widget.webhook_secret or "", sample, config)
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error[:255] if outcome.error else None
    delivery.status = DELIVERED if outcome.ok else DEAD
    delivery.delivered_at = utcnow() if outcome.ok else None
    session.commit()
    log.info(
        "webhook test widget=%s host=%s -> %s",
        widget.id,
        _host(widget.webhook_url),
        delivery.status,
    )
    return delivery


# The delivery log ------------------------------------------------------------------------


def deliveries(
    session: Session, widget: Widget, *, limit: int = 50, status: str | None = None
) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).where(WebhookDelivery.widget_id == widget.id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    query = query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
    return list(session.scalars(query.limit(limit)))


def describe(delivery: WebhookDelivery) -> dict[str, Any]:
    def when(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "id": delivery.id,
        "event_id": (delivery.payload or {}).get("id"),
        "event": delivery.event,
        "callback_id": delivery.callback_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "created_at": when(delivery.created_at),
        "next_attempt_at": when(delivery.next_attempt_at),
        "delivered_at": when(delivery.delivered_at),
        "payload": delivery.payload,
    }
