"""FreeSWITCH over the inbound event socket: originate the agent, then bridge the visitor.

One short session per attempt: auth, `event plain BACKGROUND_JOB`, `bgapi originate`
with a Job-UUID header, the BACKGROUND_JOB event carrying originate's answer, `exit`.
originate's `+OK <uuid>` names the agent leg's channel; FreeSWITCH reports nothing after
it, so call_status asks in a session of its own (auth, `api uuid_exists <uuid>`, `exit`)
whether that channel is still up.
Framing follows mod_event_socket: header blocks end with a blank line, a Content-Length
header announces a body of that many bytes, and plain events carry their own header
block (values URL-encoded) followed by their own Content-Length body.
"""

from __future__ import annotations

import dataclasses
import re
import socket
import time
import uuid
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import unquote

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
from .hangup_causes import agent_outcome, cause_code
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
from .socket_base import Closed, Garbled, PBXConnection, SocketProvider, credentials_refused

DEFAULT_PORT = 8021
MAX_BODY = 1 << 20
MAX_STASHED_JOBS = 32

# No ',', '|' or ':_:' (dial-string separators), '/', braces, quotes or spaces.
AGENT_RE = re.compile(r"(?!.*:_:)[A-Za-z0-9_.+*#@:=-]{1,80}")
GATEWAY_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# Names may hold single spaces; they are then single-quoted, which the originate parser
# strips again (switch_separate_string) before the {...} variables are read.
NAME_RE = re.compile(r"[\w.@+-]+(?: [\w.@+-]+)*")
UUID_RE = re.compile(r"[A-Za-z0-9-]{1,64}")

KNOWN_SETTINGS = SOCKET_SETTINGS | {
    "password",
    "agent_endpoint",
    "gateway",
    "caller_id_number",
    "caller_id_name",
    "whisper_context",
}
CONTEXT_RE = re.compile(r"[A-Za-z0-9_.-]{1,79}")

SETTING_FIELDS = (
    *pbx_socket(DEFAULT_PORT),
    SettingField(
        "password",
        N_("Event socket password"),
        N_("From event_socket.conf.xml."),
        secret=True,
        required=True,
    ),
    SettingField(
        "agent_endpoint",
        N_("Agent endpoint"),
        N_("The endpoint rung first, with {agent} for the widget's extension, e.g. user/{agent}."),
        required=True,
    ),
    SettingField(
        "gateway",
        N_("Gateway"),
        N_("The sofia gateway the visitor is dialled through."),
        required=True,
    ),
    SettingField("caller_id_number", N_("Caller id number"), N_("The number shown to the agent.")),
    SettingField("caller_id_name", N_("Caller id name"), N_("The name shown to the agent.")),
    SettingField(
        "whisper_context",
        N_("Whisper context"),
        N_("The XML dialplan context that plays the whisper and reads the accept key."),
    ),
    *timeouts(),
)

# Nobody picked up on congestion, so trying again cannot ring anyone twice.
RETRYABLE_CAUSES = frozenset({"NORMAL_CIRCUIT_CONGESTION", "SWITCH_CONGESTION"})


def parse_plain_event(body: bytes) -> tuple[dict[str, str], bytes]:
    """Split a text/event-plain body into its URL-decoded headers and its own body."""
    head, _, rest = body.partition(b"\n\n")
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\n"):
        if not line:
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise Garbled(line[:80])
        headers[key.strip()] = unquote(value.strip())
    length = headers.get("Content-Length")
    if length is None:
        return headers, b""
    if not length.isdigit() or int(length) > len(rest):
        raise Garbled("event body length")
    return headers, rest[: int(length)]


def clean_name(value: str) -> str:
    """Keep the letters, digits, single spaces and `.@+-_` of a display name."""
    kept = re.sub(r"[^\w.@+ -]", "", value)
    return " ".join(kept.split())[:40].strip()


