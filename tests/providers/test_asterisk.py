"""The Asterisk (AMI) adapter against a strict fake manager interface."""

from __future__ import annotations

import os
import re
import socket
import socketserver
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import pytest

from tests.fakes.asterisk import SECRET, USERNAME, Fake, asterisk_variables
from tests.fakes.server import serve_tcp
from tests.providers.common import LOCAL, call_builder, channels_gone, live_env
from widget_server.core.egress import ANYWHERE
from widget_server.core.statuses import Status
from widget_server.providers.asterisk import AsteriskProvider, frame
from widget_server.providers.base import (
    CallState,
    Capability,
    OriginateResult,
    PermanentProviderError,
    ProviderConfigError,
    RetryableProviderError,
)

CALLBACK_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
KEY = f"{CALLBACK_ID}-1"
BASE_SETTINGS = {
    "host": "pbx.example.com",
    "username": "widget",
    "secret": "manager-secret",
    "agent_channel": "PJSIP/{agent}",
}
INJECTIONS = [
    "a&b",
    "a,WIDGET_EVIL=1",
    "a;b",
    "a}b{c",
    "a\r\nAction: Hangup\r\nChannel: PJSIP/1001",
    "x\nVariable: EVIL=1",
    "${SHELL(id)}",
    'quote"d (paren) [bracket] back\\slash|pipe',
]

make_call = call_builder(callback_id=CALLBACK_ID, agent="1001", visitor_e164="+27821234567")


def adapter(settings: Mapping[str, Any]) -> AsteriskProvider:
    """Build the adapter as the server does, with loopback (where the fake listens) allowed."""
    return AsteriskProvider(settings, egress=LOCAL)


def originate_action(fake: Fake) -> dict:
    [action] = fake.actions("Originate")
    return action


# What goes on the wire ---------------------------------------------------------------------


def test_originate_sends_exactly_login_originate_logoff(fake: Fake) -> None:
    call = make_call(
        caller_id_number="+27110000000",
        callee_id_name="Acme Support",
        callee_id_number="+27110000001",
        extra={"topic": "pricing"},
        page_url="https://shop.example/p?q=1",
        event_url="https://cb.example/e/t",
    )

    result = adapter(fake.provider_settings()).originate(call)

    assert result == OriginateResult(
        "1700000000.1", Status.AGENT_ANSWERED, {"reason": "4", "channel": "PJSIP/1001-0001"}
    )
    assert fake.received == [
        {
            "Action": "Login",
            "ActionID": f"{KEY}-login",
            "Username": USERNAME,
            "Secret": SECRET,
            "Events": "call",
        },
        {
            "Action": "Originate",
            "ActionID": KEY,
            "Channel": "PJSIP/1001",
            "Context": "from-internal",
            "Exten": "+27821234567",
            "Priority": "1",
            "CallerID": '"Website" <1000>',
            "Timeout": "20000",
            "Async": "true",
            "Variable": [
                f"WIDGET_CALLBACK_ID={CALLBACK_ID}",
                "WIDGET_ATTEMPT=1",
                "WIDGET_VISITOR=+27821234567",
                "WIDGET_CALLEE_ID_NAME=Acme%20Support",
                "WIDGET_CALLEE_ID_NUMBER=+27110000001",
                "WIDGET_PAGE_URL=https%3A%2F%2Fshop.example%2Fp%3Fq%3D1",
                "WIDGET_EVENT_URL=https%3A%2F%2Fcb.example%2Fe%2Ft",
                "WIDGET_EXTRA_TOPIC=pricing",
            ],
        },
        {"Action": "Logoff", "ActionID": f"{KEY}-logoff"},
    ]
    assert fake.errors == []


def test_dial_application_mode_and_call_caller_id(fake: Fake) -> None:
    settings = fake.provider_settings()
    del settings["context"], settings["caller_id"]
    settings.update(dial="PJSIP/{visitor}@trunk", visitor_format="digits")

    adapter(settings).originate(make_call(caller_id_number="+27110000000"))

    action = originate_action(fake)
    assert action["Application"] == "Dial"
    assert action["Data"] == "PJSIP/27821234567@trunk"
    assert action["CallerID"] == "+27110000000"
    assert not {"Context", "Exten", "Priority"} & set(action)


