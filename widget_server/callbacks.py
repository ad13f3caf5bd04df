"""Callbacks: accept a visitor's request, record provider events, move the status forward."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import phone_policy
from .errors import Conflict, TooManyRequests, Unavailable, Unprocessable
from .models import Callback, CallEvent, UsedFormToken, Widget, utcnow
from .statuses import ACTIVE, TERMINAL, Status, can_move
from .tokens import TokenRefused, Tokens

log = logging.getLogger(__name__)

TOKEN_MESSAGE = "This form has expired. Please try again."
# Status tokens for honeypot hits name no stored callback and always read "queued".
DECOY_PREFIX = "decoy-"


@dataclass(frozen=True)
class Submission:
    """What a visitor sent, already shaped by the web layer (form or JSON)."""

    phone: object
    token: object
    origin: str  # the host page's origin the token must be bound to
    region: str | None = None
    name: str | None = None
    page_url: str | None = None
    locale: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    honeypot: str = ""
    consent: bool = True


@dataclass(frozen=True)
class Accepted:
    callback_id: str
    status: str
    status_token: str


def policy_for(widget: Widget) -> phone_policy.NumberPolicy:
    return phone_policy.NumberPolicy(
        default_region=widget.default_region,
        allowed_regions=widget.regions,
        allowed_types=tuple(widget.allowed_number_types) or phone_policy.DEFAULT_NUMBER_TYPES,
        whitelist=tuple(widget.whitelist),
    )


def submit(
    session: Session,
    widget: Widget,
    submission: Submission,
    *,
    tokens: Tokens,
    hit_number_limits: Callable[[str], None],
    enqueue_dial: Callable[[str, int], None],
    lease_seconds: int,
) -> Accepted:
    """Run every check, persist the callback, then enqueue its signed dial job."""
    if submission.honeypot:
        # Bots get the same answer as people, and nothing is stored or dialled.
        log.info("refused widget=%s reason=honeypot", widget.id)
        decoy = f"{DECOY_PREFIX}{secrets.token_hex(16)}"
        return Accepted(decoy, Status.QUEUED, tokens.issue_status_token(decoy))
    if widget.require_consent and not submission.consent:
        raise Unprocessable(
            fields={"consent": "Please agree so we can call you."}, reason="consent"
        )
    try:
        number = phone_policy.check(submission.phone, policy_for(widget), submission.region)
    except phone_policy.PolicyRefusal as refusal:
        log.info("refused widget=%s reason=%s", widget.id, refusal.reason)
        raise Unprocessable(fields={"phone": refusal.message}, reason=refusal.reason) from None
    try:
        form_token = tokens.read_form_token(submission.token, widget.id, submission.origin)
    except TokenRefused as refusal:
        log.info("refused widget=%s reason=%s", widget.id, refusal.reason)
        raise Unprocessable(fields={"token": TOKEN_MESSAGE}, reason=refusal.reason) from None
    _use_token_once(session, form_token.nonce, widget.id)
    hit_number_limits(number.e164)
    _take_lease(session, widget, lease_seconds)
    callback = Callback(
        widget_id=widget.id,
        visitor_number=number.e164,
        visitor_name=submission.name or None,
        page_url=submission.page_url,
        origin=submission.origin,
        locale=submission.locale,
        extra=dict(submission.extra),
    )
    session.add(callback)
    session.flush()
    session.add(CallEvent(callback_id=callback.id, status=Status.QUEUED, source="server"))
    # Committed before the job exists, so a worker never looks for a callback not yet stored.
    session.commit()
    try:
        enqueue_dial(callback.id, 1)
    except Exception as exc:
        log.error("queue unavailable for callback=%s: %s", callback.id, exc.__class__.__name__)
        apply_status(session, callback, Status.FAILED, source="server", cause="queue_unavailable")
        session.commit()
        raise Unavailable(reason="queue_down") from None
    log.info(
        "accepted callback=%s widget=%s number=%s",
        callback.id,
        widget.id,
        phone_policy.mask(number.e164),
    )
    return Accepted(callback.id, callback.status, tokens.issue_status_token(callback.id))


def _use_token_once(session: Session, nonce: str, widget_id: str) -> None:
    # The primary key decides: of two concurrent uses, exactly one insert commits.
    session.add(UsedFormToken(nonce=nonce))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        log.info("refused widget=%s reason=token_reused", widget_id)
        raise Conflict(
            TOKEN_MESSAGE, fields={"token": TOKEN_MESSAGE}, reason="token_reused"
        ) from None


def _take_lease(session: Session, widget: Widget, lease_seconds: int) -> None:
    """Refuse when the widget already has `throttle` calls in progress (0: no limit)."""
    if not widget.throttle:
        return
    since = utcnow() - timedelta(seconds=lease_seconds)
    active = session.scalar(
        select(func.count())
        .select_from(Callback)
        .where(Callback.widget_id == widget.id, Callback.status.in_([str(s) for s in ACTIVE]))
        .where(Callback.created_at >= since)
    )
    if (active or 0) >= widget.throttle:
        log.info("refused widget=%s reason=throttle", widget.id)
        raise TooManyRequests(reason="throttle")


def apply_status(
    session: Session,
    callback: Callback,
    status: str,
    *,
    source: str,
    cause: str | None = None,
    provider_call_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> bool:
    """Record an event and move the callback forward if it is news; return whether it moved."""
    moved = can_move(callback.status, status)
    session.add(
        CallEvent(
            callback_id=callback.id,
            status=status,
            cause=cause,
            source=source,
            provider_call_id=provider_call_id,
            details=dict(details or {}),
            applied=moved,
        )
    )
    if moved:
        callback.status = status
        callback.updated_at = utcnow()
        if cause:
            callback.cause = cause
        if status in TERMINAL:
            callback.finished_at = callback.updated_at
    if provider_call_id and not callback.provider_call_id:
        callback.provider_call_id = provider_call_id
    return moved
