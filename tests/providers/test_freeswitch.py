"""The FreeSWITCH (event socket) adapter against a strict fake mod_event_socket."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import socket
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import pytest

from tests.fakes.freeswitch import PASSWORD, Fake, parse_originate
from tests.providers.common import LOCAL, call_builder, channels_gone, live_env
from widget_server.core.egress import ANYWHERE
from widget_server.core.statuses import Status
from widget_server.providers.base import (
    CallState,
    Capability,
    PermanentProviderError,
    ProviderConfigError,
    RetryableProviderError,
)
from widget_server.providers.freeswitch import FreeSwitchProvider, parse_plain_event
from widget_server.providers.socket_base import Garbled

CALLBACK_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
BASE_SETTINGS = {
    "host": "fs.example.com",
    "password": "ClueCon",
    "agent_endpoint": "user/{agent}",
    "gateway": "trunk",
}
INJECTIONS = [
    "a&b",
    "a,widget_evil=1",
    "a;b",
    "a}b{c",
    "a'b' c",
    "a\r\nbgapi originate user/666 &park()",
    "x\nJob-UUID: evil",
    "${system(id)}",
    "a b\tc",
    "a)b(c|d:_:e",
]

make_call = call_builder(callback_id=CALLBACK_ID, agent="1001", visitor_e164="+27821234567")


def adapter(settings: Mapping[str, Any]) -> FreeSwitchProvider:
    """Build the adapter as the server does, with loopback (where the fake listens) allowed."""
    return FreeSwitchProvider(settings, egress=LOCAL)


def originate_record(fake: Fake) -> dict:
    [record] = [r for r in fake.received if "originate" in r]
    return record


# What goes on the wire ---------------------------------------------------------------------


def test_originate_sends_exactly_auth_subscribe_bgapi_exit(fake: Fake) -> None:
    result = adapter(fake.provider_settings()).originate(make_call())

    assert result.status == Status.AGENT_ANSWERED
    assert UUID_RE.fullmatch(result.provider_call_id or "")
    assert fake.commands() == [
        f"auth {PASSWORD}",
        "event plain BACKGROUND_JOB",
        "bgapi originate {ignore_early_media=true,originate_timeout=20,"
        f"origination_caller_id_number=1000,widget_callback_id={CALLBACK_ID},widget_attempt=1}}"
        "user/1001 &bridge(sofia/gateway/trunk/+27821234567)",
        "exit",
    ]
    bgapi = originate_record(fake)
    assert bgapi["headers"] == {"Job-UUID": result.details["job_uuid"]}
    assert UUID_RE.fullmatch(result.details["job_uuid"])
    assert fake.errors == []


def test_names_numbers_and_metadata(fake: Fake) -> None:
    settings = dict(fake.provider_settings(), caller_id_name="Web callback")
    call = make_call(
        callee_id_name="Acme Support",
        callee_id_number="+27110000001",
        extra={"Topic": "pricing & plans"},
        page_url="https://shop.example/p?q=1",
        event_url="https://cb.example/e/t",
    )

    adapter(settings).originate(call)

    parsed = originate_record(fake)["originate"]
    assert parsed["argc"] == 2
    assert parsed["agent_endpoint"] == "user/1001"
    assert parsed["agent_vars"] == {
        "ignore_early_media": "true",
        "originate_timeout": "20",
        "origination_caller_id_number": "1000",
        "origination_caller_id_name": "Web callback",
        "widget_callback_id": CALLBACK_ID,
        "widget_attempt": "1",
        "widget_page_url": "https%3A%2F%2Fshop.example%2Fp%3Fq%3D1",
        "widget_event_url": "https%3A%2F%2Fcb.example%2Fe%2Ft",
        "widget_extra_topic": "pricing%20%26%20plans",
    }
    assert parsed["app"] == "bridge"
    assert parsed["visitor_vars"] == {
        "origination_caller_id_number": "+27110000001",
        "origination_caller_id_name": "Acme Support",
    }
    assert parsed["visitor_endpoint"] == "sofia/gateway/trunk/+27821234567"


@pytest.mark.parametrize(
    ("visitor_format", "dialled"),
    [
        ("e164", "+27821234567"),
        ("digits", "27821234567"),
        ("00", "0027821234567"),
    ],
)
def test_visitor_formats(fake: Fake, visitor_format: str, dialled: str) -> None:
    settings = dict(fake.provider_settings(), visitor_format=visitor_format)
    adapter(settings).originate(make_call())
    parsed = originate_record(fake)["originate"]
    assert parsed["visitor_endpoint"] == f"sofia/gateway/trunk/{dialled}"


def test_framing_survives_tiny_reads(fake: Fake) -> None:
    fake.chunked = True
    result = adapter(fake.provider_settings()).originate(make_call())
    assert result.status == Status.AGENT_ANSWERED


def test_versions_that_ignore_our_job_uuid_are_followed(fake: Fake) -> None:
    fake.honour_job_uuid = False
    result = adapter(fake.provider_settings()).originate(make_call())
    sent = originate_record(fake)["headers"]["Job-UUID"]
    assert result.status == Status.AGENT_ANSWERED
    assert result.details["job_uuid"] != sent


def test_plain_event_headers_are_url_decoded_and_body_is_length_framed() -> None:
    body = "+OK é-uuid\n".encode()
    event = (
        b"Event-Name: BACKGROUND_JOB\nJob-UUID: abc\nJob-Command-Arg: a%20b%2Cc%7D\n"
        b"Content-Length: " + str(len(body)).encode() + b"\n\n" + body + b"trailing"
    )
    headers, inner = parse_plain_event(event)
    assert headers["Job-Command-Arg"] == "a b,c}"
    assert headers["Job-UUID"] == "abc"
    assert inner == body


@pytest.mark.parametrize(
    "event",
    [
        b"Event-Name: X\nContent-Length: 50\n\nshort",
        b"Event-Name: X\nContent-Length: x\n\n",
        b"no colon here\n\n",
    ],
)
def test_broken_plain_events_are_refused(event: bytes) -> None:
    with pytest.raises(Garbled):
        parse_plain_event(event)


# Settings ----------------------------------------------------------------------------------


def test_settings_defaults() -> None:
    assert FreeSwitchProvider.validate_settings(BASE_SETTINGS) == {
        **BASE_SETTINGS,
        "port": 8021,
        "visitor_format": "e164",
        "connect_timeout": 5.0,
        "read_timeout": 10.0,
    }


@pytest.mark.parametrize(
    "changes",
    [
        {"agent_endpoint": "sofia/gateway/agents/{agent}"},
        {"agent_endpoint": "sofia/internal/{agent}@pbx.example.com"},
        {"caller_id_number": "+27110000000", "caller_id_name": "Web callback"},
        {"caller_id_name": "Café-Support"},
        {"port": 18021, "visitor_format": "digits", "read_timeout": 1},
    ],
)
def test_good_settings(changes: dict) -> None:
    assert FreeSwitchProvider.validate_settings({**BASE_SETTINGS, **changes})


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"host": None}, "host"),
        ({"host": "fs.example.com\nexit"}, "host"),
        ({"port": "8021"}, "port"),
        ({"port": 70000}, "port"),
        ({"password": None}, "password"),
        ({"password": "ClueCon\n\napi system id"}, "password"),
        ({"gateway": None}, "gateway"),
        ({"gateway": "trunk/evil"}, "gateway"),
        ({"gateway": "trunk,user/666"}, "gateway"),
        ({"agent_endpoint": "user/1001"}, "agent_endpoint"),
        ({"agent_endpoint": "user/{agent},user/666"}, "agent_endpoint"),
        ({"agent_endpoint": "{origination_uuid=x}user/{agent}"}, "agent_endpoint"),
        ({"agent_endpoint": "user/{agent} &park()"}, "agent_endpoint"),
        ({"agent_endpoint": "user/${agent}"}, "agent_endpoint"),
        ({"caller_id_number": "1000,x=1"}, "caller_id_number"),
        ({"caller_id_number": "1000\n"}, "caller_id_number"),
        ({"caller_id_name": "Web, callback"}, "caller_id_name"),
        ({"caller_id_name": "Web'callback"}, "caller_id_name"),
        ({"caller_id_name": "Web}callback{x=1"}, "caller_id_name"),
        ({"caller_id_name": "${system(id)}"}, "caller_id_name"),
        ({"caller_id_name": "Web  callback"}, "caller_id_name"),
        ({"caller_id_name": "Web\tcallback"}, "caller_id_name"),
        ({"visitor_format": "national"}, "visitor_format"),
        ({"read_timeout": -1}, "read_timeout"),
        ({"connect_timeout": None}, "connect_timeout"),
        ({"context": "default"}, "context"),
    ],
)
def test_bad_settings(changes: dict, field: str) -> None:
    settings = {**BASE_SETTINGS, **changes}
    settings = {k: v for k, v in settings.items() if v is not None or k == "connect_timeout"}
    with pytest.raises(ProviderConfigError) as caught:
        FreeSwitchProvider.validate_settings(settings)
    assert field in caught.value.fields


# Outcomes and errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("job_result", "status", "cause"),
    [
        ("+OK 6b0f0b4e-3f7a-4a59-9d0e-1c2b3a4d5e6f\n", Status.AGENT_ANSWERED, None),
        ("-ERR NO_ANSWER\n", Status.NO_ANSWER, "agent_no_answer"),
        ("-ERR NO_USER_RESPONSE\n", Status.NO_ANSWER, "agent_no_answer"),
        ("-ERR USER_BUSY\n", Status.BUSY, "agent_busy"),
    ],
)
def test_answers_that_end_with_a_status(
    fake: Fake, job_result: str, status: str, cause: str | None
) -> None:
    fake.job_result = job_result
    result = adapter(fake.provider_settings()).originate(make_call())
    assert result.status == status
    assert result.cause == cause
    if status == Status.AGENT_ANSWERED:
        assert result.provider_call_id == "6b0f0b4e-3f7a-4a59-9d0e-1c2b3a4d5e6f"


@pytest.mark.parametrize(
    ("job_result", "error", "cause"),
    [
        ("-ERR SUBSCRIBER_ABSENT\n", PermanentProviderError, "subscriber_absent"),
        ("-ERR CALL_REJECTED\n", PermanentProviderError, "call_rejected"),
        ("-ERR USER_NOT_REGISTERED\n", PermanentProviderError, "user_not_registered"),
        ("-ERR NORMAL_CIRCUIT_CONGESTION\n", RetryableProviderError, "normal_circuit_congestion"),
        ("-ERR\n", PermanentProviderError, "originate_failed"),
        ("-ERR no such thing!\n", PermanentProviderError, "originate_failed"),
        ("-USAGE: <call url> <exten>\n", PermanentProviderError, "originate_refused"),
        ("+OK not/a uuid\n", PermanentProviderError, "malformed_answer"),
        ("Command returned no output!", PermanentProviderError, "malformed_answer"),
    ],
)
def test_answers_that_are_errors(fake: Fake, job_result: str, error: type, cause: str) -> None:
    fake.job_result = job_result
    with pytest.raises(error) as caught:
        adapter(fake.provider_settings()).originate(make_call())
    assert type(caught.value) is error
    assert caught.value.cause == cause


def test_acl_refusal_is_permanent(fake: Fake) -> None:
    fake.reject_connection = True
    with pytest.raises(PermanentProviderError) as caught:
        adapter(fake.provider_settings()).originate(make_call())
    assert caught.value.cause == "access_denied"


def test_no_outcome_after_the_job_was_accepted_is_never_retried(fake: Fake) -> None:
    fake.send_job_event = False
    started = time.monotonic()
    with pytest.raises(PermanentProviderError) as caught:
        adapter(fake.provider_settings()).originate(make_call(timeout=1))
    assert caught.value.cause == "originate_unconfirmed"
    assert 1.4 <= time.monotonic() - started < 3


def test_connection_refused_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = {**BASE_SETTINGS, "host": "127.0.0.1", "port": port}
    with pytest.raises(RetryableProviderError) as caught:
        adapter(settings).originate(make_call())
    assert caught.value.cause == "connection_error"


# Call status -------------------------------------------------------------------------------

UNKNOWN_UUID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def answered_call(fake: Fake) -> tuple[FreeSwitchProvider, str]:
    """Place a call the agent answered; return the provider and the agent leg's uuid."""
    provider = adapter(fake.provider_settings())
    result = provider.originate(make_call())
    assert result.status == Status.AGENT_ANSWERED
    assert result.provider_call_id
    return provider, result.provider_call_id


