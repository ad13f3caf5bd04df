"""Voiptech dialup.php: the exact request, answers in every format, scheduling, injection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests

from tests.fakes.voiptech import ORG, PASSWORD, PATH, USER, Fake
from tests.providers.common import HTTP_ERRORS, call_builder, closed_port_url, live_env
from widget_server.providers.base import (
    PermanentProviderError,
    ProviderConfigError,
    ProviderError,
    RetryableProviderError,
)
from widget_server.providers.voiptech import VoiptechProvider, parse_answer

AGENT = "201"
VISITOR = "+972533333333"
INJECTIONS = ["&dial2=+15550000000", ",", ";", '<x a="1">', '"', "\r\nX-Injected: 1", "${dial2}"]
BASE_PARAMS = {
    "user": [USER],
    "pass": [PASSWORD],
    "org": [ORG],
    "dial1": [AGENT],
    "dial2": [VISITOR],
    "Response": ["yes"],
    "showUID": ["yes"],
    "RFormat": ["json"],
    "Timeout": ["20"],
}

make_call = call_builder(callback_id="cb123", agent=AGENT, visitor_e164=VISITOR)


def make_provider(fake: Fake, session: requests.Session, **overrides: Any) -> VoiptechProvider:
    return VoiptechProvider({**fake.provider_settings(), **overrides}, session=session)


def test_originate_posts_the_documented_form(fake: Fake, session: requests.Session) -> None:
    result = make_provider(fake, session).originate(make_call())

    [sent] = fake.received
    assert (sent["method"], sent["path"], sent["query"]) == ("POST", PATH, {})
    assert sent["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent["body"] == BASE_PARAMS
    # "+" and "&" travel encoded: a bare "+" reads as a space, a bare "&" starts a parameter.
    assert b"dial2=%2B972533333333" in sent["raw_body"]
    assert b"pass=s3cret+pass%26word" in sent["raw_body"]
    answer = fake.calls[0]["answer"]
    assert result.provider_call_id == answer["uid1"]
    assert result.status == "agent_answered"
    assert dict(result.details) == {
        "agent_leg_uid": answer["uid1"],
        "visitor_leg_uid": answer["uid2"],
    }


def test_get_sends_the_query_string(fake: Fake, session: requests.Session) -> None:
    result = make_provider(fake, session, method="GET").originate(make_call())
    [sent] = fake.received
    assert (sent["method"], sent["raw_body"]) == ("GET", b"")
    assert sent["query"] == BASE_PARAMS
    assert "dial2=%2B972533333333" in sent["query_string"]
    assert result.provider_call_id


@pytest.mark.parametrize(
    ("settings", "call", "expected"),
    [
        ({}, {"caller_id_number": "+97236178888"}, "+97236178888"),
        ({"caller_id": "036178888"}, {}, "036178888"),
        ({"caller_id": "036178888"}, {"caller_id_number": "201"}, "201"),
    ],
)
def test_caller_id_is_sent_as_setcid(
    fake: Fake,
    session: requests.Session,
    settings: dict[str, Any],
    call: dict[str, Any],
    expected: str,
) -> None:
    make_provider(fake, session, **settings).originate(make_call(**call))
    assert fake.received[0]["body"]["SetCID"] == [expected]


@pytest.mark.parametrize("rformat", ["json", "xml", "text"])
def test_every_answer_format_is_read(fake: Fake, session: requests.Session, rformat: str) -> None:
    result = make_provider(fake, session, rformat=rformat).originate(make_call())
    assert fake.received[0]["body"]["RFormat"] == [rformat]
    assert result.provider_call_id == fake.calls[0]["answer"]["uid1"]
    assert result.details["visitor_leg_uid"] == fake.calls[0]["answer"]["uid2"]


@pytest.mark.parametrize("rformat", ["json", "xml", "text"])
@pytest.mark.parametrize(
    ("reason", "cause"),
    [
        ("No answer", "agent_no_answer"),
        ("NOANSWER", "agent_no_answer"),
        ("Busy", "agent_busy"),
        ("User busy", "agent_busy"),
        ("Unreachable", "agent_unreachable"),
        ("Not connected", "agent_unreachable"),
        ("Hangup", "agent_leg_failed"),
        ("", "agent_leg_failed"),
    ],
)
def test_first_leg_failures_are_permanent_with_their_cause(
    fake: Fake, session: requests.Session, rformat: str, reason: str, cause: str
) -> None:
    fake.fail_next(reason)
    with pytest.raises(PermanentProviderError) as info:
        make_provider(fake, session, rformat=rformat).originate(make_call())
    assert info.value.cause == cause


def test_failure_messages_keep_no_phone_numbers(fake: Fake, session: requests.Session):
    fake.fail_next("Busy: +972 53-333-3333")
    with pytest.raises(PermanentProviderError) as info:
        make_provider(fake, session).originate(make_call())
    assert info.value.cause == "agent_busy"
    assert "3333" not in str(info.value) and "[number]" in str(info.value)


@pytest.mark.parametrize("rformat", ["json", "xml", "text"])
def test_bad_credentials_are_auth_failed(
    fake: Fake, session: requests.Session, rformat: str
) -> None:
    with pytest.raises(PermanentProviderError) as info:
        make_provider(fake, session, rformat=rformat, org="other").originate(make_call())
    assert info.value.cause == "auth_failed"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '{"status": "ok", "uid1": "1.1", "uid2": "1.2"}',
            {"status": "ok", "uid1": "1.1", "uid2": "1.2"},
        ),
        (
            '{"Result": "FAIL", "Dial1": {"UniqueID": "7"}, "detail": "busy"}',
            {"status": "FAIL", "uid1": "7", "detail": "busy", "reason": "busy"},
        ),
        (
            '{"status": "fail", "error": "Missing parameter dial2"}',
            {"status": "fail", "reason": "Missing parameter dial2"},
        ),
        (
            "<response><status>ok</status><UniqueID1>1.1</UniqueID1><dial2 uid='1.2'/></response>",
            {"status": "ok", "uid1": "1.1", "uid2": "1.2"},
        ),
        (
            '<?xml version="1.0"?><result status="fail"><reason>no answer</reason></result>',
            {"status": "fail", "reason": "no answer"},
        ),
        (
            "ok uid1=1.1 uid2=1.2",
            {"status": "ok", "uid1": "1.1", "uid2": "1.2", "reason": "uid1=1.1 uid2=1.2"},
        ),
        (
            "OK\nUID1: 1.1\nUID2: 1.2",
            {"status": "ok", "uid1": "1.1", "uid2": "1.2", "reason": "UID1: 1.1\nUID2: 1.2"},
        ),
        ("Status: Fail<br>Reason: no answer", {"status": "Fail", "reason": "no answer"}),
        (
            "<html><body>FAIL: busy</body></html>",
            {"fail": "busy", "status": "fail", "reason": "busy"},
        ),
        ("fail reason=no user response", {"status": "fail", "reason": "no user response"}),
        ('<!DOCTYPE r [<!ENTITY ok "ok">]><r><status>&ok;</status></r>', {}),
        ("<html><body>Welcome</body></html>", {}),
        ("[1, 2]", {}),
        ("{broken", {}),
        ("", {}),
    ],
)
def test_parse_answer(body: str, expected: dict[str, str]) -> None:
    assert parse_answer(body) == expected


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"pass": "p", "org": "o"}, "user"),
        ({"user": "u", "org": "o"}, "pass"),
        ({"user": "u", "pass": "p"}, "org"),
        ({"user": "u", "pass": "p\r\nx", "org": "o"}, "pass"),
        ({"user": "u", "pass": "p", "org": "o" * 129}, "org"),
        ({"user": 7, "pass": "p", "org": "o"}, "user"),
        ({"user": "u", "pass": "p", "org": "o", "method": "PUT"}, "method"),
        ({"user": "u", "pass": "p", "org": "o", "method": "post"}, "method"),
        ({"user": "u", "pass": "p", "org": "o", "rformat": "html"}, "rformat"),
        ({"user": "u", "pass": "p", "org": "o", "caller_id": "+972-3-617"}, "caller_id"),
        ({"user": "u", "pass": "p", "org": "o", "caller_id": 36178888}, "caller_id"),
        ({"user": "u", "pass": "p", "org": "o", "time_zone": "Mars/Olympus"}, "time_zone"),
        ({"user": "u", "pass": "p", "org": "o", "base_url": "voiptech.pri/API"}, "base_url"),
        ({"user": "u", "pass": "p", "org": "o", "read_timeout": 331}, "read_timeout"),
        ({"user": "u", "pass": "p", "org": "o", "connect_timeout": 61}, "connect_timeout"),
        ({"user": "u", "pass": "p", "org": "o", "Timeout": 20}, "Timeout"),
    ],
)
def test_validate_settings_refuses(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ProviderConfigError) as info:
        VoiptechProvider.validate_settings(settings)
    assert set(info.value.fields) == {field}


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"user": "u", "pass": "p w", "org": "Acme Ltd"},
            {
                "user": "u",
                "pass": "p w",
                "org": "Acme Ltd",
                "method": "POST",
                "rformat": "json",
                "time_zone": "Asia/Jerusalem",
            },
        ),
        (
            {
                "user": "u",
                "pass": "p",
                "org": "o",
                "method": "GET",
                "rformat": "xml",
                "caller_id": "+97236178888",
                "time_zone": "UTC",
                "read_timeout": 300,
            },
            {
                "user": "u",
                "pass": "p",
                "org": "o",
                "method": "GET",
                "rformat": "xml",
                "caller_id": "+97236178888",
                "time_zone": "UTC",
                "read_timeout": 300,
            },
        ),
    ],
)
def test_validate_settings_fills_defaults(settings: dict[str, Any], expected: dict[str, Any]):
    assert VoiptechProvider.validate_settings(settings) == expected


def test_default_url_is_voiptech() -> None:
    provider = VoiptechProvider({"user": "u", "pass": "p", "org": "o"})
    assert provider.base_url + "/dialup.php" == "https://voiptech.pri/API/dialup.php"


def test_read_timeout_outlasts_the_agent_ring_by_default(
    fake: Fake, session: requests.Session
) -> None:
    settings = {k: v for k, v in fake.provider_settings().items() if k != "read_timeout"}
    provider = VoiptechProvider(settings, session=session)
    provider.originate(make_call(timeout=60))
    assert provider.timeout[1] == 75


@pytest.mark.parametrize(
    "visitor",
    [
        "+972533333333",
        "+12025550123",
        "+447911123456",
        "+27821234567",
        "+390612345678",
        "+8613800138000",
    ],
)
def test_visitor_is_sent_in_e164(fake: Fake, session: requests.Session, visitor: str) -> None:
    make_provider(fake, session).originate(make_call(visitor_e164=visitor))
    assert fake.received[0]["body"]["dial2"] == [visitor]


@pytest.mark.parametrize("visitor", ["972533333333", "+972 53 333 3333", "+9725333&x=1", ""])
def test_visitor_not_in_e164_is_refused_unsent(
    fake: Fake, session: requests.Session, visitor: str
) -> None:
    with pytest.raises(PermanentProviderError) as info:
        make_provider(fake, session).originate(make_call(visitor_e164=visitor))
    assert info.value.cause == "number_format"
    assert fake.received == []


@pytest.mark.parametrize("agent", ["201", "+972544444444", "*97", "0544444444"])
def test_agent_is_sent_as_dial1(fake: Fake, session: requests.Session, agent: str) -> None:
    make_provider(fake, session).originate(make_call(agent=agent))
    assert fake.received[0]["body"]["dial1"] == [agent]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"agent": "sip:201@pbx"}, "agent"),
        ({"agent": "201&dial2=1"}, "agent"),
        ({"agent": "201\r\n"}, "agent"),
        ({"agent": ""}, "agent"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": 301}, "timeout"),
        ({"caller_id_number": "+972 3 617"}, "caller_id_number"),
    ],
)
def test_unusable_call_fields_are_refused_unsent(
    fake: Fake, session: requests.Session, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(ProviderConfigError) as info:
        make_provider(fake, session).originate(make_call(**overrides))
    assert set(info.value.fields) == {field}
    assert fake.received == []


@pytest.mark.parametrize(
    ("status", "error", "cause"),
    HTTP_ERRORS,
)
def test_http_errors_are_mapped(
    fake: Fake, session: requests.Session, status: int, error: type[ProviderError], cause: str
) -> None:
    fake.answer_next(status, "<html>error</html>")
    with pytest.raises(error) as info:
        make_provider(fake, session).originate(make_call())
    assert info.value.cause == cause


def test_connection_refused_is_retryable(session: requests.Session) -> None:
    provider = VoiptechProvider(
        {"user": "u", "pass": "p", "org": "o", "base_url": closed_port_url()}, session=session
    )
    with pytest.raises(RetryableProviderError) as info:
        provider.originate(make_call())
    assert info.value.cause == "connection_error"


def test_timeout_is_retryable(fake: Fake, session: requests.Session) -> None:
    fake.mode = "hang"
    with pytest.raises(RetryableProviderError) as info:
        make_provider(fake, session).originate(make_call())
    assert info.value.cause == "timeout"


def test_ok_without_uids_is_a_placed_call(fake: Fake, session: requests.Session) -> None:
    fake.answer_next(200, "OK")
    result = make_provider(fake, session).originate(make_call())
    assert (result.provider_call_id, result.status, dict(result.details)) == (
        None,
        "agent_answered",
        {},
    )


def test_schedule_adds_the_future_call_fields(fake: Fake, session: requests.Session) -> None:
    at = datetime(2031, 1, 15, 7, 30, tzinfo=UTC)  # 09:30 in Jerusalem (UTC+2 in winter)
    result = make_provider(fake, session).schedule(
        make_call(), at, max_retry=3, retry_time=300, ident="acme-01"
    )
    [sent] = fake.received
    assert sent["body"] == {
        **BASE_PARAMS,
        "Date": ["203101150930"],
        "Maxretry": ["3"],
        "Retrytime": ["300"],
        "ident": ["acme-01"],
    }
    assert result.status == "scheduled"
    assert result.provider_call_id == fake.calls[0]["answer"]["uid1"]


def test_schedule_uses_the_time_zone_setting(fake: Fake, session: requests.Session) -> None:
    at = datetime(2031, 7, 15, 7, 30, tzinfo=UTC)
    make_provider(fake, session, time_zone="America/New_York").schedule(
        make_call(), at, max_retry=0, retry_time=60, ident="x"
    )
    assert fake.received[0]["body"]["Date"] == ["203107150330"]


SOON = datetime.now(UTC) + timedelta(days=1)


@pytest.mark.parametrize(
    ("at", "max_retry", "retry_time", "ident"),
    [
        (SOON.replace(tzinfo=None), 1, 60, "x"),
        (datetime(2020, 1, 1, tzinfo=UTC), 1, 60, "x"),
        (SOON, -1, 60, "x"),
        (SOON, True, 60, "x"),
        (SOON, 1, 0, "x"),
        (SOON, 1, "60", "x"),
        (SOON, 1, 60, ""),
        (SOON, 1, 60, "a&Date=1"),
        (SOON, 1, 60, "a b"),
        (SOON, 1, 60, "a\r\nX: 1"),
        (SOON, 1, 60, "${ident}"),
    ],
)
def test_schedule_refuses_bad_values_unsent(
    fake: Fake,
    session: requests.Session,
    at: datetime,
    max_retry: Any,
    retry_time: Any,
    ident: str,
) -> None:
    with pytest.raises(PermanentProviderError) as info:
        make_provider(fake, session).schedule(make_call(), at, max_retry, retry_time, ident)
    assert info.value.cause == "invalid_schedule"
    assert fake.received == []


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("text", INJECTIONS)
def test_free_text_never_adds_a_parameter(
    fake: Fake, session: requests.Session, method: str, text: str
) -> None:
    call = make_call(callee_id_name=text, extra={"note": text, text: "x"}, page_url=text)
    make_provider(fake, session, method=method).originate(call)
    [sent] = fake.received
    params = sent["body"] if method == "POST" else sent["query"]
    assert params == {**BASE_PARAMS}
    assert "X-Injected" not in sent["headers"]
    assert "note" not in sent["query_string"] and b"note" not in sent["raw_body"]


@pytest.mark.parametrize("text", [t for t in INJECTIONS if "\r" not in t])
def test_punctuation_in_settings_stays_one_value(session: requests.Session, text: str) -> None:
    with Fake() as own:
        settings = {**own.provider_settings(), "org": f"acme{text}"}
        with pytest.raises(PermanentProviderError) as info:
            VoiptechProvider(settings, session=session).originate(make_call())
        [sent] = own.received
    assert info.value.cause == "auth_failed"  # the fake knows org "acme" only
    assert sent["body"]["org"] == [f"acme{text}"]
    assert set(sent["body"]) == set(BASE_PARAMS)
    assert parse_qs(sent["raw_body"].decode())["dial2"] == [VISITOR]


@pytest.mark.parametrize("text", INJECTIONS)
def test_injected_caller_id_is_refused(fake: Fake, session: requests.Session, text: str):
    with pytest.raises(ProviderConfigError):
        make_provider(fake, session).originate(make_call(caller_id_number=f"036178888{text}"))
    with pytest.raises(ProviderConfigError):
        VoiptechProvider.validate_settings(
            {"user": "u", "pass": "p", "org": "o", "caller_id": f"036178888{text}"}
        )
    assert fake.received == []


def test_line_breaks_in_settings_are_refused() -> None:
    with pytest.raises(ProviderConfigError) as info:
        VoiptechProvider.validate_settings({"user": "u\r\nX: 1", "pass": "p\n", "org": "o\x00"})
    assert set(info.value.fields) == {"user", "pass", "org"}


LIVE_ENV = {
    "user": "WIDGET_SERVER_LIVE_VOIPTECH_USER",
    "pass": "WIDGET_SERVER_LIVE_VOIPTECH_PASS",
    "org": "WIDGET_SERVER_LIVE_VOIPTECH_ORG",
    "agent": "WIDGET_SERVER_LIVE_VOIPTECH_AGENT",
    "visitor": "WIDGET_SERVER_LIVE_VOIPTECH_VISITOR",
}


@pytest.mark.live
def test_live_dialup() -> None:
    env = live_env(LIVE_ENV, "live Voiptech test")
    settings = {key: env[key] for key in ("user", "pass", "org")}
    with requests.Session() as live_session:
        provider = VoiptechProvider(settings, session=live_session)
        try:
            result = provider.originate(make_call(agent=env["agent"], visitor_e164=env["visitor"]))
        except PermanentProviderError as exc:
            # Nobody at the agent phone is still a readable answer; wrong credentials are not.
            assert exc.cause.startswith("agent_"), exc.cause
            return
    assert result.status == "agent_answered"