class _Session(PBXConnection):
    """An event-socket session, stashing the background-job events it reads past."""

    def __init__(self, sock: socket.socket, password: str) -> None:
        super().__init__(sock)
        self.password = password
        self.jobs: dict[str, bytes] = {}

    def send_command(self, text: str) -> None:
        self.send(text.encode("utf-8"))

    def message(self, deadline: float) -> tuple[dict[str, str], bytes]:
        """Return the next message's headers and its Content-Length body."""
        headers = self.header_block(deadline)
        length = headers.get("Content-Length")
        if length is None:
            return headers, b""
        if not length.isdigit() or int(length) > MAX_BODY:
            raise Garbled("Content-Length")
        return headers, self.body(int(length), deadline)

    def log_in(self, read_timeout: float) -> None:
        """Read the greeting and authenticate; the password goes into the auth command only."""
        _greeting(self.message(time.monotonic() + read_timeout))
        self.send_command(f"auth {self.password}\n\n")
        if not self.reply(time.monotonic() + read_timeout).startswith("+OK"):
            raise credentials_refused("freeswitch", "password")

    def say_goodbye(self, deadline: float) -> None:
        self.send_command("exit\n\n")
        self.reply(deadline)

    def reply(self, deadline: float) -> str:
        """Return the Reply-Text of the next command/reply."""
        while True:
            headers, body = self.message(deadline)
            if headers.get("Content-Type") == "command/reply":
                if "Reply-Text" not in headers:
                    raise Garbled("command/reply without Reply-Text")
                return headers["Reply-Text"]
            self._other(headers, body)

    def job(self, job_uuid: str, deadline: float) -> bytes:
        """Return the body of the BACKGROUND_JOB event for `job_uuid`."""
        while job_uuid not in self.jobs:
            headers, body = self.message(deadline)
            if headers.get("Content-Type") != "command/reply":
                self._other(headers, body)
        return self.jobs.pop(job_uuid)

    def api_response(self, deadline: float) -> bytes:
        """Return the body of the api/response answering an `api` command."""
        while True:
            headers, body = self.message(deadline)
            kind = headers.get("Content-Type")
            if kind == "api/response":
                return body
            if kind == "command/reply":
                # An api command gets a command/reply only when it is refused before it runs
                # (an event-socket user not allowed that command): there is no answer to read.
                raise PermanentProviderError(
                    f"freeswitch: api command refused: {headers.get('Reply-Text', '')[:80]}",
                    cause="malformed_answer",
                )
            self._other(headers, body)

    def _other(self, headers: Mapping[str, str], body: bytes) -> None:
        kind = headers.get("Content-Type")
        if kind in ("text/disconnect-notice", "text/rude-rejection"):
            raise Closed
        if kind != "text/event-plain":
            return  # logs and other listeners' output are not for us
        event, event_body = parse_plain_event(body)
        # Every subscribed listener sees every BACKGROUND_JOB: keep them by Job-UUID.
        if event.get("Event-Name") == "BACKGROUND_JOB" and event.get("Job-UUID"):
            if len(self.jobs) >= MAX_STASHED_JOBS:
                self.jobs.pop(next(iter(self.jobs)))
            self.jobs[event["Job-UUID"]] = event_body


