"""Asterisk over the Manager Interface (AMI): ring the agent's channel, then the visitor.

One short TCP session per attempt: banner, Login, Originate (Async) and the matching
OriginateResponse event, Logoff. The manager user needs `write = originate` and
`read = call` (OriginateResponse is a "call" event; Login asks for call events only).
"""

from __future__ import annotations

import re
import socket
import time
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from ..statuses import Status
from .base import (
    CallRequest,
    OriginateResult,
    PermanentProviderError,
    Provider,
    ProviderConfigError,
    RetryableProviderError,
)

DEFAULT_PORT = 5038
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
BANNER = "Asterisk Call Manager/"
VISITOR_FORMATS = ("e164", "digits", "00")
# Asterisk drops manager lines over 1024 bytes; encoded values stay well below that.
# Free text reaches the dialplan percent-encoded: read it with ${URIDECODE(${WIDGET_...})}.
MAX_VALUE = 400
MAX_EXTRA = 20
MAX_LINE = 8192
MAX_HEADERS = 256

E164_RE = re.compile(r"\+[1-9][0-9]{6,14}")
NUMBER_RE = re.compile(r"\+?[0-9*#]{1,32}")
ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,100}")
AGENT_RE = re.compile(r"[A-Za-z0-9_.+*#@:=-]{1,80}")
HOST_RE = re.compile(r"[A-Za-z0-9.:\[\]-]{1,253}")
CONTEXT_RE = re.compile(r"[A-Za-z0-9_.-]{1,79}")
# Templates are written by the site owner; checked with their placeholder removed.
CHANNEL_RE = re.compile(r"[A-Za-z0-9_.+*#@:=-]+/[A-Za-z0-9_./+*#@:=-]*")
DIAL_RE = re.compile(r"[A-Za-z0-9_./+*#@:=,()&^|-]+")
CALLER_ID_RE = re.compile(r'(?:"[^"\\<>]{1,64}" ?)?<\+?[0-9*#]{1,32}>|\+?[0-9*#]{1,32}')

KNOWN_SETTINGS = frozenset(
    {
        "host",
        "port",
        "username",
        "secret",
        "agent_channel",
        "context",
        "dial",
        "caller_id",
        "visitor_format",
        "connect_timeout",
        "read_timeout",
    }
)

# OriginateResponse "Reason" is the last control frame seen on the agent's channel.
# A human outcome ends the callback with that status; the rest are errors.
TERMINAL_REASONS = {"3": (Status.NO_ANSWER, "agent_no_answer"), "5": (Status.BUSY, "agent_busy")}
FAILED_REASONS = {"0": "agent_unreachable", "1": "agent_hangup", "8": "congestion"}
# Nobody picked up on congestion, so trying again cannot ring anyone twice.
RETRYABLE_CAUSES = frozenset({"congestion"})


class _Closed(Exception):
    """The PBX closed the connection."""


class _Garbled(Exception):
    """The PBX sent something that is not AMI."""


def unsafe_text(value: str) -> bool:
    """Say whether `value` holds control, format or line-separator characters."""
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value)


def encode_value(value: str, limit: int = MAX_VALUE) -> str:
    """Percent-encode free text so no separator of a PBX's parsers survives it."""
    out: list[str] = []
    size = 0
    for ch in value:
        piece = quote(ch, safe="")
        if size + len(piece) > limit:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


def visitor_number(e164: str, visitor_format: str) -> str:
    """Format the visitor's E.164 number the way the PBX dials it."""
    if not isinstance(e164, str) or not E164_RE.fullmatch(e164):
        raise PermanentProviderError("visitor number is not E.164", cause="invalid_number")
    digits = e164[1:]
    return {"e164": e164, "digits": digits, "00": "00" + digits}[visitor_format]


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