def status_commands(fake: Fake, since: int) -> list[str]:
    return fake.commands()[since:]


def test_call_status_is_supported() -> None:
    assert FreeSwitchProvider.can(Capability.REPORTS_STATUS)
    assert adapter(BASE_SETTINGS).reports_call_status()


def test_a_channel_still_up_is_a_call_in_progress(fake: Fake) -> None:
    provider, channel = answered_call(fake)
    since = len(fake.received)

    state = provider.call_status(channel, f"{CALLBACK_ID}-1")

    assert state == CallState(placed=True, event=None)
    assert status_commands(fake, since) == [
        f"auth {PASSWORD}",
        f"api uuid_exists {channel}",
        "exit",
    ]
    assert fake.errors == []


def test_a_channel_hung_up_is_a_completed_call_without_outcome(fake: Fake) -> None:
    provider, channel = answered_call(fake)
    fake.hang_up(channel)
    since = len(fake.received)

    state = provider.call_status(channel, f"{CALLBACK_ID}-1")

    assert state == channels_gone(channel)
    assert state.event is not None
    assert state.event.provider_call_id == channel
    assert status_commands(fake, since) == [
        f"auth {PASSWORD}",
        f"api uuid_exists {channel}",
        "exit",
    ]
    assert fake.errors == []