@pytest.mark.parametrize(
    ("visitor_format", "exten"),
    [
        ("e164", "+27821234567"),
        ("digits", "27821234567"),
        ("00", "0027821234567"),
    ],
)
def test_visitor_formats(fake: Fake, visitor_format: str, exten: str) -> None:
    settings = dict(fake.provider_settings(), visitor_format=visitor_format)
    adapter(settings).originate(make_call())
    assert originate_action(fake)["Exten"] == exten


def test_an_originate_response_racing_ahead_of_the_reply_is_kept(fake: Fake) -> None:
    fake.event_first = True
    result = adapter(fake.provider_settings()).originate(make_call())
    assert result.provider_call_id == "1700000000.1"


# Settings ----------------------------------------------------------------------------------


def test_settings_defaults() -> None:
    values = AsteriskProvider.validate_settings(BASE_SETTINGS)
    assert values == {
        **BASE_SETTINGS,
        "port": 5038,
        "context": "from-internal",
        "visitor_format": "e164",
        "connect_timeout": 5.0,
        "read_timeout": 10.0,
    }


@pytest.mark.parametrize(
    "changes",
    [
        {"caller_id": "1000"},
        {"caller_id": "<+27110000000>"},
        {"caller_id": '"Web callback, sales" <1000>'},
        {"agent_channel": "Local/{agent}@from-internal"},
        {"dial": "PJSIP/{visitor}@trunk,30,tT", "visitor_format": "00"},
        {"port": 15038, "read_timeout": 2.5, "connect_timeout": 1},
    ],
)
def test_good_settings(changes: dict) -> None:
    assert AsteriskProvider.validate_settings({**BASE_SETTINGS, **changes})


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"host": None}, "host"),
        ({"host": "pbx.example.com\r\nAction: Hangup"}, "host"),
        ({"host": "pbx example.com"}, "host"),
        ({"port": "5038"}, "port"),
        ({"port": 0}, "port"),
        ({"port": True}, "port"),
        ({"username": None}, "username"),
        ({"username": "widget\r\nAction: Command"}, "username"),
        ({"secret": ""}, "secret"),
        ({"secret": "pw\nAction: Command\nCommand: core stop now"}, "secret"),
        ({"agent_channel": "PJSIP/1001"}, "agent_channel"),
        ({"agent_channel": "PJSIP/{agent}\r\nAction: Hangup"}, "agent_channel"),
        ({"agent_channel": "PJSIP/{agent}&PJSIP/666"}, "agent_channel"),
        ({"agent_channel": "PJSIP/{agent}{visitor}"}, "agent_channel"),
        ({"agent_channel": "PJSIP/{agent.__class__}"}, "agent_channel"),
        ({"context": "from internal"}, "context"),
        ({"context": "ctx;Action: Hangup"}, "context"),
        ({"dial": "PJSIP/trunk"}, "dial"),
        ({"dial": "PJSIP/{visitor}@trunk", "context": "from-internal"}, "context"),
        ({"dial": "PJSIP/{visitor}@trunk\r\nAction: Hangup"}, "dial"),
        ({"dial": "PJSIP/{visitor} @trunk"}, "dial"),
        ({"dial": "PJSIP/{visitor}@${EVIL}"}, "dial"),
        ({"caller_id": '"Web" <1000>\r\nAction: Hangup'}, "caller_id"),
        ({"caller_id": '"Evil" <1000>, "x" <2>'}, "caller_id"),
        ({"caller_id": "Web\x00"}, "caller_id"),
        ({"visitor_format": "national"}, "visitor_format"),
        ({"read_timeout": 0}, "read_timeout"),
        ({"read_timeout": "5"}, "read_timeout"),
        ({"connect_timeout": 500}, "connect_timeout"),
        ({"use_tls": True}, "use_tls"),
    ],
)
def test_bad_settings(changes: dict, field: str) -> None:
    settings = {**BASE_SETTINGS, **changes}
    settings = {k: v for k, v in settings.items() if v is not None}
    with pytest.raises(ProviderConfigError) as caught:
        AsteriskProvider.validate_settings(settings)
    assert field in caught.value.fields


