"""Provider events over HTTP: signed event URLs, then the provider's own check and body.

An event URL is `<EVENT_BASE_URL>/v1/events/<provider>/<ref>`; the ref is signed (its own
salt) and names the callback, the attempt and the provider, so it cannot be guessed, and an
event cannot be moved to another call, attempt or provider. What else a request must prove
and what its body looks like is the adapter's to say (Provider.authenticate_event,
event_payload and parse_event): Twilio's must carry a valid `X-Twilio-Signature`, the
webhook provider's a valid `X-Widget-Server-Signature` (core/signing.py); by default the
signed URL is the only credential and the body is a JSON object (or form) `{"status": "<a
status of this product>", "call_id"?: "…", "cause"?: "…"}`, the shape the webhook provider
documents and a PBX dialplan can post with curl.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from .. import providers
from ..core import egress
from ..core.errors import BadRequest, Forbidden, NotFound
from ..core.models import Callback, Widget
from ..core.statuses import Status
from ..core.tokens import EventRef, TokenRefused, Tokens, tokens
from ..providers import EventRefused, EventReply, EventRequest, EventUnreadable, Provider
from . import dialer, lifecycle, routing

log = logging.getLogger(__name__)

EVENT_PATH = "/v1/events"
FORBIDDEN_MESSAGE = "This event URL is not valid."


def event_base_url() -> str | None:
    """Return the absolute base providers reach this server at, or None when unknown."""
    config = current_app.config
    base = config.get("EVENT_BASE_URL") or config.get("PUBLIC_ORIGIN")
    return str(base).rstrip("/") if base else None


def event_url(callback_id: str, attempt: int, provider: str) -> str | None:
    """Return the signed URL a provider posts this attempt's events to (None: no base URL)."""
    base = event_base_url()
    if base is None:
        return None
    ref = tokens().issue_event_ref(callback_id, attempt, provider)
    return f"{base}{EVENT_PATH}/{provider}/{ref}"


@dataclass(frozen=True, kw_only=True)
class IncomingEvent(EventRequest):
    """One provider request as the web layer saw it, with the provider and ref of its path."""

    provider: str
    ref: str


@dataclass(frozen=True)
class Received:
    applied: bool
    known: bool  # False: the provider reported something this product has no status for
    reply: EventReply | None = None  # instructions the provider asked for, answered as is


def receive(
    session: Session,
    incoming: IncomingEvent,
    *,
    tokens: Tokens,
    enqueue_dial: Callable[[str, int, float], None],
) -> Received:
    """Authenticate, parse and record one provider event; raise a 4xx error otherwise."""
    ref = _event_ref(tokens, incoming)
    callback = session.get(Callback, ref.callback_id)
    if callback is None:
        raise NotFound("No such callback.")
    provider = _authenticated_provider(callback.widget, ref, incoming)
    try:
        payload = provider.event_payload(incoming)
    except EventUnreadable as unreadable:
        raise BadRequest(unreadable.message, fields=unreadable.fields) from None
    reported = provider.parse_event(payload)
    if not reported:
        reported_status = str(payload.get(provider.event_status_field))
        lifecycle.record_unknown(session, callback.id, ref.attempt, provider.name, reported_status)
        return Received(False, False, _reply(session, provider, payload, callback.id, ref))
    outcomes = [
        lifecycle.record_event(
            session,
            callback.id,
            ref.attempt,
            event,
            source=provider.name,
            enqueue_dial=enqueue_dial,
        )
        for event in reported
    ]
    applied = any(o is not None and o.applied for o in outcomes)
    return Received(applied, True, _reply(session, provider, payload, callback.id, ref))


def _reply(
    session: Session, provider: Provider, payload: Any, callback_id: str, ref: EventRef
) -> EventReply | None:
    """Let the provider answer with instructions for the call as it stands after the event.

    A late request for an attempt that is over gets them for a call that has ended, which
    every adapter answers by hanging up: a stale request never rings the visitor.
    """
    callback = session.get(Callback, callback_id, populate_existing=True)
    if callback is None:
        return None
    # A callback dialled before rounds were stored rang its first agent.
    leg = routing.current_leg(callback) or routing.first_leg(callback)
    call = dialer.call_request(callback, ref.attempt, event_url, leg, ref.provider)
    current = ref.attempt == callback.attempts
    return provider.event_reply(
        payload, call, _attempt_status(callback) if current else Status.CANCELED
    )


def _attempt_status(callback: Callback) -> str:
    """Return where the current attempt stands: a retry waiting after a visitor's voicemail
    is that attempt's end, which the agent may still be told of."""
    if callback.status == Status.RETRY_WAIT and callback.cause == "visitor_voicemail":
        return Status.VISITOR_VOICEMAIL
    return callback.status


def _event_ref(tokens: Tokens, incoming: IncomingEvent) -> EventRef:
    """Read the signed reference of the event URL, made for this provider; 403 otherwise."""
    try:
        ref = tokens.read_event_ref(incoming.ref)
    except TokenRefused as refusal:
        log.warning("refused a provider event: %s", refusal.reason)
        raise Forbidden(FORBIDDEN_MESSAGE, reason=refusal.reason) from None
    if ref.provider != incoming.provider:
        log.warning(
            "refused a provider event: made for %s, posted as %s", ref.provider, incoming.provider
        )
        raise Forbidden(FORBIDDEN_MESSAGE, reason="event_wrong_provider")
    return ref


def _authenticated_provider(widget: Widget, ref: EventRef, incoming: IncomingEvent) -> Provider:
    """Build the widget's provider the event was made for and let it authenticate the
    event; 403 otherwise.

    With failover, the secondary provider's events come to its own event URL; a secondary
    of the same kind as the primary is tried with its own settings after the primary's.
    """
    named = [
        (name, settings)
        for name, settings in (
            (widget.provider, widget.provider_settings),
            (widget.secondary_provider, widget.secondary_provider_settings),
        )
        if name is not None and name == ref.provider
    ]
    if not named:
        raise Forbidden(FORBIDDEN_MESSAGE, reason="event_wrong_provider")
    refused: EventRefused | None = None
    for name, settings in named:
        try:
            # Events are only parsed here; the policy is passed all the same, as everywhere.
            policy = egress.provider_policy(current_app.config)
            provider = providers.build(name, settings or {}, egress=policy)
        except providers.ProviderConfigError:
            raise Forbidden(FORBIDDEN_MESSAGE, reason="provider_config") from None
        try:
            provider.authenticate_event(incoming)
        except EventRefused as refusal:
            refused = refusal
            continue
        return provider
    assert refused is not None
    log.warning("refused a %s event: %s", ref.provider, refused)
    raise Forbidden(FORBIDDEN_MESSAGE, reason=refused.reason)