def test_a_never_seen_channel_is_answered_like_a_hung_up_one(fake: Fake) -> None:
    # FreeSWITCH answers "false" for every uuid it does not hold, so a channel it never had
    # looks exactly like one that ended. That is sound: call_status is only asked about
    # uuids FreeSWITCH itself returned from originate, so "false" means that channel ended.
    provider, channel = answered_call(fake)
    fake.hang_up(channel)
    hung_up = provider.call_status(channel, f"{CALLBACK_ID}-1")

    never_seen = provider.call_status(UNKNOWN_UUID, f"{CALLBACK_ID}-1")

    assert never_seen == channels_gone(UNKNOWN_UUID)
    assert hung_up.event is not None
    assert never_seen == dataclasses.replace(
        hung_up, event=dataclasses.replace(hung_up.event, provider_call_id=UNKNOWN_UUID)
    )
    assert fake.commands()[-2] == f"api uuid_exists {UNKNOWN_UUID}"


def test_only_the_asked_channel_is_looked_at(fake: Fake) -> None:
    provider, first = answered_call(fake)
    _, second = answered_call(fake)
    fake.hang_up(first)

    assert provider.call_status(first, f"{CALLBACK_ID}-1") == channels_gone(first)
    assert provider.call_status(second, f"{CALLBACK_ID}-2") == CallState(placed=True)


