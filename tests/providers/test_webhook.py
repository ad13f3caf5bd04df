"""The signed webhook adapter against a fake receiver with its own HMAC recipe."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest
import requests

from tests.fakes.webhook import PATH, SECRET, Fake, reference_signature, reference_verify
from tests.providers.common import call_builder, live_env
from widget_server.core import signing
from widget_server.core.statuses import Status
from widget_server.providers.base import (
    EventRefused,
    EventRequest,
    OriginateResult,
    PermanentProviderError,
    ProviderConfigError,
    ProviderEvent,
    RetryableProviderError,
    parse_report,
)
from widget_server.providers.webhook import WebhookProvider

CALLBACK_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
KEY = f"{CALLBACK_ID}-1"
INJECTIONS = [
    "a&b",
    "a,b=1",
    "a;b",
    "a}b{c",
    "a\r\nX-Widget-Server-Signature: v1=00",
    "${jndi:ldap://x}",
    '"}],"visitor":"+15550000000',
    "\u2028line\u2029sep\x00nul",
]

make_call = call_builder(callback_id=CALLBACK_ID, agent="1001", visitor_e164="+27821234567")


# What goes on the wire ---------------------------------------------------------------------


def test_originate_posts_the_documented_signed_json(fake: Fake, session: requests.Session) -> None:
    call = make_call(
        caller_id_number="+27110000000",
        callee_id_name="Acme Support",
        callee_id_number="+27110000001",
        extra={"topic": "pricing"},
        page_url="https://shop.example/p?q=1",
        event_url="https://cb.example/e/t",
    )
    provider = WebhookProvider(fake.provider_settings(), session=session)

    result = provider.originate(call)

    assert result == OriginateResult("wh-call-1", Status.AGENT_RINGING, {"http_status": 200})
    [request] = fake.received
    assert (request["method"], request["path"]) == ("POST", PATH)
    assert request["json"] == {
        "type": "callback.originate",
        "callback_id": CALLBACK_ID,
        "attempt": 1,
        "idempotency_key": KEY,
        "agent": "1001",
        "visitor": "+27821234567",
        "timeout": 20,
        "caller_id_number": "+27110000000",
        "callee_id_name": "Acme Support",
        "callee_id_number": "+27110000001",
        "extra": {"topic": "pricing"},
        "page_url": "https://shop.example/p?q=1",
        "event_url": "https://cb.example/e/t",
    }
    headers = request["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["Idempotency-Key"] == KEY
    signature = headers["X-Widget-Server-Signature"]
    timestamp = signature.partition(",")[0].removeprefix("t=")
    assert abs(int(timestamp) - time.time()) < 5
    assert signature == reference_signature(SECRET, timestamp, request["body"])
    assert request["signature_ok"]
    assert request["body"] == provider.body(call)
    assert fake.errors == []


def test_empty_fields_are_sent_as_null(fake: Fake, session: requests.Session) -> None:
    WebhookProvider(fake.provider_settings(), session=session).originate(make_call())
    sent = fake.received[0]["json"]
    assert sent["caller_id_number"] is None and sent["page_url"] is None
    assert sent["extra"] == {}


# Signatures --------------------------------------------------------------------------------
# The scheme itself (tolerance, rotation, malformed headers) is tested in tests/test_signing.py.

VECTOR_SECRET = "0123456789abcdef-secret"
VECTOR_BODY = b'{"type":"callback.originate"}'
VECTOR = "t=1700000000,v1=f9c7eab574d55bbc57eadb481181e1a144dc71f28630b3986913efe85b7c7f6a"


def test_sign_matches_a_fixed_vector_and_the_reference() -> None:
    assert signing.sign(VECTOR_SECRET, VECTOR_BODY, timestamp=1700000000) == VECTOR
    assert reference_signature(VECTOR_SECRET, "1700000000", VECTOR_BODY) == VECTOR


def test_the_reference_verifier_accepts_what_sign_produces() -> None:
    body = b'{"a":"\\u00e9"}'
    assert reference_verify(SECRET, signing.sign(SECRET, body), body)
    assert not reference_verify(SECRET, signing.sign(SECRET, body), body + b" ")
    assert signing.verify(SECRET, reference_signature(SECRET, str(int(time.time())), body), body)


def test_an_event_must_be_signed_with_the_widgets_secret() -> None:
    provider = WebhookProvider({"url": "https://hooks.example.com/callback", "secret": SECRET})
    body = b'{"status":"agent_ringing"}'
    now = int(time.time())
    signed = {signing.HEADER: signing.sign(SECRET, body, timestamp=now)}
    url = "https://widgets.example/v1/events/webhook/ref.sig"
    provider.authenticate_event(EventRequest(url=url, raw=body, headers=signed))
    lowercase = {name.lower(): value for name, value in signed.items()}
    provider.authenticate_event(EventRequest(url=url, raw=body, headers=lowercase))
    stale = {signing.HEADER: signing.sign(SECRET, body, timestamp=now - 301)}
    other = {signing.HEADER: signing.sign("another-secret-of-16", body, timestamp=now)}
    # The scheme before t=…,v1=…: the timestamp in a header of its own is not read.
    digest = signed[signing.HEADER].partition(",")[2]
    separate = {"X-Widget-Server-Timestamp": str(now), signing.HEADER: digest}
    for headers in ({}, stale, other, separate):
        with pytest.raises(EventRefused) as refused:
            provider.authenticate_event(EventRequest(url=url, raw=body, headers=headers))
        assert refused.value.reason == "webhook_signature_invalid"


# Answers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "call_id", "state"),
    [
        (200, {"call_id": "c-1", "status": "agent_ringing"}, "c-1", Status.AGENT_RINGING),
        (200, {"call_id": 42}, "42", Status.DIALING),
        (200, {"status": "on_fire"}, None, Status.DIALING),
        (200, {"status": ["connected"]}, None, Status.DIALING),
        (201, {}, None, Status.DIALING),
        (202, b"", None, Status.DIALING),
        (200, b"  \n", None, Status.DIALING),
        (204, b"", None, Status.DIALING),
    ],
)
def test_accepted_answers(
    fake: Fake,
    session: requests.Session,
    status: int,
    body: object,
    call_id: str | None,
    state: str,
) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    fake.reply = (status, raw, {"Content-Type": "application/json"})
    result = WebhookProvider(fake.provider_settings(), session=session).originate(make_call())
    assert (result.provider_call_id, result.status) == (call_id, state)


@pytest.mark.parametrize(
    ("status", "body", "error", "cause"),
    [
        (200, b"OK", PermanentProviderError, "malformed_answer"),
        (200, b"[1, 2]", PermanentProviderError, "malformed_answer"),
        (200, b'{"call_id": {"id": 1}}', PermanentProviderError, "malformed_answer"),
        (200, b'{"call_id": "a\\nb"}', PermanentProviderError, "malformed_answer"),
        (200, b'{"call_id": true}', PermanentProviderError, "malformed_answer"),
        (400, b"{}", PermanentProviderError, "http_400"),
        (401, b"{}", PermanentProviderError, "auth_failed"),
        (403, b"{}", PermanentProviderError, "auth_failed"),
        (404, b"{}", PermanentProviderError, "http_404"),
        (422, b"{}", PermanentProviderError, "http_422"),
        (429, b"{}", RetryableProviderError, "http_429"),
        (500, b"{}", RetryableProviderError, "http_500"),
        (502, b"<html>", RetryableProviderError, "http_502"),
        (503, b"", RetryableProviderError, "http_503"),
    ],
)
def test_refused_answers(
    fake: Fake, session: requests.Session, status: int, body: bytes, error: type, cause: str
) -> None:
    fake.reply = (status, body, {"Content-Type": "application/json"})
    with pytest.raises(error) as caught:
        WebhookProvider(fake.provider_settings(), session=session).originate(make_call())
    assert type(caught.value) is error
    assert caught.value.cause == cause


def test_redirects_are_not_followed(fake: Fake, session: requests.Session) -> None:
    fake.reply = (307, b"", {"Location": fake.url + "/elsewhere"})
    with pytest.raises(PermanentProviderError) as caught:
        WebhookProvider(fake.provider_settings(), session=session).originate(make_call())
    assert caught.value.cause == "http_307"
    assert [r["path"] for r in fake.received] == [PATH]


def test_a_retry_after_a_transient_failure_is_a_new_idempotency_key(
    fake: Fake, session: requests.Session
) -> None:
    fake.mode = "error_then_ok"
    provider = WebhookProvider(fake.provider_settings(), session=session)
    with pytest.raises(RetryableProviderError):
        provider.originate(make_call())
    assert provider.originate(make_call(attempt=2)).provider_call_id
    # The receiver dedupes on the key: the failed attempt and its retry must not share one.
    assert [r["headers"]["Idempotency-Key"] for r in fake.received] == [KEY, f"{CALLBACK_ID}-2"]


def test_a_wrong_secret_is_refused_by_the_receiver(fake: Fake, session: requests.Session) -> None:
    settings = dict(fake.provider_settings(), secret="not-the-receivers-secret")
    with pytest.raises(PermanentProviderError) as caught:
        WebhookProvider(settings, session=session).originate(make_call())
    assert caught.value.cause == "auth_failed"
    assert not fake.received[0]["signature_ok"]


def test_connection_refused_is_retryable(session: requests.Session) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = {"url": f"http://127.0.0.1:{port}/hook", "secret": SECRET}
    with pytest.raises(RetryableProviderError) as caught:
        WebhookProvider(settings, session=session).originate(make_call())
    assert caught.value.cause == "connection_error"


# Settings ----------------------------------------------------------------------------------


def test_settings_defaults() -> None:
    settings = {"url": "https://hooks.example.com/callback", "secret": SECRET}
    assert WebhookProvider.validate_settings(settings) == {
        **settings,
        "connect_timeout": 3.05,
        "read_timeout": 15.0,
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"url": None}, "url"),
        ({"url": "ftp://hooks.example.com/x"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "https://hooks.example.com/a b"}, "url"),
        ({"url": "https://hooks.example.com/\r\nX-Evil: 1"}, "url"),
        ({"url": 42}, "url"),
        ({"secret": None}, "secret"),
        ({"secret": "too-short"}, "secret"),
        ({"secret": 1234567890123456789}, "secret"),
        ({"read_timeout": 0}, "read_timeout"),
        ({"read_timeout": "5"}, "read_timeout"),
        ({"connect_timeout": True}, "connect_timeout"),
        ({"base_url": "https://elsewhere.example"}, "base_url"),
    ],
)
def test_bad_settings(changes: dict, field: str) -> None:
    settings = {"url": "https://hooks.example.com/callback", "secret": SECRET, **changes}
    settings = {k: v for k, v in settings.items() if v is not None}
    with pytest.raises(ProviderConfigError) as caught:
        WebhookProvider.validate_settings(settings)
    assert field in caught.value.fields


# Events from the site owner's system -------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "events"),
    [
        ({"status": "connected", "call_id": "c-1"}, [ProviderEvent(Status.CONNECTED, "c-1")]),
        (
            {"status": "completed", "call_id": 7, "cause": "Normal Clearing!"},
            [ProviderEvent(Status.COMPLETED, "7", "normal_clearing")],
        ),
        ({"status": "busy", "call_id": {"x": 1}}, [ProviderEvent(Status.BUSY)]),
        (
            {"status": "no_answer", "cause": "x" * 100},
            [ProviderEvent(Status.NO_ANSWER, None, "x" * 64)],
        ),
        ({"status": "failed", "cause": 12}, [ProviderEvent(Status.FAILED)]),
        ({"status": "on_fire"}, []),
        ({"status": None}, []),
        ({"call_id": "c-1"}, []),
        ("connected", []),
        (None, []),
    ],
)
def test_parse_event(payload: object, events: list) -> None:
    assert parse_report(payload) == events
    if isinstance(payload, dict):
        provider = WebhookProvider({"url": "https://hooks.example.com/x", "secret": SECRET})
        assert provider.parse_event(payload) == events


# Injection ---------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", INJECTIONS)
@pytest.mark.parametrize(
    "field",
    [
        "callee_id_name",
        "page_url",
        "event_url",
        "extra_value",
        "extra_key",
        "agent",
        "caller_id_number",
    ],
)
def test_free_text_travels_only_inside_the_signed_json(
    fake: Fake, session: requests.Session, field: str, payload: str
) -> None:
    if field == "extra_value":
        overrides = {"extra": {"note": payload}}
    elif field == "extra_key":
        overrides = {"extra": {payload: "v"}}
    else:
        overrides = {field: payload}
    WebhookProvider(fake.provider_settings(), session=session).originate(make_call(**overrides))

    [request] = fake.received
    assert request["signature_ok"]
    assert request["body"].isascii()
    sent = request["json"]
    assert sent["visitor"] == "+27821234567"
    if field == "extra_value":
        assert sent["extra"] == {"note": payload}
    elif field == "extra_key":
        assert sent["extra"] == {payload: "v"}
    else:
        assert sent[field] == payload
    assert {k for k in request["headers"] if k.startswith("X-")} == {"X-Widget-Server-Signature"}
    assert request["headers"]["Idempotency-Key"] == KEY


@pytest.mark.parametrize("callback_id", ["abc\r\nX-Evil: 1", "abc def", "abc,def", "${x}"])
def test_a_key_unfit_for_a_header_is_refused_before_sending(
    fake: Fake, session: requests.Session, callback_id: str
) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        WebhookProvider(fake.provider_settings(), session=session).originate(
            make_call(callback_id=callback_id)
        )
    assert caught.value.cause == "invalid_parameter"
    assert fake.received == []


# A real receiver ---------------------------------------------------------------------------


@pytest.mark.live
def test_live_originate(session: requests.Session) -> None:
    names = {"url": "WIDGET_SERVER_LIVE_WEBHOOK_URL", "secret": "WIDGET_SERVER_LIVE_WEBHOOK_SECRET"}
    settings = live_env(names, "live webhook test")
    visitor = os.environ.get("WIDGET_SERVER_LIVE_WEBHOOK_VISITOR", "+27821234567")
    call = make_call(callback_id=f"live{int(time.time())}", visitor_e164=visitor)
    result = WebhookProvider(settings, session=session).originate(call)
    assert result.status in {s.value for s in Status}
