"""Asterisk over the Manager Interface (AMI): ring the agent's channel, then the visitor.

One short TCP session per attempt: banner, Login, Originate (Async) and the matching
OriginateResponse event, Logoff. The manager user needs `write = originate` and
`read = call` (OriginateResponse is a "call" event; Login asks for call events only).

call_status asks in a session of its own (Login with no events, CoreShowChannels, Logoff)
whether any channel of an answered call is still up; it needs `write = reporting` too.
Asterisk keeps no record over AMI of how a finished call went, so a call whose channels
are gone is only known to be over.
"""

from __future__ import annotations

import dataclasses
import re
import socket
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from ..core.reasons import Reason
from ..core.statuses import Status
from .base import (
    ACCEPT_KEY,
    CallRequest,
    CallState,
    Capability,
    OriginateResult,
    PermanentProviderError,
    ProviderConfigError,
    RetryableProviderError,
    channels_gone,
)
from .checks import unknown_settings, unsafe_text
from .pbx_text import (
    ENDPOINT_RE,
    HOST_RE,
    ID_RE,
    MAX_EXTRA,
    NUMBER_RE,
    SOCKET_SETTINGS,
    check_text,
    checked,
    encode_value,
    ring_timeout,
    socket_errors,
    socket_settings,
    visitor_number,
)
from .setting_fields import N_, SettingField, pbx_socket, timeouts
from .socket_base import Garbled, PBXConnection, SocketProvider, credentials_refused

DEFAULT_PORT = 5038
BANNER = "Asterisk Call Manager/"

AGENT_RE = re.compile(r"[A-Za-z0-9_.+*#@:=-]{1,80}")
CONTEXT_RE = re.compile(r"[A-Za-z0-9_.-]{1,79}")
# Templates are written by the site owner; checked with their placeholder removed.
DIAL_RE = re.compile(r"[A-Za-z0-9_./+*#@:=,()&^|-]+")
CALLER_ID_RE = re.compile(r'(?:"[^"\\<>]{1,64}" ?)?<\+?[0-9*#]{1,32}>|\+?[0-9*#]{1,32}')
# A channel's Uniqueid as Asterisk makes it ("1700000000.42"): digits joined by dots, after
# "<systemname>-" when asterisk.conf sets a systemname ("pbx1-1700000000.42"). The id is
# only compared, never sent, but one Asterisk cannot have made would match no channel and
# read as a call that ended.
UNIQUEID_RE = re.compile(r"(?=[A-Za-z0-9_.-]{3,255}\Z)(?:[A-Za-z0-9_-]{1,64}-)?[0-9]+(?:\.[0-9]+)+")

KNOWN_SETTINGS = SOCKET_SETTINGS | {
    "username",
    "secret",
    "agent_channel",
    "context",
    "dial",
    "caller_id",
    "whisper_context",
}

SETTING_FIELDS = (
    *pbx_socket(DEFAULT_PORT),
    SettingField(
        "username",
        N_("Manager user"),
        N_("Needs write = originate and read = call."),
        required=True,
    ),
    SettingField(
        "secret", N_("Manager secret"), N_("The manager user's secret."), secret=True, required=True
    ),
    SettingField(
        "agent_channel",
        N_("Agent channel"),
        N_("The channel rung first, with {agent} for the widget's extension, e.g. PJSIP/{agent}."),
        required=True,
    ),
    SettingField(
        "context",
        N_("Dialplan context"),
        N_("Where the visitor is dialled from; set this or a dial string, not both."),
        default="from-internal",
    ),
    SettingField(
        "dial",
        N_("Dial string"),
        N_("Instead of a context: a dial string with {visitor}, e.g. PJSIP/{visitor}@trunk."),
    ),
    SettingField("caller_id", N_("Caller id"), N_('A number, or "Name" <number>.')),
    SettingField(
        "whisper_context",
        N_("Whisper context"),
        N_("The dialplan context that plays the whisper, reads the accept key and runs AMD()."),
    ),
    *timeouts(),
)