class _Connection:
    """Read CRLF lines and blank-line-terminated blocks against a deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.pending: list[dict[str, str]] = []

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self, deadline: float) -> str:
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                raw = bytes(self.buffer[:end]).rstrip(b"\r")
                del self.buffer[: end + 1]
                return raw.decode("utf-8", "replace")
            if len(self.buffer) > MAX_LINE:
                raise _Garbled("line too long")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(4096)
            if not chunk:
                raise _Closed
            self.buffer += chunk

    def block(self, deadline: float) -> dict[str, str]:
        headers: dict[str, str] = {}
        while True:
            line = self.line(deadline)
            if not line:
                if headers:
                    return headers
                continue
            key, sep, value = line.partition(":")
            if not sep or not key.strip() or len(headers) >= MAX_HEADERS:
                raise _Garbled(line[:80])
            headers[key.strip()] = value.strip()

    def wait(self, match: Callable[[dict[str, str]], bool], deadline: float) -> dict[str, str]:
        """Return the next block `match` accepts, keeping OriginateResponse events seen early."""
        for index, block in enumerate(self.pending):
            if match(block):
                return self.pending.pop(index)
        while True:
            block = self.block(deadline)
            if match(block):
                return block
            # With Async the event can race ahead of "Originate successfully queued".
            if block.get("Event") == "OriginateResponse" and len(self.pending) < 16:
                self.pending.append(block)


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


class AsteriskProvider(Provider):
    name = "asterisk"

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {
            "port": DEFAULT_PORT,
            "visitor_format": "e164",
            "connect_timeout": CONNECT_TIMEOUT,
            "read_timeout": READ_TIMEOUT,
        }
        values.update(settings)
        errors: dict[str, str] = {}
        for key in sorted(set(values) - KNOWN_SETTINGS):
            errors[key] = "unknown setting"
        if values.get("dial") is None:
            values.setdefault("context", "from-internal")
        elif values.get("context") is not None:
            errors["context"] = "set either context or dial, not both"
        _check_text(errors, values, "host", HOST_RE, "must be a host name or IP address")
        _check_text(errors, values, "username", None, "is required")
        _check_text(errors, values, "secret", None, "is required")
        _check_template(
            errors,
            values,
            "agent_channel",
            "{agent}",
            CHANNEL_RE,
            'must be a channel with {agent}, e.g. "PJSIP/{agent}"',
        )
        if values.get("dial") is not None:
            _check_template(
                errors,
                values,
                "dial",
                "{visitor}",
                DIAL_RE,
                'must be a dial string with {visitor}, e.g. "PJSIP/{visitor}@trunk"',
            )
        else:
            _check_text(errors, values, "context", CONTEXT_RE, "must be a dialplan context name")
        if values.get("caller_id") is not None:
            _check_text(
                errors, values, "caller_id", CALLER_ID_RE, 'must be a number or "Name" <number>'
            )
        port = values["port"]
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            errors["port"] = "must be a TCP port number"
        if values["visitor_format"] not in VISITOR_FORMATS:
            errors["visitor_format"] = "must be one of " + ", ".join(VISITOR_FORMATS)
        for key in ("connect_timeout", "read_timeout"):
            value = values[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0 < value <= 120
            ):
                errors[key] = "must be a number of seconds above 0, at most 120"
        if errors:
            raise ProviderConfigError(errors)
        return values

    def originate(self, call: CallRequest) -> OriginateResult:
        # Everything is built (and refused) before the PBX is contacted.
        action_id = _checked(call.idempotency_key, ID_RE, "idempotency key")
        login = frame(
            [
                ("Action", "Login"),
                ("ActionID", f"{action_id}-login"),
                ("Username", self.settings["username"]),
                ("Secret", self.settings["secret"]),
                ("Events", "call"),
            ]
        )
        originate = frame(self.originate_headers(call))
        logoff = frame([("Action", "Logoff"), ("ActionID", f"{action_id}-logoff")])
        read_timeout = float(self.settings["read_timeout"])
        queued = False
        try:
            with socket.create_connection(
                (self.settings["host"], self.settings["port"]),
                timeout=float(self.settings["connect_timeout"]),
            ) as sock:
                ami = _Connection(sock)
                banner = ami.line(time.monotonic() + read_timeout)
                if not banner.startswith(BANNER):
                    raise _Garbled(banner[:80])
                ami.send(login)
                reply = ami.wait(
                    _response_to(f"{action_id}-login"), time.monotonic() + read_timeout
                )
                _check_login(reply)
                ami.send(originate)
                reply = ami.wait(_response_to(action_id), time.monotonic() + read_timeout)
                _check_queued(reply)
                queued = True
                # The event comes when the agent answers or rings out: allow the full ring.
                event = ami.wait(
                    _originate_response(action_id), time.monotonic() + call.timeout + read_timeout
                )
                _logoff(ami, logoff, min(read_timeout, 2.0))
        except _Garbled:
            raise PermanentProviderError(
                "asterisk: answer is not AMI", cause="malformed_answer"
            ) from None
        except TimeoutError:
            raise _lost(queued, "timed out", "timeout") from None
        except (_Closed, OSError):
            raise _lost(queued, "connection lost", "connection_error") from None
        return _result(event)

    def originate_headers(self, call: CallRequest) -> list[tuple[str, str]]:
        """Return the Originate action's headers for one attempt."""
        settings = self.settings
        visitor = visitor_number(call.visitor_e164, settings["visitor_format"])
        agent = _checked(call.agent, AGENT_RE, "agent")
        timeout = call.timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int) or not 0 < timeout <= 600:
            raise PermanentProviderError("asterisk: bad ring timeout", cause="invalid_parameter")
        headers = [
            ("Action", "Originate"),
            ("ActionID", _checked(call.idempotency_key, ID_RE, "idempotency key")),
            ("Channel", settings["agent_channel"].replace("{agent}", agent)),
        ]
        if settings.get("dial") is not None:
            headers += [
                ("Application", "Dial"),
                ("Data", settings["dial"].replace("{visitor}", visitor)),
            ]
        else:
            headers += [("Context", settings["context"]), ("Exten", visitor), ("Priority", "1")]
        caller_id = settings.get("caller_id") or (
            call.caller_id_number and _checked(call.caller_id_number, NUMBER_RE, "caller id")
        )
        if caller_id:
            headers.append(("CallerID", caller_id))
        headers += [("Timeout", str(timeout * 1000)), ("Async", "true")]
        headers += [("Variable", f"{name}={value}") for name, value in self.variables(call)]
        return headers

    def variables(self, call: CallRequest) -> list[tuple[str, str]]:
        """Return the channel variables; free text is percent-encoded, numbers are checked."""
        found = [
            ("WIDGET_CALLBACK_ID", _checked(call.callback_id, ID_RE, "callback id")),
            ("WIDGET_ATTEMPT", str(int(call.attempt))),
            ("WIDGET_VISITOR", visitor_number(call.visitor_e164, "e164")),
        ]
        if call.callee_id_name:
            found.append(("WIDGET_CALLEE_ID_NAME", encode_value(str(call.callee_id_name))))
        if call.callee_id_number:
            number = _checked(call.callee_id_number, NUMBER_RE, "callee id number")
            found.append(("WIDGET_CALLEE_ID_NUMBER", number))
        if call.page_url:
            found.append(("WIDGET_PAGE_URL", encode_value(str(call.page_url))))
        if call.event_url:
            found.append(("WIDGET_EVENT_URL", encode_value(str(call.event_url))))
        for key, value in list(call.extra.items())[:MAX_EXTRA]:
            suffix = extra_name(key)
            if suffix:
                found.append((f"WIDGET_EXTRA_{suffix}", encode_value(str(value))))
        return found


