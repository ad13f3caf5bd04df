"""PBX click2dial: the exact request, number forms, settings, error mapping, injection."""

from __future__ import annotations

import os
from typing import Any

import phonenumbers
import pytest
import requests

from tests.fakes.click2dial import OUTBOUND_ID, PATH, Fake
from tests.providers.common import call_builder, closed_port_url, live_env
from widget_server.providers.base import (
    PermanentProviderError,
    ProviderConfigError,
    ProviderError,
    RetryableProviderError,
)
from widget_server.providers.click2dial import Click2DialProvider, contact_ref, format_callee

AGENT = "1001"
VISITOR = "+972533333333"
INJECTIONS = ["&agent=1", ",", ";", "\r\nX-Injected: 1", "${agent}", '"}, "agent": "1']
BASE = {"base_url": "http://pbx.example.com:8300", "outbound_id": "27821234567"}

make_call = call_builder(callback_id="cb123", agent=AGENT, visitor_e164=VISITOR)


def make_provider(fake: Fake, session: requests.Session, **overrides: Any) -> Click2DialProvider:
    return Click2DialProvider({**fake.provider_settings(), **overrides}, session=session)


def test_v3_sends_the_documented_request(fake: Fake, session: requests.Session) -> None:
    result = make_provider(fake, session).originate(make_call())

    [sent] = fake.received
    assert (sent["method"], sent["path"], sent["query"]) == ("POST", PATH, {})
    assert sent["headers"]["Content-Type"] == "application/json"
    assert sent["body"] == {
        "agent": "1001",
        "callee": "00972533333333",
        "outbound_id": OUTBOUND_ID,
        "contact_ref": "cb123-1",
    }
    assert all(isinstance(value, str) for value in sent["body"].values())
    assert result.provider_call_id == "cb123-1"
    assert result.status == "dialing"
    assert result.details == {"contact_ref": "cb123-1"}


def test_v2_sends_call_ref(fake: Fake, session: requests.Session) -> None:
    fake.api_version = "v2"
    make_provider(fake, session).originate(make_call(attempt=3))
    assert fake.received[0]["body"] == {
        "agent": "1001",
        "callee": "00972533333333",
        "outbound_id": OUTBOUND_ID,
        "call_ref": "cb123-3",
    }


def test_v3_payload_is_refused_by_a_v2_pbx(fake: Fake, session: requests.Session) -> None:
    fake.api_version = "v2"
    with pytest.raises(PermanentProviderError) as info:
        make_provider(fake, session, api_version="v3").originate(make_call())
    assert info.value.cause == "http_400"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"id": "c2d-77"}, "c2d-77"),
        ({"call_id": 4242}, "4242"),
        ({"status": "queued"}, "cb123-1"),
        ([1, 2], "cb123-1"),
        ("   ", "cb123-1"),
    ],
)
def test_answer_id_is_kept_when_present(
    fake: Fake, session: requests.Session, answer: Any, expected: str
) -> None:
    fake.answer_next(200, answer)
    assert make_provider(fake, session).originate(make_call()).provider_call_id == expected


def test_fake_answer_id(fake: Fake, session: requests.Session) -> None:
    fake.answer_id = "pbx-1"
    assert make_provider(fake, session).originate(make_call()).provider_call_id == "pbx-1"


@pytest.mark.parametrize(
    ("visitor", "national", "expected"),
    [
        ("+27821234567", False, "27821234567"),
        ("+27821234567", True, "0821234567"),
        ("+27114567890", False, "27114567890"),
        ("+972533333333", False, "00972533333333"),
        ("+972533333333", True, "00972533333333"),
        ("+12025550123", False, "0012025550123"),
        ("+447911123456", False, "00447911123456"),
        ("+390612345678", False, "00390612345678"),
        ("+8613800138000", False, "008613800138000"),
        ("+4915123456789", False, "004915123456789"),
    ],
)
def test_callee_forms(
    fake: Fake, session: requests.Session, visitor: str, national: bool, expected: str
) -> None:
    callee_format = "national" if national else "international"
    make_provider(fake, session, callee_format=callee_format).originate(
        make_call(visitor_e164=visitor)
    )
    assert fake.received[0]["body"]["callee"] == expected