# OriginateResponse "Reason" is the last control frame seen on the agent's channel.
# A human outcome ends the callback with that status; the rest are errors.
TERMINAL_REASONS = {"3": (Status.NO_ANSWER, "agent_no_answer"), "5": (Status.BUSY, "agent_busy")}
FAILED_REASONS = {"0": "agent_unreachable", "1": "agent_hangup", "8": "congestion"}
# Nobody picked up on congestion, so trying again cannot ring anyone twice.
RETRYABLE_CAUSES = frozenset({"congestion"})


def extra_name(key: str) -> str:
    """Turn an extra metadata key into a safe variable-name suffix."""
    return re.sub(r"[^A-Z0-9_]", "_", str(key).upper())[:32]


def frame(headers: list[tuple[str, str]]) -> bytes:
    """Serialise one AMI action; refuse any value that could end a header line."""
    lines = []
    for key, value in headers:
        if unsafe_text(key) or unsafe_text(value):
            raise PermanentProviderError(f"asterisk: unsafe {key} value", cause="invalid_parameter")
        lines.append(f"{key}: {value}\r\n")
    return ("".join(lines) + "\r\n").encode("utf-8")


class _Session(PBXConnection):
    """An AMI session whose actions share one ActionID, keeping early OriginateResponse events."""

    def __init__(self, sock: socket.socket, action_id: str, *, login: bytes, logoff: bytes):
        super().__init__(sock)
        self.action_id = action_id
        self.login = login
        self.logoff = logoff
        self.pending: list[dict[str, str]] = []

    def line(self, deadline: float) -> str:
        return super().line(deadline).rstrip("\r")  # AMI ends its lines with CRLF

    def wait(self, match: Callable[[dict[str, str]], bool], deadline: float) -> dict[str, str]:
        """Return the next block `match` accepts, keeping OriginateResponse events seen early."""
        for index, block in enumerate(self.pending):
            if match(block):
                return self.pending.pop(index)
        while True:
            block = self.header_block(deadline)
            if match(block):
                return block
            # With Async the event can race ahead of "Originate successfully queued".
            if block.get("Event") == "OriginateResponse" and len(self.pending) < 16:
                self.pending.append(block)

    def log_in(self, read_timeout: float) -> None:
        """Read the banner and send Login."""
        banner = self.line(time.monotonic() + read_timeout)
        if not banner.startswith(BANNER):
            raise Garbled(banner[:80])
        self.send(self.login)
        reply = self.wait(_response_to(f"{self.action_id}-login"), time.monotonic() + read_timeout)
        _check_login(reply)

    def say_goodbye(self, deadline: float) -> None:
        self.send(self.logoff)
        self.wait(lambda block: block.get("Response") == "Goodbye", deadline)


def _response_to(action_id: str) -> Callable[[dict[str, str]], bool]:
    def match(block: dict[str, str]) -> bool:
        return (
            "Event" not in block
            and "Response" in block
            and (block.get("ActionID", action_id) == action_id)
        )

    return match


def _originate_response(action_id: str) -> Callable[[dict[str, str]], bool]:
    def match(block: dict[str, str]) -> bool:
        return block.get("Event") == "OriginateResponse" and block.get("ActionID") == action_id

    return match