# Outcomes and errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "status", "cause"),
    [
        (4, Status.AGENT_ANSWERED, None),
        (3, Status.NO_ANSWER, "agent_no_answer"),
        (5, Status.BUSY, "agent_busy"),
    ],
)
def test_reasons_that_end_with_a_status(
    fake: Fake, reason: int, status: str, cause: str | None
) -> None:
    fake.reason = reason
    result = adapter(fake.provider_settings()).originate(make_call())
    assert result.status == status
    assert result.provider_call_id == "1700000000.1"
    assert result.cause == cause


@pytest.mark.parametrize(
    ("reason", "error", "cause"),
    [
        (0, PermanentProviderError, "agent_unreachable"),
        (1, PermanentProviderError, "agent_hangup"),
        (8, RetryableProviderError, "congestion"),
        (2, PermanentProviderError, "originate_failed"),
    ],
)
def test_reasons_that_are_errors(fake: Fake, reason: int, error: type, cause: str) -> None:
    fake.reason = reason
    with pytest.raises(error) as caught:
        adapter(fake.provider_settings()).originate(make_call())
    assert type(caught.value) is error
    assert caught.value.cause == cause


@pytest.mark.parametrize(
    ("message", "cause"),
    [
        ("Permission denied", "permission_denied"),
        ("Extension does not exist.", "originate_refused"),
    ],
)
def test_refused_originate(fake: Fake, message: str, cause: str) -> None:
    fake.refuse_originate = message
    with pytest.raises(PermanentProviderError) as caught:
        adapter(fake.provider_settings()).originate(make_call())
    assert caught.value.cause == cause


def test_no_outcome_after_queueing_is_never_retried(fake: Fake) -> None:
    fake.send_originate_response = False
    started = time.monotonic()
    with pytest.raises(PermanentProviderError) as caught:
        adapter(fake.provider_settings()).originate(make_call(timeout=1))
    assert caught.value.cause == "originate_unconfirmed"
    # It waited for the agent's whole ring (1 s) plus the read timeout, not just the latter.
    assert 1.4 <= time.monotonic() - started < 3


def test_connection_refused_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = {**BASE_SETTINGS, "host": "127.0.0.1", "port": port}
    with pytest.raises(RetryableProviderError) as caught:
        adapter(settings).originate(make_call())
    assert caught.value.cause == "connection_error"


