"""TeleCMI click2call: the exact request, settings, numbers, error mapping, injection."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.fakes.telecmi import PATH, SECRET, USER_ID, Fake
from tests.providers.common import call_builder, closed_port_url, live_env
from widget_server.providers.base import (
    PermanentProviderError,
    ProviderConfigError,
    ProviderError,
    RetryableProviderError,
)
from widget_server.providers.telecmi import TeleCMIProvider

VISITOR = "+919100000000"
INJECTIONS = [
    "&to=1",
    ",",
    ";",
    '<x a="1">',
    '"',
    "\r\nX-Injected: 1",
    "${user_id}",
    '", "to": 1, "x": "',
]

make_call = call_builder(callback_id="cb123", agent="101", visitor_e164=VISITOR)


def make_provider(fake: Fake, session: requests.Session, **overrides: Any) -> TeleCMIProvider:
    return TeleCMIProvider({**fake.provider_settings(), **overrides}, session=session)


def test_originate_sends_the_documented_request(fake: Fake, session: requests.Session) -> None:
    call = make_call(extra={"crm": "lead-7"}, page_url="https://shop.example/p?id=1")
    result = make_provider(fake, session).originate(call)

    [sent] = fake.received
    assert (sent["method"], sent["path"], sent["query"]) == ("POST", PATH, {})
    assert sent["headers"]["Content-Type"] == "application/json"
    assert sent["body"] == {
        "user_id": USER_ID,
        "secret": SECRET,
        "to": 919100000000,
        "extra_params": {
            "crm": "lead-7",
            "callback_id": "cb123",
            "page_url": "https://shop.example/p?id=1",
        },
        "webrtc": True,
        "followme": False,
    }
    # `to` is a JSON number, never a string.
    assert type(sent["body"]["to"]) is int
    assert b'"to": 919100000000' in sent["raw_body"]
    assert result.provider_call_id == fake.calls[0]["request_id"]
    assert result.status == "dialing"
    assert dict(result.details) == {"msg": "Call initiated"}


def test_followme_forces_webrtc_off(fake: Fake, session: requests.Session) -> None:
    make_provider(fake, session, followme=True, webrtc=True).originate(make_call())
    assert (fake.received[0]["body"]["followme"], fake.received[0]["body"]["webrtc"]) == (
        True,
        False,
    )


def test_own_ids_win_over_extra_metadata(fake: Fake, session: requests.Session) -> None:
    make_provider(fake, session).originate(make_call(extra={"callback_id": "forged"}))
    assert fake.received[0]["body"]["extra_params"] == {"callback_id": "cb123"}


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"secret": "s"}, "user_id"),
        ({"user_id": "u"}, "secret"),
        ({"user_id": "", "secret": "s"}, "user_id"),
        ({"user_id": "u", "secret": "a b"}, "secret"),
        ({"user_id": "u\r\nX: 1", "secret": "s"}, "user_id"),
        ({"user_id": 101, "secret": "s"}, "user_id"),
        ({"user_id": "u", "secret": "s", "webrtc": "yes"}, "webrtc"),
        ({"user_id": "u", "secret": "s", "followme": 1}, "followme"),
        ({"user_id": "u", "secret": "s", "base_url": "ftp://rest.telecmi.com"}, "base_url"),
        ({"user_id": "u", "secret": "s", "base_url": "https://a@rest.telecmi.com"}, "base_url"),
        ({"user_id": "u", "secret": "s", "read_timeout": 0}, "read_timeout"),
        ({"user_id": "u", "secret": "s", "connect_timeout": True}, "connect_timeout"),
        ({"user_id": "u", "secret": "s", "to": 919100000000}, "to"),
    ],
)
def test_validate_settings_refuses(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ProviderConfigError) as info:
        TeleCMIProvider.validate_settings(settings)
    assert set(info.value.fields) == {field}


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"user_id": "101_1111112", "secret": "2e0d75"},
            {"user_id": "101_1111112", "secret": "2e0d75", "webrtc": True, "followme": False},
        ),
        (
            {"user_id": "u", "secret": "s", "followme": True},
            {"user_id": "u", "secret": "s", "webrtc": False, "followme": True},
        ),
        (
            {"user_id": "u", "secret": "s", "webrtc": False, "base_url": "http://127.0.0.1:9"},
            {
                "user_id": "u",
                "secret": "s",
                "webrtc": False,
                "followme": False,
                "base_url": "http://127.0.0.1:9",
            },
        ),
    ],
)
def test_validate_settings_fills_defaults(settings: dict[str, Any], expected: dict[str, Any]):
    assert TeleCMIProvider.validate_settings(settings) == expected


def test_default_base_url_is_telecmi() -> None:
    assert TeleCMIProvider({"user_id": "u", "secret": "s"}).base_url == "https://rest.telecmi.com"


@pytest.mark.parametrize(
    ("visitor", "to"),
    [
        ("+919100000000", 919100000000),
        ("+12025550123", 12025550123),
        ("+447911123456", 447911123456),
        ("+4915123456789", 4915123456789),
        ("+27821234567", 27821234567),
        ("+6591234567", 6591234567),
    ],
)
def test_visitor_is_sent_as_digits(
    fake: Fake, session: requests.Session, visitor: str, to: int
) -> None:
    make_provider(fake, session).originate(make_call(visitor_e164=visitor))
    assert fake.received[0]["body"]["to"] == to


@pytest.mark.parametrize("visitor", ["919100000000", "+91 91000 00000", "+919100000000&x", ""])
def test_visitor_not_in_e164_is_refused_unsent(
    fake: Fake, session: requests.Session, visitor: str
) -> None:
    with pytest.raises(PermanentProviderError) as info:
        make_provider(fake, session).originate(make_call(visitor_e164=visitor))
    assert info.value.cause == "number_format"
    assert fake.received == []


@pytest.mark.parametrize(
    ("status", "error", "cause"),
    [
        (400, PermanentProviderError, "config_missing_params"),
        (401, PermanentProviderError, "auth_failed"),
        (403, PermanentProviderError, "auth_failed"),
        (404, PermanentProviderError, "auth_failed"),
        (429, RetryableProviderError, "http_429"),
        (500, RetryableProviderError, "http_500"),
        (503, RetryableProviderError, "http_503"),
    ],
)
def test_http_errors_are_mapped(
    fake: Fake, session: requests.Session, status: int, error: type[ProviderError], cause: str
) -> None:
    fake.answer_next(status, {"code": status, "msg": "no"})
    with pytest.raises(error) as info:
        make_provider(fake, session).originate(make_call())
    assert info.value.cause == cause


def test_documented_refusals_from_the_fake(fake: Fake, session: requests.Session) -> None:
    with pytest.raises(PermanentProviderError) as info:
        make_provider(fake, session, secret="wrong").originate(make_call())
    assert info.value.cause == "auth_failed"
    assert "Failed to authenticate" in str(info.value)


@pytest.mark.parametrize(
    ("body", "error", "cause"),
    [
        (
            {"code": 404, "msg": "Failed to authenticate secret"},
            PermanentProviderError,
            "auth_failed",
        ),
        (
            {"code": 400, "msg": "User id or secret param missing"},
            PermanentProviderError,
            "config_missing_params",
        ),
        ({"code": 503, "msg": "busy"}, RetryableProviderError, "http_503"),
    ],
)
def test_refusals_in_a_2xx_body_are_mapped(
    fake: Fake, session: requests.Session, body: Any, error: type[ProviderError], cause: str
) -> None:
    fake.answer_next(200, body)
    with pytest.raises(error) as info:
        make_provider(fake, session).originate(make_call())
    assert info.value.cause == cause


def test_connection_refused_is_retryable(session: requests.Session) -> None:
    provider = TeleCMIProvider(
        {"user_id": "u", "secret": "s", "base_url": closed_port_url()}, session=session
    )
    with pytest.raises(RetryableProviderError) as info:
        provider.originate(make_call())
    assert info.value.cause == "connection_error"


def test_timeout_is_retryable(fake: Fake, session: requests.Session) -> None:
    fake.mode = "hang"
    with pytest.raises(RetryableProviderError) as info:
        make_provider(fake, session).originate(make_call())
    assert info.value.cause == "timeout"


def test_fake_refuses_to_as_a_string(fake: Fake, session: requests.Session) -> None:
    body = {"user_id": USER_ID, "secret": SECRET, "to": "919100000000"}
    answer = session.post(fake.base_url + PATH, json=body, timeout=5)
    assert (answer.status_code, answer.json()["code"]) == (400, 400)


@pytest.mark.parametrize("text", INJECTIONS)
def test_free_text_is_json_encoded(fake: Fake, session: requests.Session, text: str) -> None:
    call = make_call(
        callee_id_name=text,
        caller_id_number=text,
        extra={"note": text, text: "x"},
        page_url=text,
    )
    make_provider(fake, session).originate(call)
    [sent] = fake.received
    assert set(sent["body"]) == {"user_id", "secret", "to", "extra_params", "webrtc", "followme"}
    assert sent["body"]["to"] == 919100000000
    assert sent["body"]["extra_params"] == {
        "note": text,
        text: "x",
        "callback_id": "cb123",
        "page_url": text,
    }
    assert "X-Injected" not in sent["headers"]
    assert json.loads(sent["raw_body"]) == sent["body"]


@pytest.mark.parametrize("text", ["a b", "\r\nX-Injected: 1", "\t", "s\x00"])
def test_credentials_with_spaces_or_controls_are_refused(text: str) -> None:
    with pytest.raises(ProviderConfigError) as info:
        TeleCMIProvider.validate_settings({"user_id": f"101{text}", "secret": f"s{text}"})
    assert set(info.value.fields) == {"user_id", "secret"}


@pytest.mark.parametrize("text", [t for t in INJECTIONS if " " not in t and "\r" not in t])
def test_punctuation_in_credentials_stays_inside_json_strings(
    session: requests.Session, text: str
) -> None:
    with Fake(user_id=f"101{text}", secret=f"s{text}") as own:
        result = make_provider(own, session).originate(make_call())
        [sent] = own.received
    assert result.provider_call_id
    assert (sent["body"]["user_id"], sent["body"]["secret"]) == (f"101{text}", f"s{text}")
    assert sent["body"]["to"] == 919100000000


LIVE_ENV = {
    "user_id": "WIDGET_SERVER_LIVE_TELECMI_USER_ID",
    "secret": "WIDGET_SERVER_LIVE_TELECMI_SECRET",
    "visitor": "WIDGET_SERVER_LIVE_TELECMI_VISITOR",
}


@pytest.mark.live
def test_live_click2call() -> None:
    env = live_env(LIVE_ENV, "live TeleCMI test")
    with requests.Session() as live_session:
        provider = TeleCMIProvider(
            {"user_id": env["user_id"], "secret": env["secret"]}, session=live_session
        )
        result = provider.originate(make_call(visitor_e164=env["visitor"]))
    assert result.provider_call_id