class AsteriskProvider(SocketProvider[_Session]):
    name = "asterisk"
    setting_fields = SETTING_FIELDS
    default_port = DEFAULT_PORT
    # Status by the agent channel's Uniqueid while its channels last. Whisper, accept key
    # and AMD() need the dialplan context docs/providers.md gives, named in the
    # `whisper_context` setting; without it calls go to `context` as before.
    capabilities = frozenset(
        {Capability.REPORTS_STATUS, Capability.WHISPER, Capability.ACCEPT_KEY, Capability.AMD}
    )
    capability_settings = {
        Capability.WHISPER: "whisper_context",
        Capability.ACCEPT_KEY: "whisper_context",
        Capability.AMD: "whisper_context",
    }
    default_port = DEFAULT_PORT
    protocol = "AMI"
    originate_step = "queued"

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        values = socket_settings(settings, DEFAULT_PORT)
        errors = unknown_settings(values, KNOWN_SETTINGS)
        if values.get("dial") is None:
            values.setdefault("context", "from-internal")
        elif values.get("context") is not None:
            errors["context"] = Reason("set either context or dial, not both")
        check_text(errors, values, "host", HOST_RE, Reason("must be a host name or IP address"))
        check_text(errors, values, "username", None, Reason("is required"))
        check_text(errors, values, "secret", None, Reason("is required"))
        check_text(
            errors,
            values,
            "agent_channel",
            ENDPOINT_RE,
            Reason('must be a channel with {agent}, e.g. "PJSIP/{agent}"'),
            placeholder="{agent}",
        )
        if values.get("dial") is not None:
            check_text(
                errors,
                values,
                "dial",
                DIAL_RE,
                Reason('must be a dial string with {visitor}, e.g. "PJSIP/{visitor}@trunk"'),
                placeholder="{visitor}",
            )
        else:
            check_text(
                errors, values, "context", CONTEXT_RE, Reason("must be a dialplan context name")
            )
        if values.get("caller_id") is not None:
            check_text(
                errors,
                values,
                "caller_id",
                CALLER_ID_RE,
                Reason('must be a number or "Name" <number>'),
            )
        if values.get("whisper_context") is not None:
            check_text(
                errors,
                values,
                "whisper_context",
                CONTEXT_RE,
                Reason("must be a dialplan context name"),
            )
        errors.update(socket_errors(values))
        if errors:
            raise ProviderConfigError(errors)
        return values

    def originate(self, call: CallRequest) -> OriginateResult:
        # Everything is built (and refused) before the PBX is contacted.
        action_id = checked(self.name, call.idempotency_key, ID_RE, "idempotency key")
        originate = frame(self.originate_headers(call))
        with self._session(action_id, events="call") as ami:
            ami.send(originate)
            reply = ami.wait(_response_to(action_id), self.deadline())
            _check_reply(reply, "originate", "originate_refused")
            ami.originate_taken = True
            # The event comes when the agent answers or rings out: allow the full ring.
            event = ami.wait(_originate_response(action_id), self.deadline() + call.timeout)
        return _picked_up(_result(event)) if self._whispered(call) else _result(event)

    def call_status(self, provider_call_id: str | None, idempotency_key: str) -> CallState:
        """Say whether a channel of the answered call is still up, from CoreShowChannels."""
        if provider_call_id is None:
            # The originate's answer was lost, so no channel is known: the channel list
            # cannot prove that no call was placed, and "not placed" would be a guess that
            # could ring someone twice.
            raise PermanentProviderError(
                f"{self.name}: a call without a channel id cannot be looked up",
                cause="not_supported",
            )
        if not isinstance(provider_call_id, str) or not UNIQUEID_RE.fullmatch(provider_call_id):
            raise PermanentProviderError(
                f"{self.name}: not a channel Uniqueid", cause="invalid_call_id"
            )
        key = checked(self.name, idempotency_key, ID_RE, "idempotency key")
        action_id = f"{key}-status"
        query = frame([("Action", "CoreShowChannels"), ("ActionID", action_id)])
        # No events: only this action's answer is wanted, and a busy PBX's call events
        # would only have to be skipped.
        with self._session(action_id, events="off") as ami:
            ami.send(query)
            deadline = self.deadline()
            _check_reply(ami.wait(_response_to(action_id), deadline), "status", "status_refused")
            up = _channel_listed(ami, action_id, provider_call_id, deadline)
        if up:
            return CallState(placed=True, event=None)
        # No channel of the call is left, and AMI keeps no record of how it went.
        return channels_gone(provider_call_id)

    def _session(self, action_id: str, *, events: str) -> AbstractContextManager[_Session]:
        """Return a session whose actions use `action_id`, asking for `events` at Login.

        Its Login and Logoff frames are built (and refused) before the PBX is contacted.
        """
        login = self.login_frame(action_id, events=events)
        logoff = frame([("Action", "Logoff"), ("ActionID", f"{action_id}-logoff")])
        return self.session(lambda sock: _Session(sock, action_id, login=login, logoff=logoff))

    def login_frame(self, action_id: str, *, events: str) -> bytes:
        """Return the Login action for a session whose actions use `action_id`."""
        return frame(
            [
                ("Action", "Login"),
                ("ActionID", f"{action_id}-login"),
                ("Username", self.settings["username"]),
                ("Secret", self.settings["secret"]),
                ("Events", events),
            ]
        )

    def originate_headers(self, call: CallRequest) -> list[tuple[str, str]]:
        """Return the Originate action's headers for one attempt."""
        settings = self.settings
        visitor = visitor_number(call.visitor_e164, settings["visitor_format"])
        agent = checked(self.name, call.agent, AGENT_RE, "agent")
        timeout = ring_timeout(self.name, call.timeout)
        headers = [
            ("Action", "Originate"),
            ("ActionID", checked(self.name, call.idempotency_key, ID_RE, "idempotency key")),
            ("Channel", settings["agent_channel"].replace("{agent}", agent)),
        ]
        if self._whispered(call) or self._detects_machines(call):
            # The agent hears the whisper and presses the key in this context (or, without
            # a whisper, goes straight on); it alone dials the visitor, with AMD() when
            # asked (docs/providers.md gives the dialplan).
            context = settings["whisper_context"]
            headers += [("Context", context), ("Exten", visitor), ("Priority", "1")]
        elif settings.get("dial") is not None:
            headers += [
                ("Application", "Dial"),
                ("Data", settings["dial"].replace("{visitor}", visitor)),
            ]
        else:
            headers += [("Context", settings["context"]), ("Exten", visitor), ("Priority", "1")]
        caller_id = settings.get("caller_id") or (
            call.caller_id_number
            and checked(self.name, call.caller_id_number, NUMBER_RE, "caller id")
        )
        if caller_id:
            headers.append(("CallerID", caller_id))
        headers += [("Timeout", str(timeout * 1000)), ("Async", "true")]
        headers += [("Variable", f"{name}={value}") for name, value in self.variables(call)]
        return headers

    def variables(self, call: CallRequest) -> list[tuple[str, str]]:
        """Return the channel variables; free text is percent-encoded, numbers are checked."""
        # Read percent-encoded free text in the dialplan with ${URIDECODE(${WIDGET_...})}.
        found = [
            ("WIDGET_CALLBACK_ID", checked(self.name, call.callback_id, ID_RE, "callback id")),
            ("WIDGET_ATTEMPT", str(int(call.attempt))),
            ("WIDGET_VISITOR", visitor_number(call.visitor_e164, "e164")),
        ]
        if call.callee_id_name:
            found.append(("WIDGET_CALLEE_ID_NAME", encode_value(str(call.callee_id_name))))
        if call.callee_id_number:
            number = checked(self.name, call.callee_id_number, NUMBER_RE, "callee id number")
            found.append(("WIDGET_CALLEE_ID_NUMBER", number))
        if call.page_url:
            found.append(("WIDGET_PAGE_URL", encode_value(str(call.page_url))))
        if call.event_url:
            found.append(("WIDGET_EVENT_URL", encode_value(str(call.event_url))))
        for key, value in list(call.extra.items())[:MAX_EXTRA]:
            suffix = extra_name(key)
            if suffix:
                found.append((f"WIDGET_EXTRA_{suffix}", encode_value(str(value))))
        if self._whispered(call):
            found += [
                ("WIDGET_WHISPER", encode_value(str(call.whisper))),
                ("WIDGET_ACCEPT_KEY", ACCEPT_KEY),
                (
                    "WIDGET_LANGUAGE",
                    call.speech_language if call.speech_language.isalpha() else "en",
                ),
            ]
        if self._detects_machines(call):
            found.append(("WIDGET_AMD", "1"))
            if call.machine_notice:
                found.append(("WIDGET_MACHINE_NOTICE", encode_value(call.machine_notice)))
        return found

    def _whispered(self, call: CallRequest) -> bool:
        return bool(call.whisper) and self.settings.get("whisper_context") is not None

    def _detects_machines(self, call: CallRequest) -> bool:
        # AMD() runs in the same context as the whisper, with or without a whisper.
        return bool(call.machine_detection) and self.settings.get("whisper_context") is not None