class FreeSwitchProvider(SocketProvider[_Session]):
    name = "freeswitch"
    setting_fields = SETTING_FIELDS
    default_port = DEFAULT_PORT
    # Status by the agent leg's channel uuid while FreeSWITCH holds it; whisper by
    # playback and the accept key by read on the agent leg, in the `whisper_context`
    # dialplan.
    capabilities = frozenset({Capability.REPORTS_STATUS, Capability.WHISPER, Capability.ACCEPT_KEY})
    capability_settings = {
        Capability.WHISPER: "whisper_context",
        Capability.ACCEPT_KEY: "whisper_context",
    }
    protocol = "event-socket framing"
    originate_step = "accepted"

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        values = socket_settings(settings, DEFAULT_PORT)
        errors = unknown_settings(values, KNOWN_SETTINGS)
        check_text(errors, values, "host", HOST_RE, Reason("must be a host name or IP address"))
        check_text(errors, values, "password", None, Reason("is required"))
        check_text(errors, values, "gateway", GATEWAY_RE, Reason("must be a sofia gateway name"))
        check_text(
            errors,
            values,
            "agent_endpoint",
            ENDPOINT_RE,
            Reason('must be an endpoint with {agent}, e.g. "user/{agent}"'),
            placeholder="{agent}",
        )
        for key, pattern, message in (
            ("caller_id_number", NUMBER_RE, Reason("must be a phone number")),
            (
                "caller_id_name",
                NAME_RE,
                Reason("may hold letters, digits, single spaces and .@+-_"),
            ),
            ("whisper_context", CONTEXT_RE, Reason("must be an XML dialplan context name")),
        ):
            if values.get(key) is not None:
                check_text(errors, values, key, pattern, message)
        errors.update(socket_errors(values))
        if errors:
            raise ProviderConfigError(errors)
        return values

    def originate(self, call: CallRequest) -> OriginateResult:
        command = self.originate_command(call)  # refused here, before FreeSWITCH is contacted
        job_uuid = str(uuid.uuid4())
        with self._session() as esl:
            esl.send_command("event plain BACKGROUND_JOB\n\n")
            reply = esl.reply(self.deadline())
            if not reply.startswith("+OK"):
                raise PermanentProviderError(
                    f"freeswitch: subscribe refused: {reply[:80]}", cause="subscribe_failed"
                )
            esl.send_command(f"bgapi {command}\nJob-UUID: {job_uuid}\n\n")
            job_uuid = _job_uuid(esl.reply(self.deadline()))
            esl.originate_taken = True
            # originate answers once the agent answers or rings out: allow the full ring.
            body = esl.job(job_uuid, self.deadline() + call.timeout)
        result = _result(body, job_uuid)
        whispered = call.whisper and self.settings.get("whisper_context")
        if whispered and result.status == Status.AGENT_ANSWERED:
            # Answered may be a voicemail: only the key, reported by the dialplan, says an
            # agent took the call.
            return dataclasses.replace(result, status=Status.AGENT_RINGING)
        return result

    def call_status(self, provider_call_id: str | None, idempotency_key: str) -> CallState:
        """Say whether the agent leg's channel, which originate answered with, is still up."""
        if provider_call_id is None:
            # The channel uuid is known only from originate's answer, and FreeSWITCH keeps
            # nothing else that ties a channel to this attempt: without that answer no query
            # can show that no call was placed, and "not placed" would be a guess that could
            # ring the agent and the visitor twice.
            raise PermanentProviderError(
                f"{self.name}: a call whose channel uuid is unknown cannot be looked up",
                cause="not_supported",
            )
        if not UUID_RE.fullmatch(provider_call_id):
            raise PermanentProviderError(
                f"{self.name}: not a channel uuid", cause="invalid_call_id"
            )
        # Asking places no call, so every failure to get an answer may be retried.
        with self._session() as esl:
            esl.send_command(f"api uuid_exists {provider_call_id}\n\n")
            body = esl.api_response(self.deadline())
        answer = body.decode("utf-8", "replace").strip()
        if answer == "true":
            return CallState(placed=True, event=None)
        if answer == "false":
            # The agent leg lives as long as the call: with its channel gone the call is
            # over, and FreeSWITCH keeps no record of how it went.
            return channels_gone(provider_call_id)
        raise PermanentProviderError(
            f"{self.name}: unreadable uuid_exists answer", cause="malformed_answer"
        )

    def _session(self) -> AbstractContextManager[_Session]:
        return self.session(lambda sock: _Session(sock, str(self.settings["password"])))

    def originate_command(self, call: CallRequest) -> str:
        """Return the `originate` API command for one attempt (without `bgapi`)."""
        settings = self.settings
        visitor = visitor_number(call.visitor_e164, settings["visitor_format"])
        agent = checked(self.name, call.agent, AGENT_RE, "agent")
        timeout = ring_timeout(self.name, call.timeout)
        # Without ignore_early_media a 183 from the agent's side counts as answered and the
        # visitor would be called while the agent's phone still rings.
        agent_vars = [("ignore_early_media", "true"), ("originate_timeout", str(timeout))]
        number = settings.get("caller_id_number") or (
            call.caller_id_number
            and checked(self.name, call.caller_id_number, NUMBER_RE, "caller id")
        )
        if number:
            agent_vars.append(("origination_caller_id_number", number))
        if settings.get("caller_id_name"):
            agent_vars.append(("origination_caller_id_name", settings["caller_id_name"]))
        agent_vars += [
            ("widget_callback_id", checked(self.name, call.callback_id, ID_RE, "callback id")),
            ("widget_attempt", str(int(call.attempt))),
        ]
        if call.page_url:
            agent_vars.append(("widget_page_url", encode_value(str(call.page_url))))
        if call.event_url:
            agent_vars.append(("widget_event_url", encode_value(str(call.event_url))))
        for key, value in list(call.extra.items())[:MAX_EXTRA]:
            suffix = re.sub(r"[^a-z0-9_]", "_", str(key).lower())[:32]
            if suffix:
                agent_vars.append((f"widget_extra_{suffix}", encode_value(str(value))))
        visitor_vars = []
        if call.callee_id_number:
            number = checked(self.name, call.callee_id_number, NUMBER_RE, "callee id number")
            visitor_vars.append(("origination_caller_id_number", number))
        name = clean_name(str(call.callee_id_name or ""))
        if name:
            visitor_vars.append(("origination_caller_id_name", name))
        if call.whisper and settings.get("whisper_context"):
            # The agent leg runs the whisper context (docs/providers.md): playback, read
            # one digit, and only on the accept key the bridge to the visitor.
            agent_vars += [
                ("widget_whisper", encode_value(str(call.whisper))),
                ("widget_accept_key", ACCEPT_KEY),
                ("widget_gateway", settings["gateway"]),
                ("widget_visitor", visitor),
                *visitor_vars_for_dialplan(visitor_vars),
            ]
            aleg = _vars(agent_vars) + settings["agent_endpoint"].replace("{agent}", agent)
            command = f"originate {aleg} {visitor} XML {settings['whisper_context']}"
        else:
            aleg = _vars(agent_vars) + settings["agent_endpoint"].replace("{agent}", agent)
            bleg = _vars(visitor_vars) + f"sofia/gateway/{settings['gateway']}/{visitor}"
            command = f"originate {aleg} &bridge({bleg})"
        # Defence in depth: one line, no channel-variable expansion, whatever changes above.
        if unsafe_text(command) or "$" in command or "\\" in command:
            raise PermanentProviderError("freeswitch: unsafe command", cause="invalid_parameter")
        return command