def test_a_lost_originate_answer_cannot_be_looked_up(fake: Fake) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        adapter(fake.provider_settings()).call_status(None, f"{CALLBACK_ID}-1")
    assert type(caught.value) is PermanentProviderError
    assert caught.value.cause == "not_supported"
    assert fake.received == []


@pytest.mark.parametrize(
    "channel",
    [
        "",
        "not a uuid",
        "6b0f0b4e-3f7a-4a59-9d0e-1c2b3a4d5e6f\n\napi system id",
        "6b0f0b4e-3f7a-4a59-9d0e-1c2b3a4d5e6f exit",
        "../6b0f0b4e",
        "a" * 65,
        *INJECTIONS,
    ],
)
def test_an_implausible_channel_uuid_is_refused_before_contact(fake: Fake, channel: str) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        adapter(fake.provider_settings()).call_status(channel, f"{CALLBACK_ID}-1")
    assert caught.value.cause == "invalid_call_id"
    assert fake.received == []


@pytest.mark.parametrize(
    "body",
    ["-ERR no reply\n", "-USAGE: <uuid>\n", "maybe", "", "true false", "TRUE", "yes\n"],
)
def test_an_answer_other_than_true_or_false_is_malformed(fake: Fake, body: str) -> None:
    provider, channel = answered_call(fake)
    fake.api_body = body
    with pytest.raises(PermanentProviderError) as caught:
        provider.call_status(channel, f"{CALLBACK_ID}-1")
    assert caught.value.cause == "malformed_answer"


def test_answers_with_surrounding_whitespace_are_read(fake: Fake) -> None:
    provider, channel = answered_call(fake)
    fake.api_body = "true\n"
    assert provider.call_status(channel, f"{CALLBACK_ID}-1") == CallState(placed=True)
    fake.api_body = "false\n"
    assert provider.call_status(channel, f"{CALLBACK_ID}-1") == channels_gone(channel)


