"""ExtraMobile click2call: the exact request, settings, numbers, error mapping, injection."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.fakes.extramobile import CALLER_ID, DIALER, PATH, TOKEN, Fake
from tests.providers.common import HTTP_ERRORS, call_builder, closed_port_url, live_env
from widget_server.providers.base import (
    PermanentProviderError,
    ProviderConfigError,
    ProviderError,
    RetryableProviderError,
)
from widget_server.providers.extramobile import ExtraMobileProvider

AGENT = "+972544444444"
VISITOR = "+972533333333"
INJECTIONS = ["&physical=+15550000000", ",", ";", "\r\nX-Injected: 1", "${destination}"]

make_call = call_builder(callback_id="cb123", agent=AGENT, visitor_e164=VISITOR)


def make_provider(fake: Fake, session: requests.Session, **overrides: Any) -> ExtraMobileProvider:
    return ExtraMobileProvider({**fake.provider_settings(), **overrides}, session=session)


def test_originate_sends_the_documented_request(fake: Fake, session: requests.Session) -> None:
    result = make_provider(fake, session).originate(make_call())

    [sent] = fake.received
    assert sent["method"] == "GET"
    assert sent["path"] == PATH
    assert sent["query"] == {
        "caller_id": [CALLER_ID],
        "physical": [AGENT],
        "destination": [VISITOR],
    }
    # "+" must travel encoded: a bare "+" in a query string reads as a space.
    assert sent["query_string"] == (
        "caller_id=%2B972778038038&physical=%2B972544444444&destination=%2B972533333333"
    )
    assert sent["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert sent["raw_body"] == b""
    assert result.provider_call_id == fake.calls[0]["call_id"]
    assert result.status == "dialing"
    assert result.details == {"dialer": DIALER}


def test_call_caller_id_number_wins_over_the_setting(fake: Fake, session: requests.Session):
    make_provider(fake, session).originate(make_call(caller_id_number="+97236178888"))
    assert fake.received[0]["query"]["caller_id"] == ["+97236178888"]


def test_no_caller_id_anywhere_is_a_config_error(fake: Fake, session: requests.Session):
    settings = {k: v for k, v in fake.provider_settings().items() if k != "caller_id"}
    provider = ExtraMobileProvider(settings, session=session)
    with pytest.raises(ProviderConfigError) as info:
        provider.originate(make_call())
    assert set(info.value.fields) == {"caller_id"}
    assert fake.received == []


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({}, "token"),
        ({"token": ""}, "token"),
        ({"token": "abc def"}, "token"),
        ({"token": "abc\r\nX-Injected: 1"}, "token"),
        ({"token": "abc,def"}, "token"),
        ({"token": 12345}, "token"),
        ({"token": "t", "caller_id": "0778038038"}, "caller_id"),
        ({"token": "t", "caller_id": "+1 555"}, "caller_id"),
        ({"token": "t", "caller_id": "+972778038038&destination=+1"}, "caller_id"),
        ({"token": "t", "caller_id": "+972778038038\r\n"}, "caller_id"),
        ({"token": "t", "caller_id": 972778038038}, "caller_id"),
        ({"token": "t", "base_url": "ftp://www.exm.co.il"}, "base_url"),
        ({"token": "t", "base_url": "https://"}, "base_url"),
        ({"token": "t", "base_url": "https://exm.co.il/?a=1"}, "base_url"),
        ({"token": "t", "base_url": "https://user:pw@exm.co.il"}, "base_url"),
        ({"token": "t", "base_url": "https://exm.co.il:port"}, "base_url"),
        ({"token": "t", "read_timeout": 0}, "read_timeout"),
        ({"token": "t", "read_timeout": "fast"}, "read_timeout"),
        ({"token": "t", "connect_timeout": True}, "connect_timeout"),
        ({"token": "t", "connect_timeout": 61}, "connect_timeout"),
        ({"token": "t", "physical": "+972544444444"}, "physical"),
    ],
)
def test_validate_settings_refuses(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ProviderConfigError) as info:
        ExtraMobileProvider.validate_settings(settings)
    assert set(info.value.fields) == {field}


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"token": "abc"}, {"token": "abc"}),
        ({"token": "a.b-c_d~e+f/g=="}, {"token": "a.b-c_d~e+f/g=="}),
        (
            {"token": "t", "caller_id": "+972 77-803-8038"},
            {"token": "t", "caller_id": "+972778038038"},
        ),
        (
            {"token": "t", "base_url": "http://127.0.0.1:8080", "read_timeout": 2.5},
            {"token": "t", "base_url": "http://127.0.0.1:8080", "read_timeout": 2.5},
        ),
    ],
)
def test_validate_settings_accepts(settings: dict[str, Any], expected: dict[str, Any]) -> None:
    assert ExtraMobileProvider.validate_settings(settings) == expected


def test_default_base_url_is_extramobile() -> None:
    provider = ExtraMobileProvider({"token": "t"})
    assert provider.base_url == "https://www.exm.co.il"


@pytest.mark.parametrize(
    "visitor",
    [
        "+972533333333",
        "+97236178888",
        "+12025550123",
        "+447911123456",
        "+27821234567",
        "+390612345678",
        "+8613800138000",
    ],
)
def test_visitor_is_sent_in_e164(fake: Fake, session: requests.Session, visitor: str) -> None:
    make_provider(fake, session).originate(make_call(visitor_e164=visitor))
    assert fake.received[0]["query"]["destination"] == [visitor]


@pytest.mark.parametrize(
    "visitor", ["972533333333", "+972 53 333 3333", "+972533333333&x=1", "+972533333333\r\n", ""]
)
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
        ("+972544444444", "+972544444444"),
        ("+972 54-444-4444", "+972544444444"),
        ("+1 (202) 555-0123", "+12025550123"),
    ],
)
def test_validate_agent_accepts_numbers(agent: str, expected: str) -> None:
    assert ExtraMobileProvider.validate_agent(agent) == expected


@pytest.mark.parametrize(
    "agent",
    [
        "101",
        "0544444444",
        "sip:101@pbx.example.com",
        "+972544444444;ext=1",
        "+972544444444\r\n",
        "+972544444444&destination=+1",
        "${agent}",
        "+1",
    ],
)
def test_agent_that_is_not_a_number_is_refused_unsent(
    fake: Fake, session: requests.Session, agent: str
) -> None:
    with pytest.raises(ProviderConfigError) as info:
        make_provider(fake, session).originate(make_call(agent=agent))
    assert set(info.value.fields) == {"agent"}
    assert fake.received == []


@pytest.mark.parametrize(
    ("status", "error", "cause"),
    HTTP_ERRORS,
)
def test_http_errors_are_mapped(
    fake: Fake, session: requests.Session, status: int, error: type[ProviderError], cause: str
) -> None:
    fake.answer_next(status, {"success": False, "message": "no"})
    with pytest.raises(error) as info:
        make_provider(fake, session).originate(make_call())
    assert info.value.cause == cause


def test_connection_refused_is_retryable(session: requests.Session) -> None:
    provider = ExtraMobileProvider(
        {"token": "t", "caller_id": CALLER_ID, "base_url": closed_port_url()}, session=session
    )
    with pytest.raises(RetryableProviderError) as info:
        provider.originate(make_call())
    assert info.value.cause == "connection_error"


def test_timeout_is_retryable(fake: Fake, session: requests.Session) -> None:
    fake.mode = "hang"
    with pytest.raises(RetryableProviderError) as info:
        make_provider(fake, session).originate(make_call())
    assert info.value.cause == "timeout"


def test_answer_without_numbers_keeps_no_details(fake: Fake, session: requests.Session):
    fake.answer_next(200, {"success": True, "call_id": "z87LXSIIb"})
    result = make_provider(fake, session).originate(make_call())
    assert (result.provider_call_id, dict(result.details)) == ("z87LXSIIb", {})


@pytest.mark.parametrize("text", INJECTIONS)
def test_free_text_never_reaches_the_request(
    fake: Fake, session: requests.Session, text: str
) -> None:
    call = make_call(
        callee_id_name=text, extra={"note": text, text: "x"}, page_url=text, callback_id=f"cb{text}"
    )
    make_provider(fake, session).originate(call)
    [sent] = fake.received
    assert sent["query"] == {
        "caller_id": [CALLER_ID],
        "physical": [AGENT],
        "destination": [VISITOR],
    }
    assert "X-Injected" not in sent["headers"]


@pytest.mark.parametrize("text", INJECTIONS)
def test_injected_caller_id_number_is_refused_unsent(
    fake: Fake, session: requests.Session, text: str
) -> None:
    with pytest.raises(ProviderConfigError):
        make_provider(fake, session).originate(make_call(caller_id_number=f"+97236178888{text}"))
    assert fake.received == []


@pytest.mark.parametrize("text", INJECTIONS)
def test_injected_token_is_refused(text: str) -> None:
    with pytest.raises(ProviderConfigError) as info:
        ExtraMobileProvider.validate_settings({"token": f"abc{text}"})
    assert "token" in info.value.fields


LIVE_ENV = {
    "token": "WIDGET_SERVER_LIVE_EXTRAMOBILE_TOKEN",
    "caller_id": "WIDGET_SERVER_LIVE_EXTRAMOBILE_CALLER_ID",
    "agent": "WIDGET_SERVER_LIVE_EXTRAMOBILE_AGENT",
    "visitor": "WIDGET_SERVER_LIVE_EXTRAMOBILE_VISITOR",
}


@pytest.mark.live
def test_live_click2call() -> None:
    env = live_env(LIVE_ENV, "live ExtraMobile test")
    with requests.Session() as live_session:
        provider = ExtraMobileProvider(
            {"token": env["token"], "caller_id": env["caller_id"]}, session=live_session
        )
        result = provider.originate(make_call(agent=env["agent"], visitor_e164=env["visitor"]))
    assert result.provider_call_id
