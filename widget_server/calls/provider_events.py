"""Provider events over HTTP: signed event URLs, each provider's check and body, one way in.

An event URL is `<EVENT_BASE_URL>/v1/events/<provider>/<ref>`; the ref is signed (its own
salt) and names the callback, the attempt and the provider, so it cannot be guessed, and an
event cannot be moved to another call, attempt or provider. Twilio's requests must also carry
a valid `X-Twilio-Signature`, the webhook provider's a valid `X-Widget-Server-Signature`
(core/signing.py). Bodies: Twilio's form-encoded status callbacks; for every other provider
a JSON object (or form) `{"status": "<a status of this product>", "call_id"?: "…",
"cause"?: "…"}`, the shape the webhook provider documents and a PBX dialplan can post with curl.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from .. import providers
from ..core import egress, signing
from ..core.errors import BadRequest, Forbidden, NotFound
from ..core.models import Callback
from ..core.tokens import TokenRefused, Tokens, tokens
from ..providers import twilio, webhook
from . import lifecycle

log = logging.getLogger(__name__)

EVENT_PATH = "/v1/events"
FORBIDDEN_MESSAGE = "This event URL is not valid."
TWILIO_REQUIRED = ("CallSid", "CallStatus")


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


@dataclass(frozen=True)
class IncomingEvent:
    """One provider request as the web layer saw it."""

    provider: str  # from the path
    ref: str  # from the path
    url: str  # the full URL the provider called (Twilio signs it)
    form: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    raw: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    applied: bool
    known: bool  # False: the provider reported something this product has no status for


def receive(
    session: Session,
    incoming: IncomingEvent,
    *,
    tokens: Tokens,
    enqueue_dial: Callable[[str, int, float], None],
) -> Received:
    """Authenticate, parse and record one provider event; raise a 4xx error otherwise."""
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
    callback = session.get(Callback, ref.callback_id)
    if callback is None:
        raise NotFound("No such callback.")
    widget = callback.widget
    if widget.provider != ref.provider:
        raise Forbidden(FORBIDDEN_MESSAGE, reason="event_wrong_provider")
    try:
        # Events are only parsed here; the policy is passed all the same, as everywhere.
        policy = egress.provider_policy(current_app.config)
        provider = providers.build(widget.provider, widget.provider_settings, egress=policy)
    except providers.ProviderConfigError:
        raise Forbidden(FORBIDDEN_MESSAGE, reason="provider_config") from None
    _authenticate(provider, incoming)
    payload = _payload(provider, incoming)
    reported = provider.parse_event(payload)
    if not reported:
        status_field = "CallStatus" if isinstance(provider, twilio.TwilioProvider) else "status"
        lifecycle.record_unknown(
            session, callback.id, ref.attempt, provider.name, str(payload.get(status_field))
        )
        return Received(applied=False, known=False)
    applied = False
    for event in reported:
        outcome = lifecycle.record_event(
            session,
            callback.id,
            ref.attempt,
            event,
            source=provider.name,
            enqueue_dial=enqueue_dial,
        )
        applied = applied or bool(outcome and outcome.applied)
    return Received(applied=applied, known=True)


def _authenticate(provider: providers.Provider, incoming: IncomingEvent) -> None:
    headers = incoming.headers
    if isinstance(provider, twilio.TwilioProvider):
        signature = headers.get("X-Twilio-Signature", "")
        token = str(provider.settings["auth_token"])
        if not twilio.verify_signature(token, incoming.url, incoming.form, signature):
            log.warning("refused a twilio event: X-Twilio-Signature does not verify")
            raise Forbidden(FORBIDDEN_MESSAGE, reason="twilio_signature_invalid")
    elif isinstance(provider, webhook.WebhookProvider):
        secret = str(provider.settings["secret"])
        if not signing.verify(secret, headers.get(signing.HEADER), incoming.raw):
            log.warning("refused a webhook event: signature missing, stale or wrong")
            raise Forbidden(FORBIDDEN_MESSAGE, reason="webhook_signature_invalid")
    # Other providers: the signed, unguessable URL is the credential.


def _payload(provider: providers.Provider, incoming: IncomingEvent) -> Mapping[str, Any]:
    if isinstance(provider, twilio.TwilioProvider):
        missing = {name: "required" for name in TWILIO_REQUIRED if not incoming.form.get(name)}
        if missing:
            raise BadRequest("The status callback is incomplete.", fields=missing)
        if not twilio.CALL_SID_RE.fullmatch(incoming.form["CallSid"]):
            raise BadRequest(
                "The status callback is not valid.",
                fields={"CallSid": "must be CA followed by 32 hexadecimal digits"},
            )
        return incoming.form
    payload = incoming.json if incoming.json is not None else incoming.form
    if not isinstance(payload, Mapping) or not payload:
        raise BadRequest(
            "The event body must be a JSON object.", fields={"body": "must be a JSON object"}
        )
    if not isinstance(payload.get("status"), str) or not payload["status"]:
        raise BadRequest("The event names no status.", fields={"status": "required: a status name"})
    for name in ("call_id", "cause"):
        value = payload.get(name)
        if value is not None and not isinstance(value, str | int):
            raise BadRequest("The event is not valid.", fields={name: "must be a string"})
    return payload