def test_a_refused_api_command_is_malformed(fake: Fake) -> None:
    provider, channel = answered_call(fake)
    fake.refuse_api = True
    with pytest.raises(PermanentProviderError) as caught:
        provider.call_status(channel, f"{CALLBACK_ID}-1")
    assert caught.value.cause == "malformed_answer"


def test_call_status_survives_tiny_reads(fake: Fake) -> None:
    provider, channel = answered_call(fake)
    fake.chunked = True
    assert provider.call_status(channel, f"{CALLBACK_ID}-1") == CallState(placed=True)


def test_call_status_with_a_wrong_password_is_an_auth_failure(
    fake: Fake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password = "not-the-password"
    settings = dict(fake.provider_settings(), password=password)
    with pytest.raises(PermanentProviderError) as caught:
        adapter(settings).call_status(UNKNOWN_UUID, f"{CALLBACK_ID}-1")
    assert caught.value.cause == "auth_failed"
    assert fake.commands() == [f"auth {password}"]  # nothing asked after the refusal
    assert password not in str(caught.value)
    assert password not in caplog.text


@pytest.mark.parametrize(
    ("mode", "error", "cause"),
    [
        ("bad_auth", PermanentProviderError, "auth_failed"),
        ("malformed", PermanentProviderError, "malformed_answer"),
        ("hang", RetryableProviderError, "timeout"),
        ("error_then_ok", RetryableProviderError, "connection_error"),
    ],
)
def test_call_status_contract_modes(fake: Fake, mode: str, error: type, cause: str) -> None:
    provider, channel = answered_call(fake)
    fake.mode = mode
    started = time.monotonic()
    with pytest.raises(error) as caught:
        provider.call_status(channel, f"{CALLBACK_ID}-1")
    assert type(caught.value) is error
    assert caught.value.cause == cause
    assert PASSWORD not in str(caught.value)
    assert time.monotonic() - started < 1.5
    if mode == "error_then_ok":
        assert provider.call_status(channel, f"{CALLBACK_ID}-1") == CallState(placed=True)


def test_call_status_acl_refusal_is_permanent(fake: Fake) -> None:
    fake.reject_connection = True
    with pytest.raises(PermanentProviderError) as caught:
        adapter(fake.provider_settings()).call_status(UNKNOWN_UUID, f"{CALLBACK_ID}-1")
    assert caught.value.cause == "access_denied"
    assert fake.received == []


def test_call_status_connection_refused_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = {**BASE_SETTINGS, "host": "127.0.0.1", "port": port}
    with pytest.raises(RetryableProviderError) as caught:
        adapter(settings).call_status(UNKNOWN_UUID, f"{CALLBACK_ID}-1")
    assert caught.value.cause == "connection_error"


# Injection ---------------------------------------------------------------------------------

AGENT_VARS = {
    "ignore_early_media",
    "originate_timeout",
    "origination_caller_id_number",
    "widget_callback_id",
    "widget_attempt",
}


def assert_one_clean_originate(fake: Fake) -> dict:
    assert fake.errors == []
    assert fake.commands()[0::3] == [f"auth {PASSWORD}", "exit"]
    parsed = originate_record(fake)["originate"]
    assert parsed["argc"] == 2
    assert parsed["agent_endpoint"] == "user/1001"
    assert parsed["app"] == "bridge"
    assert parsed["visitor_endpoint"] == "sofia/gateway/trunk/+27821234567"
    assert "$" not in originate_record(fake)["command"]
    return parsed


@pytest.mark.parametrize("payload", INJECTIONS)
@pytest.mark.parametrize(
    ("field", "variable"),
    [
        ("page_url", "widget_page_url"),
        ("event_url", "widget_event_url"),
        ("extra", "widget_extra_note"),
    ],
)
def test_free_text_reaches_freeswitch_only_percent_encoded(
    fake: Fake, field: str, variable: str, payload: str
) -> None:
    overrides = {"extra": {"note": payload}} if field == "extra" else {field: payload}
    adapter(fake.provider_settings()).originate(make_call(**overrides))
    parsed = assert_one_clean_originate(fake)
    assert set(parsed["agent_vars"]) == AGENT_VARS | {variable}
    assert re.fullmatch(r"[A-Za-z0-9%._~-]+", parsed["agent_vars"][variable])
    assert unquote(parsed["agent_vars"][variable]) == payload


@pytest.mark.parametrize("payload", INJECTIONS)
def test_callee_name_keeps_only_safe_characters(fake: Fake, payload: str) -> None:
    adapter(fake.provider_settings()).originate(make_call(callee_id_name=payload))
    parsed = assert_one_clean_originate(fake)
    assert set(parsed.get("visitor_vars", {})) <= {"origination_caller_id_name"}
    name = parsed.get("visitor_vars", {}).get("origination_caller_id_name", "")
    assert re.fullmatch(r"[\w.@+-]*(?: [\w.@+-]+)*", name)


@pytest.mark.parametrize("payload", INJECTIONS)
def test_extra_keys_become_plain_variable_names(fake: Fake, payload: str) -> None:
    adapter(fake.provider_settings()).originate(make_call(extra={payload: "v"}))
    parsed = assert_one_clean_originate(fake)
    [name] = set(parsed["agent_vars"]) - AGENT_VARS
    assert re.fullmatch(r"widget_extra_[a-z0-9_]{1,32}", name)


@pytest.mark.parametrize("payload", [*INJECTIONS, "1000 ", "1001:_:user/666"])
@pytest.mark.parametrize("field", ["agent", "caller_id_number", "callee_id_number", "callback_id"])
def test_unsafe_identifiers_are_refused_before_contact(
    fake: Fake, field: str, payload: str
) -> None:
    settings = fake.provider_settings()
    del settings["caller_id_number"]  # so the call's caller id number is used
    with pytest.raises(PermanentProviderError) as caught:
        adapter(settings).originate(make_call(**{field: payload}))
    assert caught.value.cause == "invalid_parameter"
    assert fake.received == []


@pytest.mark.parametrize(
    "visitor",
    [
        "+27821234567\nexit",
        "27821234567",
        "+2782123456a",
        "+27 82 123 4567",
        "+27821234567,user/666",
        "+27821234567)",
        "${destination_number}",
    ],
)
def test_visitor_comes_only_from_a_clean_e164_number(fake: Fake, visitor: str) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        adapter(fake.provider_settings()).originate(make_call(visitor_e164=visitor))
    assert caught.value.cause == "invalid_number"
    assert fake.received == []


def test_the_fake_reads_originate_like_freeswitch() -> None:
    parsed = parse_originate("{a=1,b='x y'}user/1 &bridge({c=2}sofia/gateway/gw/+1)")
    assert parsed == {
        "argc": 2,
        "agent_vars": {"a": "1", "b": "x y"},
        "agent_endpoint": "user/1",
        "app": "bridge",
        "app_data": "{c=2}sofia/gateway/gw/+1",
        "visitor_vars": {"c": "2"},
        "visitor_endpoint": "sofia/gateway/gw/+1",
    }
    # What an unescaped value would have done: a second variable and a third argument.
    assert parse_originate("{a=x,evil=1}user/1 park &bridge(x)")["argc"] == 3


# A real FreeSWITCH -------------------------------------------------------------------------

LIVE = ("HOST", "PASSWORD", "AGENT_ENDPOINT", "GATEWAY", "AGENT", "VISITOR")


@pytest.mark.live
def test_live_originate() -> None:
    names = {name: f"WIDGET_SERVER_LIVE_ESL_{name}" for name in LIVE}
    env = live_env(names, "live FreeSWITCH test")
    settings = {
        "host": env["HOST"],
        "password": env["PASSWORD"],
        "agent_endpoint": env["AGENT_ENDPOINT"],
        "gateway": env["GATEWAY"],
    }
    for name in ("PORT", "CALLER_ID_NUMBER", "VISITOR_FORMAT"):
        value = os.environ.get(f"WIDGET_SERVER_LIVE_ESL_{name}")
        if value:
            settings[name.lower()] = int(value) if name == "PORT" else value
    call = make_call(
        callback_id=f"live{int(time.time())}", agent=env["AGENT"], visitor_e164=env["VISITOR"]
    )
    # A real PBX, wherever the operator runs it.
    result = FreeSwitchProvider(settings, egress=ANYWHERE).originate(call)
    assert result.status in {Status.AGENT_ANSWERED, Status.NO_ANSWER, Status.BUSY}
