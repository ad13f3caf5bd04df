"""Helpers for call-lifecycle tests: callbacks already dialling, event URLs, signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask

from tests.fakes import twilio as fake_twilio
from tests.fakes import webhook as fake_webhook
from tests.helpers import add_widget
from widget_server.calls.provider_events import event_url
from widget_server.core import db
from widget_server.core.models import Callback, CallEvent

EVENT_BASE = "http://localhost"  # the test client's own address
TWILIO_SETTINGS = {
    "account_sid": fake_twilio.ACCOUNT_SID,
    "auth_token": fake_twilio.AUTH_TOKEN,
    "from_number": fake_twilio.FROM_NUMBER,
}
AGENT_SID = "CA" + "a" * 32
VISITOR_SID = "CA" + "b" * 32


def twilio_widget(app: Flask, **properties: Any) -> str:
    return add_widget(
        app,
        provider="twilio",
        extension="+12015550100",
        provider_settings=TWILIO_SETTINGS,
        **properties,
    )


def webhook_widget(app: Flask, url: str = "https://crm.example.com/hook", **properties: Any) -> str:
    settings = {"url": url, "secret": fake_webhook.SECRET}
    return add_widget(app, provider="webhook", provider_settings=settings, **properties)


def dialled_callback(app: Flask, widget_id: str, status: str = "dialing", attempts: int = 1) -> str:
    """Store a callback as the dialer leaves it after an originate; return its id."""
    with app.app_context():
        session = db.session()
        callback = Callback(
            widget_id=widget_id,
            visitor_number="+12015550123",
            status=status,
            attempts=attempts,
            provider_call_id=AGENT_SID,
        )
        session.add(callback)
        session.commit()
        return callback.id


def url_for_event(app: Flask, callback_id: str, attempt: int, provider: str) -> str:
    with app.test_request_context():
        url = event_url(callback_id, attempt, provider)
    assert url is not None
    return url


def twilio_signature(
    url: str, params: Mapping[str, str], token: str = fake_twilio.AUTH_TOKEN
) -> str:
    """Twilio's documented recipe, written out independently of the server's code."""
    text = url + "".join(key + params[key] for key in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), text.encode(), hashlib.sha1).digest()).decode()


def twilio_params(status: str, visitor_leg: bool = False, **extra: str) -> dict[str, str]:
    params = {
        "AccountSid": fake_twilio.ACCOUNT_SID,
        "CallSid": VISITOR_SID if visitor_leg else AGENT_SID,
        "CallStatus": status,
        "From": fake_twilio.FROM_NUMBER,
        "To": "+12015550100",
        **extra,
    }
    if visitor_leg:
        params["ParentCallSid"] = AGENT_SID
    return params


def post_twilio(client: Any, url: str, params: dict[str, str], signature: str | None = None) -> Any:
    signature = twilio_signature(url, params) if signature is None else signature
    return client.post(url, data=params, headers={"X-Twilio-Signature": signature})


def post_webhook_event(
    client: Any, url: str, body: dict[str, Any], secret: str = fake_webhook.SECRET
) -> Any:
    raw = json.dumps(body).encode()
    timestamp = str(int(time.time()))
    return client.post(
        url,
        data=raw,
        content_type="application/json",
        headers={
            "X-Widget-Server-Signature": fake_webhook.reference_signature(secret, timestamp, raw),
        },
    )


def state(app: Flask, callback_id: str) -> tuple[str, int, list[tuple[str, bool]]]:
    """Return (status, attempts, [(event status, applied)]) of a callback."""
    with app.app_context():
        session = db.session()
        callback = session.get(Callback, callback_id)
        assert callback is not None
        events = (
            session.query(CallEvent).filter_by(callback_id=callback_id).order_by(CallEvent.id).all()
        )
        return callback.status, callback.attempts, [(e.status, e.applied) for e in events]
