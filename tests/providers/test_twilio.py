"""Twilio Calls API: the exact request and TwiML, errors, cancel, events, signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
import requests

from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, Fake, parse_twiml
from tests.providers.common import call_builder, closed_port_url, live_env
from widget_server.providers.base import (
    Capability,
    EventRefused,
    EventRequest,
    EventUnreadable,
    PermanentProviderError,
    ProviderConfigError,
    ProviderError,
    RetryableProviderError,
)
from widget_server.providers.twilio import TwilioProvider, verify_signature

AGENT = "+14155550111"
VISITOR = "+919100000000"
EVENT_URL = "https://widgets.example/v1/events/twilio/ref.sig?x=1&y=2"
CALLS_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
PARENT_SID = "CA" + "a" * 32
CHILD_SID = "CA" + "b" * 32
INJECTIONS = [
    "&To=+15550000000",
    ",",
    ";",
    '"><Hangup/><x a="',
    '"/><Hangup/>',
    "<Play>x</Play>",
    "\r\nX-Injected: 1",
    "${To}",
]

make_call = call_builder(
    callback_id="cb123", agent=AGENT, visitor_e164=VISITOR, event_url=EVENT_URL
)


def make_provider(fake: Fake, session: requests.Session, **overrides: Any) -> TwilioProvider:
    return TwilioProvider({**fake.provider_settings(), **overrides}, session=session)


def test_originate_sends_the_documented_request(fake: Fake, session: requests.Session) -> None:
    result = make_provider(fake, session).originate(make_call())

    [sent] = fake.received
    assert (sent["method"], sent["path"], sent["query"]) == ("POST", CALLS_PATH, {})
    basic = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert sent["headers"]["Authorization"] == f"Basic {basic}"
    assert sent["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent["body"] == {
        "To": [AGENT],
        "From": [FROM_NUMBER],
        "Twiml": [
            '<Response><Dial callerId="+14155550100" timeout="30">'
            '<Number statusCallbackEvent="initiated ringing answered completed" '
            'statusCallback="https://widgets.example/v1/events/twilio/ref.sig?x=1&amp;y=2" '
            'statusCallbackMethod="POST">+919100000000</Number></Dial></Response>'
        ],
        "Timeout": ["20"],
        "StatusCallback": [EVENT_URL],
        # One parameter per event, as Twilio documents it.
        "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
        "StatusCallbackMethod": ["POST"],
    }
    sid = next(iter(fake.calls))
    assert result.provider_call_id == sid
    assert result.status == "dialing"
    assert dict(result.details) == {"twilio_status": "queued"}


def test_without_event_url_no_callbacks_are_asked(fake: Fake, session: requests.Session):
    make_provider(fake, session).originate(make_call(event_url=None))
    body = fake.received[0]["body"]
    assert set(body) == {"To", "From", "Twiml", "Timeout"}
    number = parse_twiml(body["Twiml"][0]).find("Dial/Number")
    assert number is not None and number.attrib == {}


def test_call_numbers_win_over_the_setting(fake: Fake, session: requests.Session) -> None:
    call = make_call(caller_id_number="+1 (415) 555-0122", callee_id_number="+14155550133")
    make_provider(fake, session, visitor_timeout=45).originate(call)
    body = fake.received[0]["body"]
    dial = parse_twiml(body["Twiml"][0]).find("Dial")
    assert body["From"] == ["+14155550122"]
    assert dial is not None and dial.attrib == {"callerId": "+14155550133", "timeout": "45"}


def test_without_from_number_the_visitor_sees_the_caller_id(
    fake: Fake, session: requests.Session
) -> None:
    settings = {k: v for k, v in fake.provider_settings().items() if k != "from_number"}
    TwilioProvider(settings, session=session).originate(make_call(caller_id_number=AGENT))
    body = fake.received[0]["body"]
    dial = parse_twiml(body["Twiml"][0]).find("Dial")
    assert body["From"] == [AGENT]
    assert dial is not None and dial.get("callerId") == AGENT


def test_no_from_number_anywhere_is_a_config_error(fake: Fake, session: requests.Session):
    settings = {k: v for k, v in fake.provider_settings().items() if k != "from_number"}
    with pytest.raises(ProviderConfigError) as info:
        TwilioProvider(settings, session=session).originate(make_call())
    assert set(info.value.fields) == {"from_number"}
    assert fake.received == []


GOOD = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN}


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"auth_token": AUTH_TOKEN}, "account_sid"),
        ({**GOOD, "account_sid": "AC123"}, "account_sid"),
        ({**GOOD, "account_sid": "SK" + "0" * 32}, "account_sid"),
        ({"account_sid": ACCOUNT_SID}, "auth_token"),
        ({**GOOD, "auth_token": "to ken"}, "auth_token"),
        ({**GOOD, "auth_token": "token\r\nX: 1"}, "auth_token"),
        ({**GOOD, "from_number": "4155550100"}, "from_number"),
        ({**GOOD, "from_number": "+1415555&To=1"}, "from_number"),
        ({**GOOD, "from_number": 14155550100}, "from_number"),
        ({**GOOD, "visitor_timeout": 4}, "visitor_timeout"),
        ({**GOOD, "visitor_timeout": 601}, "visitor_timeout"),
        ({**GOOD, "visitor_timeout": "30"}, "visitor_timeout"),
        ({**GOOD, "base_url": "api.twilio.com"}, "base_url"),
        ({**GOOD, "read_timeout": -1}, "read_timeout"),
        ({**GOOD, "record": True}, "record"),
    ],
)
def test_validate_settings_refuses(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ProviderConfigError) as info:
        TwilioProvider.validate_settings(settings)
    assert set(info.value.fields) == {field}


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (GOOD, {**GOOD, "visitor_timeout": 30}),
        (
            {**GOOD, "from_number": "+1 415 555 0100", "visitor_timeout": 60},
            {**GOOD, "from_number": "+14155550100", "visitor_timeout": 60},
        ),
    ],
)
def test_validate_settings_fills_defaults(settings: dict[str, Any], expected: dict[str, Any]):
    assert TwilioProvider.validate_settings(settings) == expected


def test_default_base_url_is_twilio() -> None:
    assert TwilioProvider(GOOD).base_url == "https://api.twilio.com"


@pytest.mark.parametrize(
    "visitor",
    [
        "+919100000000",
        "+12025550123",
        "+447911123456",
        "+4915123456789",
        "+27821234567",
        "+5511987654321",
    ],
)
def test_visitor_is_dialled_in_e164(fake: Fake, session: requests.Session, visitor: str):
    make_provider(fake, session).originate(make_call(visitor_e164=visitor))
    number = parse_twiml(fake.received[0]["body"]["Twiml"][0]).find("Dial/Number")
    assert number is not None and number.text == visitor


@pytest.mark.parametrize("visitor", ["919100000000", "+91 9100000000", "+919100000000<", ""])
def test_visitor_not_in_e164_is_refused_unsent(
    fake: Fake, session: requests.Session, visitor: str
) -> None:
    with pytest.raises(PermanentProviderError) as info:
        make_provider(fake, session).originate(make_call(visitor_e164=visitor))
    assert info.value.cause == "number_format"
    assert fake.received == []


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        ("+14155550111", "+14155550111"),
        ("+44 20 7946 0958", "+442079460958"),
        ("sip:agent@acme.sip.twilio.com", "sip:agent@acme.sip.twilio.com"),
        (
            "sip:agent@acme.sip.twilio.com;transport=tls",
            "sip:agent@acme.sip.twilio.com;transport=tls",
        ),
        ("client:agent_7", "client:agent_7"),
    ],
)
def test_agent_is_sent_as_to(
    fake: Fake, session: requests.Session, agent: str, expected: str
) -> None:
    make_provider(fake, session).originate(make_call(agent=agent))
    assert fake.received[0]["body"]["To"] == [expected]


@pytest.mark.parametrize(
    "agent",
    [
        "101",
        "14155550111",
        "sip:a b@x",
        'sip:a"@x',
        "sip:<a>@x",
        "sip:a@x\r\nX: 1",
        "client:a-b",
        "${agent}",
        "+14155550111;ext=1",
    ],
)
def test_unusable_agent_is_refused_unsent(fake: Fake, session: requests.Session, agent: str):
    with pytest.raises(ProviderConfigError) as info:
        make_provider(fake, session).originate(make_call(agent=agent))
    assert set(info.value.fields) == {"agent"}
    assert fake.received == []


@pytest.mark.parametrize(
    ("status", "body", "error", "cause"),
    [
        (
            400,
            {"code": 21211, "message": "Invalid 'To' Phone Number: +14155550111", "status": 400},
            PermanentProviderError,
            "twilio_21211",
        ),
        (400, "<html>bad</html>", PermanentProviderError, "http_400"),
        (
            401,
            {"code": 20003, "message": "Authenticate", "status": 401},
            PermanentProviderError,
            "auth_failed",
        ),
        (
            404,
            {"code": 20404, "message": "Not found", "status": 404},
            PermanentProviderError,
            "twilio_20404",
        ),
        (
            429,
            {"code": 20429, "message": "Too Many Requests", "status": 429},
            RetryableProviderError,
            "http_429",
        ),
        (
            500,
            {"code": 20500, "message": "Internal Server Error", "status": 500},
            RetryableProviderError,
            "http_500",
        ),
        (503, "Service Unavailable", RetryableProviderError, "http_503"),
    ],
)
def test_http_errors_are_mapped(
    fake: Fake,
    session: requests.Session,
    status: int,
    body: Any,
    error: type[ProviderError],
    cause: str,
) -> None:
    fake.answer_next(status, body)
    with pytest.raises(error) as info:
        make_provider(fake, session).originate(make_call())
    assert info.value.cause == cause
    assert "4155550111" not in str(info.value)  # numbers in Twilio's messages are masked


def test_wrong_token_is_auth_failed(fake: Fake, session: requests.Session) -> None:
    with pytest.raises(PermanentProviderError) as info:
        make_provider(fake, session, auth_token="0" * 32).originate(make_call())
    assert info.value.cause == "auth_failed"
    assert "error 20003" in str(info.value)


@pytest.mark.parametrize("timeout", [0, 601])
def test_ring_time_out_of_range_is_refused_unsent(
    fake: Fake, session: requests.Session, timeout: int
) -> None:
    with pytest.raises(ProviderConfigError) as info:
        make_provider(fake, session).originate(make_call(timeout=timeout))
    assert set(info.value.fields) == {"timeout"}
    assert fake.received == []


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": {"To": AGENT, "From": FROM_NUMBER, "Twiml": "<Response/>"}}, 401, 20003),
        ({"json": {"To": AGENT}, "auth": (ACCOUNT_SID, AUTH_TOKEN)}, 400, 21201),
        (
            {
                "data": {"To": "4155550111", "From": FROM_NUMBER, "Twiml": "<Response/>"},
                "auth": (ACCOUNT_SID, AUTH_TOKEN),
            },
            400,
            21211,
        ),
        (
            {"data": {"To": AGENT, "From": FROM_NUMBER}, "auth": (ACCOUNT_SID, AUTH_TOKEN)},
            400,
            21205,
        ),
    ],
)
def test_fake_refuses_like_twilio(
    fake: Fake, session: requests.Session, kwargs: dict[str, Any], status: int, code: int
) -> None:
    answer = session.post(fake.base_url + CALLS_PATH, timeout=5, **kwargs)
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert fake.originate_count() == 1 and fake.calls == {}


def test_connection_refused_is_retryable(session: requests.Session) -> None:
    provider = TwilioProvider(
        {**GOOD, "from_number": FROM_NUMBER, "base_url": closed_port_url()}, session=session
    )
    with pytest.raises(RetryableProviderError) as info:
        provider.originate(make_call())
    assert info.value.cause == "connection_error"


def test_timeout_is_retryable(fake: Fake, session: requests.Session) -> None:
    fake.mode = "hang"
    with pytest.raises(RetryableProviderError) as info:
        make_provider(fake, session).originate(make_call())
    assert info.value.cause == "timeout"


def test_cancel_posts_status_canceled(fake: Fake, session: requests.Session) -> None:
    provider = make_provider(fake, session)
    sid = provider.originate(make_call()).provider_call_id
    assert sid is not None and TwilioProvider.can(Capability.CANCEL)
    provider.cancel(sid)
    sent = fake.received[1]
    assert (sent["method"], sent["path"]) == ("POST", CALLS_PATH.replace(".json", f"/{sid}.json"))
    assert sent["body"] == {"Status": ["canceled"]}
    assert fake.calls[sid]["status"] == "canceled"
    assert fake.originate_count() == 1


def test_cancel_of_an_unknown_call_is_permanent(fake: Fake, session: requests.Session):
    with pytest.raises(PermanentProviderError) as info:
        make_provider(fake, session).cancel(PARENT_SID)
    assert info.value.cause == "twilio_20404"


@pytest.mark.parametrize("sid", ["CA123", f"{PARENT_SID}/../../x", "", f"{PARENT_SID}\r\n"])
def test_cancel_refuses_what_is_not_a_call_sid(
    fake: Fake, session: requests.Session, sid: str
) -> None:
    with pytest.raises(PermanentProviderError) as info:
        make_provider(fake, session).cancel(sid)
    assert info.value.cause == "invalid_call_id"
    assert fake.received == []


def event(status: str, *, child: bool = False, **extra: str) -> dict[str, str]:
    payload = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": CHILD_SID if child else PARENT_SID,
        "CallStatus": status,
        **extra,
    }
    if child:
        payload["ParentCallSid"] = PARENT_SID
    return payload


@pytest.mark.parametrize(
    ("payload", "status", "cause", "leg"),
    [
        (event("queued"), "dialing", None, "agent"),
        (event("initiated"), "dialing", None, "agent"),
        (event("ringing"), "agent_ringing", None, "agent"),
        (event("in-progress"), "agent_answered", None, "agent"),
        (event("completed", CallDuration="42"), "completed", None, "agent"),
        (event("busy"), "busy", "agent_busy", "agent"),
        (event("no-answer"), "no_answer", "agent_no_answer", "agent"),
        (event("canceled"), "canceled", "canceled", "agent"),
        (event("failed"), "failed", "agent_failed", "agent"),
        (event("ringing", child=True), "visitor_ringing", None, "visitor"),
        (event("in-progress", child=True), "connected", None, "visitor"),
        (event("completed", child=True), "completed", None, "visitor"),
        (event("busy", child=True), "busy", "visitor_busy", "visitor"),
        (event("no-answer", child=True), "no_answer", "visitor_no_answer", "visitor"),
        (event("canceled", child=True), "canceled", "visitor_canceled", "visitor"),
        (event("failed", child=True), "failed", "visitor_failed", "visitor"),
    ],
)
def test_parse_event_maps_each_leg(
    payload: dict[str, str], status: str, cause: str | None, leg: str
) -> None:
    [mapped] = TwilioProvider({**GOOD}).parse_event(payload)
    assert (mapped.status, mapped.cause, mapped.details["leg"]) == (status, cause, leg)
    # Events for either leg belong to the call Twilio created for us (the agent leg).
    assert mapped.provider_call_id == PARENT_SID
    if leg == "visitor":
        assert mapped.details["visitor_leg_sid"] == CHILD_SID
    if "CallDuration" in payload:
        assert mapped.details["duration"] == 42


@pytest.mark.parametrize(
    "payload",
    [
        event("queued", child=True),  # this product has no step for dialling the visitor
        event("initiated", child=True),
        event("answered"),
        event("ringing", AccountSid="AC" + "9" * 32),
        {"CallStatus": "ringing"},
        {"CallSid": "CA1", "CallStatus": "ringing"},
        {},
    ],
)
def test_parse_event_reports_nothing_it_was_not_told(payload: dict[str, str]) -> None:
    assert TwilioProvider({**GOOD}).parse_event(payload) == []


# Twilio's published example (twilio-python's request validator tests and the security docs).
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}


def test_verify_signature_accepts_twilios_documented_example() -> None:
    assert verify_signature("12345", DOC_URL, DOC_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


def test_verify_signature_matches_an_independent_computation() -> None:
    token = "f" * 32
    url = "https://widgets.example/v1/events/twilio/ref.sig"
    params = {"CallStatus": "ringing", "CallSid": PARENT_SID, "AccountSid": ACCOUNT_SID}
    # Sorted by name: AccountSid, CallSid, CallStatus, each name then its value.
    signed = f"{url}AccountSid{ACCOUNT_SID}CallSid{PARENT_SID}CallStatusringing"
    digest = hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()
    expected = base64.b64encode(digest).decode()
    assert verify_signature(token, url, params, expected)


@pytest.mark.parametrize(
    ("token", "url", "params", "signature"),
    [
        ("12346", DOC_URL, DOC_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ("12345", DOC_URL + "&x=1", DOC_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ("12345", DOC_URL, {**DOC_PARAMS, "Digits": "1235"}, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ("12345", DOC_URL, {**DOC_PARAMS, "X": ""}, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ("12345", DOC_URL, DOC_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8"),
        ("12345", DOC_URL, DOC_PARAMS, ""),
        ("12345", DOC_URL, DOC_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8é"),
        ("", DOC_URL, DOC_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
    ],
)
def test_verify_signature_refuses_anything_else(
    token: str, url: str, params: dict[str, str], signature: str
) -> None:
    assert not verify_signature(token, url, params, signature)


def test_a_status_callback_must_carry_twilios_signature() -> None:
    provider = TwilioProvider({"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN})
    form = {"CallSid": PARENT_SID, "CallStatus": "ringing", "AccountSid": ACCOUNT_SID}
    signed = f"{EVENT_URL}AccountSid{ACCOUNT_SID}CallSid{PARENT_SID}CallStatusringing"
    digest = hmac.new(AUTH_TOKEN.encode(), signed.encode(), hashlib.sha1).digest()
    signature = base64.b64encode(digest).decode()
    # Header names are matched in any case, as HTTP has them.
    for name in ("X-Twilio-Signature", "x-twilio-signature"):
        provider.authenticate_event(
            EventRequest(url=EVENT_URL, form=form, headers={name: signature})
        )
    for headers in ({}, {"X-Twilio-Signature": signature[:-2]}):
        with pytest.raises(EventRefused) as refused:
            provider.authenticate_event(EventRequest(url=EVENT_URL, form=form, headers=headers))
        assert refused.value.reason == "twilio_signature_invalid"


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"CallStatus": "ringing"}, "CallSid"),
        ({"CallSid": PARENT_SID}, "CallStatus"),
        ({"CallSid": "CA123", "CallStatus": "ringing"}, "CallSid"),
    ],
)
def test_a_status_callback_without_a_sid_and_status_is_unreadable(
    form: dict[str, str], field: str
) -> None:
    provider = TwilioProvider({"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN})
    with pytest.raises(EventUnreadable) as unreadable:
        provider.event_payload(EventRequest(url=EVENT_URL, form=form))
    assert set(unreadable.value.fields) == {field}


@pytest.mark.parametrize("text", INJECTIONS)
def test_free_text_never_adds_a_parameter_or_element(
    fake: Fake, session: requests.Session, text: str
) -> None:
    call = make_call(callee_id_name=text, extra={"note": text, text: "x"}, page_url=text)
    make_provider(fake, session).originate(call)
    [sent] = fake.received
    assert set(sent["body"]) == {
        "To",
        "From",
        "Twiml",
        "Timeout",
        "StatusCallback",
        "StatusCallbackEvent",
        "StatusCallbackMethod",
    }
    assert b"note" not in sent["raw_body"]
    assert "X-Injected" not in sent["headers"]


@pytest.mark.parametrize("text", [t for t in INJECTIONS if not set(t) & set(" \r\n")])
def test_event_url_is_escaped_in_twiml(fake: Fake, session: requests.Session, text: str) -> None:
    url = f"{EVENT_URL}{text}"
    make_provider(fake, session).originate(make_call(event_url=url))
    body = fake.received[0]["body"]
    response = parse_twiml(body["Twiml"][0])
    assert [element.tag for element in response.iter()] == ["Response", "Dial", "Number"]
    number = response.find("Dial/Number")
    assert number is not None and number.get("statusCallback") == url
    assert number.text == VISITOR
    assert body["StatusCallback"] == [url]
    assert body["To"] == [AGENT]


@pytest.mark.parametrize("text", ["\r\nX-Injected: 1", '"><Hangup/><x a="', "\t", "\x00"])
def test_event_url_with_spaces_or_controls_is_refused_unsent(
    fake: Fake, session: requests.Session, text: str
) -> None:
    with pytest.raises(PermanentProviderError) as info:
        make_provider(fake, session).originate(make_call(event_url=EVENT_URL + text))
    assert info.value.cause == "invalid_event_url"
    assert fake.received == []


@pytest.mark.parametrize("field", ["caller_id_number", "callee_id_number"])
@pytest.mark.parametrize("text", INJECTIONS)
def test_injected_caller_ids_are_refused_unsent(
    fake: Fake, session: requests.Session, field: str, text: str
) -> None:
    with pytest.raises(ProviderConfigError) as info:
        make_provider(fake, session).originate(make_call(**{field: f"+14155550122{text}"}))
    assert set(info.value.fields) == {field}
    assert fake.received == []


LIVE_ENV = {
    "account_sid": "WIDGET_SERVER_LIVE_TWILIO_ACCOUNT_SID",
    "auth_token": "WIDGET_SERVER_LIVE_TWILIO_AUTH_TOKEN",
    "from_number": "WIDGET_SERVER_LIVE_TWILIO_FROM",
    "agent": "WIDGET_SERVER_LIVE_TWILIO_AGENT",
    "visitor": "WIDGET_SERVER_LIVE_TWILIO_VISITOR",
}


@pytest.mark.live
def test_live_calls_api() -> None:
    """Place a real call (with test credentials: From +15005550006 and any To)."""
    env = live_env(LIVE_ENV, "live Twilio test")
    settings = {key: env[key] for key in ("account_sid", "auth_token", "from_number")}
    with requests.Session() as live_session:
        provider = TwilioProvider(settings, session=live_session)
        result = provider.originate(
            make_call(agent=env["agent"], visitor_e164=env["visitor"], event_url=None)
        )
    assert result.provider_call_id and result.provider_call_id.startswith("CA")


def test_call_status_fetches_the_call_by_its_sid(fake: Fake, session: requests.Session) -> None:
    provider = make_provider(fake, session)
    sid = provider.originate(make_call()).provider_call_id
    assert sid is not None
    state = provider.call_status(sid, "cb-1")
    assert state.placed and state.event is not None
    assert (state.event.status, state.event.provider_call_id) == ("dialing", sid)
    fake.calls[sid]["status"] = "no-answer"
    state = provider.call_status(sid, "cb-1")
    assert state.event is not None
    assert (state.event.status, state.event.cause) == ("no_answer", "agent_no_answer")
    fetch = fake.received[-1]
    assert (fetch["method"], fetch["path"].endswith(f"/Calls/{sid}.json")) == ("GET", True)


def test_call_status_of_an_unknown_sid_says_not_placed(
    fake: Fake, session: requests.Session
) -> None:
    provider = make_provider(fake, session)
    assert provider.reports_call_status()
    assert not provider.call_status("CA" + "0" * 32, "cb-1").placed


def test_call_status_without_a_sid_cannot_be_asked(fake: Fake, session: requests.Session) -> None:
    provider = make_provider(fake, session)
    with pytest.raises(PermanentProviderError) as refused:
        provider.call_status(None, "cb-1")
    assert refused.value.cause == "not_supported"
    assert fake.received == []