def visitor_vars_for_dialplan(visitor_vars: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Hand the visitor leg's caller id to the whisper context, which dials that leg."""
    names = {"origination_caller_id_number": "widget_callee_id_number"}
    return [(names[k], v) for k, v in visitor_vars if k in names]


def _vars(pairs: list[tuple[str, str]]) -> str:
    if not pairs:
        return ""
    return "{" + ",".join(f"{k}='{v}'" if " " in v else f"{k}={v}" for k, v in pairs) + "}"


def _greeting(message: tuple[dict[str, str], bytes]) -> None:
    kind = message[0].get("Content-Type")
    if kind == "text/rude-rejection":
        raise PermanentProviderError(
            "freeswitch: event socket ACL refused this server", cause="access_denied"
        )
    if kind != "auth/request":
        raise Garbled(f"greeting {kind}")


def _job_uuid(reply: str) -> str:
    if not reply.startswith("+OK"):
        raise PermanentProviderError(
            f"freeswitch: bgapi refused: {reply[:80]}", cause="originate_refused"
        )
    match = re.fullmatch(r"\+OK Job-UUID: ([A-Za-z0-9-]{1,64})", reply.strip())
    if not match:
        raise Garbled(reply[:80])
    # Versions that ignore the Job-UUID header name their own job; follow the reply.
    return match.group(1)


def _result(body: bytes, job_uuid: str) -> OriginateResult:
    text = body.decode("utf-8", "replace").strip()
    word, _, rest = text.partition(" ")
    rest = rest.strip()
    details: dict[str, Any] = {"job_uuid": job_uuid}
    if word == "+OK" and UUID_RE.fullmatch(rest):
        return OriginateResult(rest, Status.AGENT_ANSWERED, details)
    if word.startswith("-USAGE"):
        raise PermanentProviderError("freeswitch: originate usage error", cause="originate_refused")
    if word != "-ERR":
        raise PermanentProviderError(
            "freeswitch: unreadable originate answer", cause="malformed_answer"
        )
    # "-ERR <CAUSE>" is the agent leg's hangup cause: a person's answer ends the callback
    # with that status; every other cause is an error named after it.
    name = rest.split()[0] if rest else ""
    outcome = agent_outcome(name)
    if outcome is not None:
        status, cause = outcome
        return OriginateResult(None, status, {**details, "hangup_cause": name}, cause=cause)
    cause = cause_code(name, "originate_failed")
    error = RetryableProviderError if name in RETRYABLE_CAUSES else PermanentProviderError
    raise error(f"freeswitch: originate failed: {cause}", cause=cause)