@pytest.mark.parametrize(
    "visitor",
    [
        "+3545512345",
        "+491234567890123",
        "+2782123456",
        "972533333333",
        "+972 53 333 3333",
        "+972533333333;x",
        "",
    ],
)
def test_undialable_visitors_are_refused_unsent(
    fake: Fake, session: requests.Session, visitor: str
) -> None:
    with pytest.raises(PermanentProviderError) as info:
        make_provider(fake, session).originate(make_call(visitor_e164=visitor))
    assert info.value.cause == "number_format"
    assert fake.received == []


def test_format_callee_lengths() -> None:
    assert len(format_callee(phonenumbers.parse("+12025550123"))) == 13
    with pytest.raises(ValueError):
        format_callee(phonenumbers.parse("+35412345"))


@pytest.mark.parametrize(
    ("agent", "national", "expected"),
    [
        ("101", False, "101"),
        ("1001", False, "1001"),
        ("0820001234", False, "0820001234"),
        ("27820001234", False, "27820001234"),
        ("0027820001234", False, "0027820001234"),
        ("+27820001234", False, "27820001234"),
        ("+27820001234", True, "0820001234"),
        ("+972544444444", False, "00972544444444"),
    ],
)
def test_validate_agent_accepts(agent: str, national: bool, expected: str) -> None:
    settings = {"callee_format": "national" if national else "international"}
    assert Click2DialProvider.validate_agent(agent, settings) == expected


@pytest.mark.parametrize(
    "agent",
    [
        "10",
        "10001",
        "082000123",
        "2782000123",
        "0127820001234",
        "+3545512345",
        "sip:1001@pbx",
        "1001 ",
        "+27820001234;x",
        "+27 82 000 1234",
        *[f"1001{text}" for text in INJECTIONS],
        1001,
    ],
)
def test_bad_agent_is_refused_unsent(fake: Fake, session: requests.Session, agent: Any) -> None:
    with pytest.raises(ProviderConfigError) as info:
        make_provider(fake, session).originate(make_call(agent=agent))
    assert set(info.value.fields) == {"agent"}
    assert fake.received == []


def test_agent_in_e164_is_sent_in_callee_form(fake: Fake, session: requests.Session) -> None:
    make_provider(fake, session).originate(make_call(agent="+27820001234"))
    assert fake.received[0]["body"]["agent"] == "27820001234"


@pytest.mark.parametrize(
    ("settings", "fields"),
    [
        ({}, {"base_url", "outbound_id"}),
        ({**BASE, "base_url": "pbx.example.com:8300"}, {"base_url"}),
        ({**BASE, "base_url": "http://pbx.example.com:8300/?x=1"}, {"base_url"}),
        ({**BASE, "outbound_id": "+27821234567"}, {"outbound_id"}),
        ({**BASE, "outbound_id": "2782123456"}, {"outbound_id"}),
        ({**BASE, "outbound_id": "0027821234567"}, {"outbound_id"}),
        ({**BASE, "outbound_id": 27821234567}, {"outbound_id"}),
        ({**BASE, "outbound_id": "Random"}, {"outbound_id"}),
        ({**BASE, "outbound_id": "random;x"}, {"outbound_id"}),
        ({**BASE, "outbound_id": "27821234567\r\n"}, {"outbound_id"}),
        ({**BASE, "api_version": "v4"}, {"api_version"}),
        ({**BASE, "api_version": 3}, {"api_version"}),
        ({**BASE, "callee_format": "e164"}, {"callee_format"}),
        ({**BASE, "read_timeout": -1}, {"read_timeout"}),
        ({**BASE, "agent": "1001"}, {"agent"}),
    ],
)
def test_validate_settings_refuses(settings: dict[str, Any], fields: set[str]) -> None:
    with pytest.raises(ProviderConfigError) as info:
        Click2DialProvider.validate_settings(settings)
    assert set(info.value.fields) == fields


@pytest.mark.parametrize("outbound_id", ["random", "0821234567", "27821234567"])
def test_validate_settings_accepts_and_fills_defaults(outbound_id: str) -> None:
    settings = Click2DialProvider.validate_settings({**BASE, "outbound_id": outbound_id})
    assert settings == {
        **BASE,
        "outbound_id": outbound_id,
        "api_version": "v3",
        "callee_format": "international",
    }