def test_a_server_that_is_not_asterisk_is_malformed() -> None:
    class NotAsterisk(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    with serve_tcp(NotAsterisk) as (host, port):
        settings = {**BASE_SETTINGS, "host": host, "port": port, "read_timeout": 0.5}
        with pytest.raises(PermanentProviderError) as caught:
            adapter(settings).originate(make_call())
    assert caught.value.cause == "malformed_answer"


# Injection ---------------------------------------------------------------------------------

EXPECTED_HEADERS = {
    "Action",
    "ActionID",
    "Channel",
    "Context",
    "Exten",
    "Priority",
    "CallerID",
    "Timeout",
    "Async",
    "Variable",
}


@pytest.mark.parametrize("payload", INJECTIONS)
@pytest.mark.parametrize("field", ["callee_id_name", "page_url", "event_url", "extra_value"])
def test_free_text_reaches_asterisk_only_as_encoded_values(
    fake: Fake, field: str, payload: str
) -> None:
    target = {
        "callee_id_name": "WIDGET_CALLEE_ID_NAME",
        "page_url": "WIDGET_PAGE_URL",
        "event_url": "WIDGET_EVENT_URL",
        "extra_value": "WIDGET_EXTRA_NOTE",
    }[field]
    overrides = {"extra": {"note": payload}} if field == "extra_value" else {field: payload}

    adapter(fake.provider_settings()).originate(make_call(**overrides))

    assert fake.errors == []
    assert [a["Action"] for a in fake.received] == ["Login", "Originate", "Logoff"]
    action = originate_action(fake)
    assert set(action) == EXPECTED_HEADERS
    variables = asterisk_variables(action)
    assert set(variables) == {"WIDGET_CALLBACK_ID", "WIDGET_ATTEMPT", "WIDGET_VISITOR", target}
    assert re.fullmatch(r"[A-Za-z0-9%._~-]+", variables[target])
    assert unquote(variables[target]) == payload


@pytest.mark.parametrize("payload", INJECTIONS)
def test_extra_keys_become_plain_variable_names(fake: Fake, payload: str) -> None:
    adapter(fake.provider_settings()).originate(make_call(extra={payload: "v"}))
    names = set(asterisk_variables(originate_action(fake))) - {
        "WIDGET_CALLBACK_ID",
        "WIDGET_ATTEMPT",
        "WIDGET_VISITOR",
    }
    [name] = names
    assert re.fullmatch(r"WIDGET_EXTRA_[A-Z0-9_]{1,32}", name)
    assert fake.errors == []


@pytest.mark.parametrize("payload", [*INJECTIONS, "1000 ", "+27 11", "1000\r\n"])
@pytest.mark.parametrize("field", ["agent", "caller_id_number", "callee_id_number", "callback_id"])
def test_unsafe_identifiers_are_refused_before_contact(
    fake: Fake, field: str, payload: str
) -> None:
    settings = fake.provider_settings()
    del settings["caller_id"]  # so the call's caller id number is used
    with pytest.raises(PermanentProviderError) as caught:
        adapter(settings).originate(make_call(**{field: payload}))
    assert caught.value.cause == "invalid_parameter"
    assert fake.received == []


@pytest.mark.parametrize(
    "visitor",
    [
        "+27821234567\r\nAction: Hangup",
        "27821234567",
        "+2782123456a",
        "+27 82 123 4567",
        "+27821234567,1",
        "+27821234567&PJSIP/666",
        "${EXTEN}",
    ],
)
def test_visitor_comes_only_from_a_clean_e164_number(fake: Fake, visitor: str) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        adapter(fake.provider_settings()).originate(make_call(visitor_e164=visitor))
    assert caught.value.cause == "invalid_number"
    assert fake.received == []


@pytest.mark.parametrize("value", ["x\r\nAction: Hangup", "x\ny", "x\ry", "x\x00", "x\u2028y"])
def test_frame_refuses_line_breaks_in_any_header(value: str) -> None:
    with pytest.raises(PermanentProviderError):
        frame([("CallerID", value)])


def test_frame_ends_every_line_with_crlf() -> None:
    assert frame([("Action", "Ping"), ("ActionID", "1")]) == b"Action: Ping\r\nActionID: 1\r\n\r\n"


# Call status -------------------------------------------------------------------------------

STATUS_ACTIONS = [
    {
        "Action": "Login",
        "ActionID": f"{KEY}-status-login",
        "Username": USERNAME,
        "Secret": SECRET,
        "Events": "off",
    },
    {"Action": "CoreShowChannels", "ActionID": f"{KEY}-status"},
    {"Action": "Logoff", "ActionID": f"{KEY}-status-logoff"},
]


def placed_call(fake: Fake) -> str:
    """Originate a call the agent answers; return its Uniqueid with the traffic forgotten."""
    result = adapter(fake.provider_settings()).originate(make_call())
    assert result.status == Status.AGENT_ANSWERED and result.provider_call_id
    fake.received.clear()
    return result.provider_call_id


def test_asterisk_reports_call_status() -> None:
    assert AsteriskProvider.can(Capability.REPORTS_STATUS)
    assert adapter(BASE_SETTINGS).reports_call_status()


def test_a_call_whose_channels_are_up_is_still_going(fake: Fake) -> None:
    call_id = placed_call(fake)
    assert [c["Linkedid"] for c in fake.channels] == [call_id, call_id]

    state = adapter(fake.provider_settings()).call_status(call_id, KEY)

    assert state == CallState(placed=True, event=None)
    assert fake.received == STATUS_ACTIONS
    assert fake.errors == []


def test_the_visitors_channel_alone_keeps_the_call_going(fake: Fake) -> None:
    call_id = placed_call(fake)
    fake.hang_up(call_id, agent_only=True)
    [visitor] = fake.channels
    assert visitor["Uniqueid"] != call_id and visitor["Linkedid"] == call_id

    state = adapter(fake.provider_settings()).call_status(call_id, KEY)

    assert state == CallState(placed=True, event=None)


def test_the_agents_channel_alone_keeps_the_call_going(fake: Fake) -> None:
    fake.visitor_leg = False
    call_id = placed_call(fake)
    assert adapter(fake.provider_settings()).call_status(call_id, KEY).event is None


def test_a_call_whose_channels_are_gone_is_completed_unreported(fake: Fake) -> None:
    call_id = placed_call(fake)
    fake.add_channel("1700000100.7")
    fake.hang_up(call_id)

    state = adapter(fake.provider_settings()).call_status(call_id, KEY)

    assert state == channels_gone(call_id)
    assert fake.received == STATUS_ACTIONS
    assert fake.errors == []


def test_an_empty_channel_list_means_the_call_is_over(fake: Fake) -> None:
    call_id = placed_call(fake)
    fake.hang_up(call_id)
    assert fake.channels == []
    assert adapter(fake.provider_settings()).call_status(call_id, KEY) == channels_gone(call_id)


def test_only_the_calls_own_channels_count(fake: Fake) -> None:
    first = placed_call(fake)
    second = adapter(fake.provider_settings()).originate(make_call(attempt=2))
    fake.add_channel("1700000100.7")
    fake.add_channel("1700000101.8", linkedid="1700000100.7")
    # Ids that merely start like the call's, or hold it, are other calls.
    fake.add_channel(f"{first}0", linkedid=f"{first}0")
    fake.add_channel(f"9{first}", linkedid=f"{first}.1")
    fake.hang_up(first)
    provider = adapter(fake.provider_settings())

    assert provider.call_status(first, KEY) == channels_gone(first)
    assert provider.call_status(second.provider_call_id, f"{CALLBACK_ID}-2").event is None


def test_other_traffic_amid_the_list_is_skipped(fake: Fake) -> None:
    call_id = placed_call(fake)
    fake.add_channel("1700000100.7")
    fake.hang_up(call_id)
    # Another action's list names the call's Uniqueid: it is not this answer.
    fake.stray_blocks = True
    assert adapter(fake.provider_settings()).call_status(call_id, KEY) == channels_gone(call_id)


def test_no_call_id_is_not_supported_and_sends_nothing(fake: Fake) -> None:
    placed_call(fake)
    with pytest.raises(PermanentProviderError) as caught:
        adapter(fake.provider_settings()).call_status(None, KEY)
    assert caught.value.cause == "not_supported"
    assert fake.received == []
    assert fake.actions("CoreShowChannels") == []


@pytest.mark.parametrize(
    "call_id",
    [
        "",
        "1700000000",
        "1700000000.",
        ".42",
        "1700000000..42",
        "pbx1 1700000000.42",
        "-1700000000.42",
        "1700000000.42\r\nAction: Hangup",
        "1700000000.42\n",
        "CA0123456789abcdef0123456789abcdef",
        "1" * 253 + ".42",  # 256 characters
    ],
)
def test_an_implausible_call_id_is_refused_before_contact(fake: Fake, call_id: str) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        adapter(fake.provider_settings()).call_status(call_id, KEY)
    assert caught.value.cause == "invalid_call_id"
    assert fake.received == []


def test_a_uniqueid_with_the_systemname_prefix_is_asked(fake: Fake) -> None:
    call_id = "pbx1-1700000000.42"  # asterisk.conf: systemname = pbx1
    fake.add_channel(call_id)
    assert adapter(fake.provider_settings()).call_status(call_id, KEY).event is None


def test_a_long_uniqueid_within_bounds_is_asked(fake: Fake) -> None:
    call_id = "1" * 252 + ".42"  # 255 characters
    fake.add_channel(call_id)
    assert adapter(fake.provider_settings()).call_status(call_id, KEY).event is None


@pytest.mark.parametrize(
    ("message", "cause"),
    [
        ("Permission denied", "permission_denied"),
        ("Invalid/unknown command", "status_refused"),
    ],
)
def test_a_refused_status_query(fake: Fake, message: str, cause: str) -> None:
    call_id = placed_call(fake)
    fake.refuse_status = message
    with pytest.raises(PermanentProviderError) as caught:
        adapter(fake.provider_settings()).call_status(call_id, KEY)
    assert type(caught.value) is PermanentProviderError
    assert caught.value.cause == cause


def test_a_list_that_lost_an_item_is_malformed(fake: Fake) -> None:
    call_id = placed_call(fake)
    fake.hang_up(call_id)
    fake.add_channel("1700000100.7")
    fake.miscount = 1
    with pytest.raises(PermanentProviderError) as caught:
        adapter(fake.provider_settings()).call_status(call_id, KEY)
    assert caught.value.cause == "malformed_answer"


@pytest.mark.parametrize(
    ("mode", "error", "cause"),
    [
        ("bad_auth", PermanentProviderError, "auth_failed"),
        ("malformed", PermanentProviderError, "malformed_answer"),
        ("hang", RetryableProviderError, "timeout"),
        ("error_then_ok", RetryableProviderError, "connection_error"),
    ],
)
def test_status_contract_modes(fake: Fake, mode: str, error: type, cause: str) -> None:
    call_id = placed_call(fake)
    fake.mode = mode
    provider = adapter(fake.provider_settings())
    started = time.monotonic()
    with pytest.raises(error) as caught:
        provider.call_status(call_id, KEY)
    assert type(caught.value) is error
    assert caught.value.cause == cause
    assert SECRET not in str(caught.value)
    assert time.monotonic() - started < 1.5
    if mode == "bad_auth":
        assert fake.actions("CoreShowChannels") == []
    if mode == "error_then_ok":
        assert provider.call_status(call_id, KEY).event is None


def test_status_query_with_the_server_down_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = {**BASE_SETTINGS, "host": "127.0.0.1", "port": port}
    with pytest.raises(RetryableProviderError) as caught:
        adapter(settings).call_status("1700000000.1", KEY)
    assert caught.value.cause == "connection_error"


def test_the_fake_lists_channels_only_after_login(fake: Fake) -> None:
    with socket.create_connection(fake.address, timeout=2) as sock:
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"Asterisk Call Manager/")
        sock.sendall(frame([("Action", "CoreShowChannels"), ("ActionID", "x")]))
        answer = [reader.readline() for _ in range(4)]
    assert answer == [
        b"Response: Error\r\n",
        b"ActionID: x\r\n",
        b"Message: Authentication Required\r\n",
        b"\r\n",
    ]
    assert fake.errors == ["coreshowchannels before login"]


# A real Asterisk ---------------------------------------------------------------------------

LIVE = ("HOST", "USERNAME", "SECRET", "AGENT_CHANNEL", "AGENT", "VISITOR")


@pytest.mark.live
def test_live_originate() -> None:
    names = {name: f"WIDGET_SERVER_LIVE_AMI_{name}" for name in LIVE}
    env = live_env(names, "live Asterisk test")
    settings = {
        "host": env["HOST"],
        "username": env["USERNAME"],
        "secret": env["SECRET"],
        "agent_channel": env["AGENT_CHANNEL"],
    }
    for name in ("PORT", "CONTEXT", "DIAL", "CALLER_ID", "VISITOR_FORMAT"):
        value = os.environ.get(f"WIDGET_SERVER_LIVE_AMI_{name}")
        if value:
            settings[name.lower()] = int(value) if name == "PORT" else value
    call = make_call(
        callback_id=f"live{int(time.time())}", agent=env["AGENT"], visitor_e164=env["VISITOR"]
    )
    # A real PBX, wherever the operator runs it.
    result = AsteriskProvider(settings, egress=ANYWHERE).originate(call)
    assert result.status in {Status.AGENT_ANSWERED, Status.NO_ANSWER, Status.BUSY}