def _check_login(reply: Mapping[str, str]) -> None:
    if reply.get("Response") == "Success":
        return
    message = reply.get("Message", "")
    if "authentication" in message.lower():
        raise credentials_refused("asterisk", "login")
    raise PermanentProviderError(f"asterisk: login failed: {message[:100]}", cause="login_failed")


def _check_reply(reply: Mapping[str, str], what: str, refused: str) -> None:
    """Accept a Success reply; raise `refused` (or permission_denied) for an Error."""
    response = reply.get("Response")
    if response == "Success":
        return
    if response != "Error":
        raise Garbled(f"Response: {response}")
    message = reply.get("Message", "")
    cause = "permission_denied" if "permission" in message.lower() else refused
    raise PermanentProviderError(f"asterisk: {what} refused: {message[:100]}", cause=cause)


def _channel_listed(ami: _Session, action_id: str, call_id: str, deadline: float) -> bool:
    """Read CoreShowChannels' list to its end; say whether a channel of `call_id` is in it.

    The agent's channel has the call's Uniqueid; the visitor's, dialled from it, carries
    it as Linkedid and may outlive it.
    """
    listed = 0
    found = False
    while True:
        block = ami.header_block(deadline)
        if block.get("ActionID") != action_id:
            continue  # an event or another action's answer: not this list
        event = block.get("Event")
        if event == "CoreShowChannel":
            listed += 1
            found = found or call_id in (block.get("Uniqueid"), block.get("Linkedid"))
        elif event == "CoreShowChannelsComplete":
            # "Gone" is concluded from what is missing, so a list that lost an item is
            # no answer.
            if block.get("ListItems") != str(listed):
                raise Garbled(f"ListItems: {block.get('ListItems', '')[:20]}")
            return found
        else:
            raise Garbled(f"Event: {str(event)[:40]}")