@pytest.mark.parametrize(
    ("callback_id", "attempt", "expected"),
    [
        ("cb123", 1, "cb123-1"),
        ("a.b_c~d-e", 2, "a.b_c~d-e-2"),
        ("cb/1?x=1&y=${z}\r\n", 1, "cb1x1yz-1"),
        ('cb", "agent": "1', 4, "cbagent1-4"),
        ("", 1, "-1"),
    ],
)
def test_contact_ref_keeps_only_allowed_characters(
    callback_id: str, attempt: int, expected: str
) -> None:
    assert contact_ref(make_call(callback_id=callback_id, attempt=attempt)) == expected


def test_contact_ref_is_cut_to_230_keeping_the_attempt() -> None:
    ref = contact_ref(make_call(callback_id="x" * 300, attempt=12))
    assert len(ref) == 230 and ref.endswith("x-12")


@pytest.mark.parametrize("text", INJECTIONS)
def test_injected_callback_id_and_extra_stay_inside_contact_ref(
    fake: Fake, session: requests.Session, text: str
) -> None:
    call = make_call(
        callback_id=f"cb{text}", extra={"note": text, text: "x"}, callee_id_name=text, page_url=text
    )
    make_provider(fake, session).originate(call)
    [sent] = fake.received
    assert set(sent["body"]) == {"agent", "callee", "outbound_id", "contact_ref"}
    assert sent["body"]["agent"] == "1001"
    assert sent["body"]["contact_ref"] == contact_ref(call)
    assert "X-Injected" not in sent["headers"]
    assert fake.calls[0]["contact_ref"] == sent["body"]["contact_ref"]


@pytest.mark.parametrize(
    ("status", "error", "cause"),
    [
        (400, PermanentProviderError, "http_400"),
        (401, PermanentProviderError, "auth_failed"),
        (403, PermanentProviderError, "auth_failed"),
        (404, PermanentProviderError, "http_404"),
        (422, PermanentProviderError, "http_422"),
        (500, RetryableProviderError, "http_500"),
        (503, RetryableProviderError, "http_503"),
    ],
)
def test_http_errors_are_mapped(
    fake: Fake, session: requests.Session, status: int, error: type[ProviderError], cause: str
) -> None:
    fake.answer_next(status, {"error": "no"})
    with pytest.raises(error) as info:
        make_provider(fake, session).originate(make_call())
    assert info.value.cause == cause


def test_connection_refused_is_retryable(session: requests.Session) -> None:
    provider = Click2DialProvider({**BASE, "base_url": closed_port_url()}, session=session)
    with pytest.raises(RetryableProviderError) as info:
        provider.originate(make_call())
    assert info.value.cause == "connection_error"


def test_timeout_is_retryable(fake: Fake, session: requests.Session) -> None:
    fake.mode = "hang"
    with pytest.raises(RetryableProviderError) as info:
        make_provider(fake, session).originate(make_call())
    assert info.value.cause == "timeout"


LIVE_ENV = {
    "base_url": "WIDGET_SERVER_LIVE_CLICK2DIAL_BASE_URL",
    "outbound_id": "WIDGET_SERVER_LIVE_CLICK2DIAL_OUTBOUND_ID",
    "agent": "WIDGET_SERVER_LIVE_CLICK2DIAL_AGENT",
    "visitor": "WIDGET_SERVER_LIVE_CLICK2DIAL_VISITOR",
}


@pytest.mark.live
def test_live_click2dial() -> None:
    env = live_env(LIVE_ENV, "live click2dial test")
    settings = {"base_url": env["base_url"], "outbound_id": env["outbound_id"]}
    if os.environ.get("WIDGET_SERVER_LIVE_CLICK2DIAL_API_VERSION"):
        settings["api_version"] = os.environ["WIDGET_SERVER_LIVE_CLICK2DIAL_API_VERSION"]
    with requests.Session() as live_session:
        provider = Click2DialProvider(settings, session=live_session)
        result = provider.originate(make_call(agent=env["agent"], visitor_e164=env["visitor"]))
    assert result.provider_call_id