def _check_text(
    errors: dict[str, str],
    values: Mapping[str, Any],
    key: str,
    pattern: re.Pattern[str] | None,
    message: str,
) -> None:
    value = values.get(key)
    if not isinstance(value, str) or not value or len(value) > 255:
        errors[key] = message
    elif unsafe_text(value):
        errors[key] = "must not contain control characters or line breaks"
    elif pattern is not None and not pattern.fullmatch(value):
        errors[key] = message


def _check_template(
    errors: dict[str, str],
    values: Mapping[str, Any],
    key: str,
    placeholder: str,
    pattern: re.Pattern[str],
    message: str,
) -> None:
    value = values.get(key)
    if not isinstance(value, str) or placeholder not in value or len(value) > 255:
        errors[key] = message
    elif unsafe_text(value):
        errors[key] = "must not contain control characters or line breaks"
    elif not pattern.fullmatch(value.replace(placeholder, "0")):
        errors[key] = message


def _checked(value: object, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise PermanentProviderError(f"asterisk: unusable {what}", cause="invalid_parameter")
    return value


def _check_login(reply: Mapping[str, str]) -> None:
    if reply.get("Response") == "Success":
        return
    message = reply.get("Message", "")
    if "authentication" in message.lower():
        raise PermanentProviderError("asterisk: login refused", cause="auth_failed")
    raise PermanentProviderError(f"asterisk: login failed: {message[:100]}", cause="login_failed")


def _check_queued(reply: Mapping[str, str]) -> None:
    response = reply.get("Response")
    if response == "Success":
        return
    if response != "Error":
        raise _Garbled(f"Response: {response}")
    message = reply.get("Message", "")
    cause = "permission_denied" if "permission" in message.lower() else "originate_refused"
    raise PermanentProviderError(f"asterisk: originate refused: {message[:100]}", cause=cause)


def _logoff(ami: _Connection, logoff: bytes, wait: float) -> None:
    # Courtesy only: the outcome is already known, so a failing Logoff changes nothing.
    try:
        ami.send(logoff)
        ami.wait(lambda block: block.get("Response") == "Goodbye", time.monotonic() + wait)
    except (OSError, _Closed, _Garbled):
        pass


def _lost(queued: bool, what: str, cause: str) -> Exception:
    if queued:
        # Asterisk accepted the originate: the agent may be ringing, so retrying could ring
        # them twice.
        return PermanentProviderError(
            f"asterisk: {what} after the originate was queued", cause="originate_unconfirmed"
        )
    return RetryableProviderError(f"asterisk: {what}", cause=cause)


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