def _picked_up(result: OriginateResult) -> OriginateResult:
    """A whispered agent channel that answered may be a voicemail: only the key, which the
    dialplan reports, says an agent took the call."""
    if result.status != Status.AGENT_ANSWERED:
        return result
    return dataclasses.replace(result, status=Status.AGENT_RINGING)


def _result(event: Mapping[str, str]) -> OriginateResult:
    response = event.get("Response")
    reason = event.get("Reason", "")
    uniqueid = event.get("Uniqueid") or None
    call_id = None if uniqueid == "<null>" else uniqueid
    details: dict[str, Any] = {"reason": reason, "channel": event.get("Channel")}
    if call_id is not None and len(call_id) > 255:
        response = None  # longer than any Uniqueid Asterisk makes: not a real answer
    if response == "Success":
        return OriginateResult(call_id, Status.AGENT_ANSWERED, details)
    if response != "Failure":
        raise PermanentProviderError(
            "asterisk: unreadable OriginateResponse", cause="malformed_answer"
        )
    if reason in TERMINAL_REASONS:
        status, cause = TERMINAL_REASONS[reason]
        return OriginateResult(call_id, status, details, cause=cause)
    cause = FAILED_REASONS.get(reason, "originate_failed")
    error = RetryableProviderError if cause in RETRYABLE_CAUSES else PermanentProviderError
    raise error(f"asterisk: originate failed (reason {reason[:8]})", cause=cause)
