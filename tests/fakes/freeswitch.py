"""A fake FreeSWITCH event socket: auth, event subscription, bgapi and BACKGROUND_JOB, and
`api uuid_exists` against the channels its originates left up."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import quote

from tests.fakes.base import FakeTCPServer, LineReader

PROVIDER = "freeswitch"
PASSWORD = "ClueCon-but-better"
DISCONNECT = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"


def split_blank(text: str) -> list[str]:
    """Split API arguments on spaces as switch_separate_string does, then strip quotes."""
    tokens, current, quoted, i = [], [], False, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i + 1])
            i += 2
            continue
        if ch == "'":
            quoted = not quoted
        elif ch == " " and not quoted:
            if current:
                tokens.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    if current:
        tokens.append("".join(current))
    return tokens


def split_leg(leg: str) -> tuple[dict[str, str], str]:
    """Split "{a=1,b=2}endpoint" into its variables and endpoint, as originate does."""
    if not leg.startswith("{"):
        return {}, leg
    depth, end = 0, len(leg)
    for index, ch in enumerate(leg):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth == 0:
            end = index
            break
    found: dict[str, str] = {}
    for pair in _split_commas(leg[1:end]):
        name, sep, value = pair.partition("=")
        if sep:
            found[name] = value
    return found, leg[end + 1 :]


def _split_commas(text: str) -> list[str]:
    parts, current, quoted = [], [], False
    for ch in text:
        if ch == "'":
            quoted = not quoted
            continue
        if ch == "," and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def parse_originate(args: str) -> dict[str, Any]:
    """Read `originate` arguments the way mod_commands does (first ')' ends the app data)."""
    tokens = split_blank(args)
    parsed: dict[str, Any] = {"argc": len(tokens)}
    if len(tokens) < 2:
        return parsed
    parsed["agent_vars"], parsed["agent_endpoint"] = split_leg(tokens[0])
    exten = tokens[1]
    if exten.startswith("&"):
        app = exten[1:].split(")", 1)[0]
        name, _, data = app.partition("(")
        parsed["app"], parsed["app_data"] = name, data
        if name == "bridge":
            parsed["visitor_vars"], parsed["visitor_endpoint"] = split_leg(data)
    else:
        # <exten> [<dialplan>] [<context>]: the agent leg runs that dialplan extension.
        parsed["exten"] = exten
        parsed["dialplan"] = tokens[2] if len(tokens) > 2 else "XML"
        parsed["context"] = tokens[3] if len(tokens) > 3 else "default"
    return parsed


NOT_ESL = b"This is not an event socket reply\n\n"


class Fake(FakeTCPServer):
    """An event socket on 127.0.0.1; see tests/fakes/base.py for the shared contract."""

    def reset(self) -> None:
        """Forget recorded traffic and go back to mode "ok" with default behaviour."""
        super().reset()
        self.job_result: str | None = None  # body of the BACKGROUND_JOB; default "+OK <uuid>"
        self.send_job_event = True
        self.honour_job_uuid = True  # old versions ignore the client's Job-UUID header
        self.chunked = False  # send everything in tiny pieces to exercise framing
        self.reject_connection = False  # answer like an ACL refusal
        self.api_body: str | None = None  # body of every uuid_exists answer; default true/false
        self.refuse_api = False  # refuse api commands like a user without them in its allow list
        # Channel uuids that are up: each successful originate adds its agent leg's.
        self.live_channels: set[str] = set()

    def hang_up(self, channel: str) -> None:
        """End a channel, as the agent or the visitor hanging up does."""
        with self._lock:
            self.live_channels.discard(channel)

    def originate_count(self) -> int:
        return sum(1 for c in self.received if "originate" in c)

    def commands(self) -> list[str]:
        """Return the command lines received, in order."""
        return [c["command"] for c in self.received]

    def provider_settings(self) -> dict[str, Any]:
        host, port = self.address
        return {
            "host": host,
            "port": port,
            "password": PASSWORD,
            "agent_endpoint": "user/{agent}",
            "gateway": "trunk",
            "caller_id_number": "1000",
            "read_timeout": 0.5,
            "connect_timeout": 1.0,
        }

    # The session ---------------------------------------------------------------------------

    def _send(self, sock: Any, text: str) -> None:
        data = text.encode("utf-8")
        if not self.chunked:
            sock.sendall(data)
            return
        for start in range(0, len(data), 7):
            sock.sendall(data[start : start + 7])
            time.sleep(0.001)

    def _reply(self, sock: Any, text: str, **headers: str) -> None:
        extra = "".join(f"{k}: {v}\n" for k, v in headers.items())
        self._send(sock, f"Content-Type: command/reply\nReply-Text: {text}\n{extra}\n")

    def _disconnect(self, sock: Any) -> None:
        body = DISCONNECT.encode()
        self._send(sock, f"Content-Type: text/disconnect-notice\nContent-Length: {len(body)}\n\n")
        self._send(sock, DISCONNECT)

    def _session(self, sock: Any) -> None:
        sock.settimeout(5)
        if self.reject_connection:
            body = "Access Denied, go away.\n"
            self._send(
                sock, f"Content-Type: text/rude-rejection\nContent-Length: {len(body)}\n\n{body}"
            )
            return
        self._send(sock, "Content-Type: auth/request\n\n")
        reader = _Reader(sock, self.errors)
        state = {"authed": False, "subscribed": False}
        while not self._closing.is_set():
            try:
                command, headers = reader.command()
            except EOFError:
                return
            record: dict[str, Any] = {"command": command, "headers": headers}
            self.received.append(record)
            if not self._handle(sock, command, headers, record, state):
                return

    def _handle(
        self,
        sock: Any,
        command: str,
        headers: dict[str, str],
        record: dict[str, Any],
        state: dict[str, bool],
    ) -> bool:
        if command.startswith("auth "):
            if self.mode == "bad_auth" or command[5:] != PASSWORD:
                self._reply(sock, "-ERR invalid")
                self._disconnect(sock)
                return False
            state["authed"] = True
            self._reply(sock, "+OK accepted")
            return True
        if not state["authed"]:
            self.errors.append(f"{command[:20]!r} before auth")
            self._reply(sock, "-ERR invalid")
            return True
        if command == "exit":
            self._reply(sock, "+OK bye")
            self._disconnect(sock)
            return False
        if command.startswith("event "):
            words = command.split()
            if len(words) < 3 or words[1] != "plain":
                self.errors.append(f"unexpected subscription {command!r}")
            state["subscribed"] = "BACKGROUND_JOB" in words or "ALL" in words
            self._reply(sock, "+OK event listener enabled plain")
            return True
        if command.startswith("bgapi originate "):
            if not state["subscribed"]:
                self.errors.append("bgapi before subscribing to BACKGROUND_JOB")
            record["originate"] = parse_originate(command[len("bgapi originate ") :])
            return self._bgapi(sock, command, headers, record["originate"])
        if command.startswith("api "):
            return self._api(sock, command[len("api ") :])
        self._reply(sock, "-ERR command not found")
        return True

    def _bgapi(
        self, sock: Any, command: str, headers: dict[str, str], parsed: dict[str, Any]
    ) -> bool:
        if (misbehaved := self._misbehave(sock, NOT_ESL)) is not None:
            return misbehaved
        job = headers.get("Job-UUID") if self.honour_job_uuid else None
        job = job or str(uuid.uuid4())
        self._reply(sock, f"+OK Job-UUID: {job}", **{"Job-UUID": job})
        if not self.send_job_event:
            return True
        arg = command[len("bgapi originate ") :]
        self._send(sock, _job_event(str(uuid.uuid4()), arg, "-ERR NO_ANSWER\n"))
        if not 2 <= parsed["argc"] <= 7:
            result = "-USAGE: <call url> <exten>|&<application_name>(<app_args>)\n"
        elif parsed.get("dialplan", "XML") not in ("XML", "inline", "enum"):
            result = "-ERR NO_ROUTE_DESTINATION\n"  # no dialplan module of that name
        else:
            result = self.job_result or f"+OK {uuid.uuid4()}\n"
        if result.startswith("+OK "):
            with self._lock:
                self.live_channels.add(result[len("+OK ") :].strip())
        self._send(sock, _job_event(job, arg, result))
        return True

    def _api(self, sock: Any, args: str) -> bool:
        if (misbehaved := self._misbehave(sock, NOT_ESL)) is not None:
            return misbehaved
        if self.refuse_api:
            self._reply(sock, "-ERR permission denied")
            return True
        name, _, arg = args.partition(" ")
        if name != "uuid_exists":
            body = f"-ERR {name} Command not found!\n"
        elif self.api_body is not None:
            body = self.api_body
        else:
            # Like switch_ivr_uuid_exists: "false" for any uuid it does not hold, whether
            # that channel ended or never existed.
            with self._lock:
                body = "true" if arg in self.live_channels else "false"
        data = body.encode()
        self._send(sock, f"Content-Type: api/response\nContent-Length: {len(data)}\n\n{body}")
        return True


def _job_event(job: str, arg: str, result: str) -> str:
    body = result.encode()
    headers = {
        "Event-Name": "BACKGROUND_JOB",
        "Core-UUID": "6f3d1c2e-0000-4000-8000-000000000001",
        "FreeSWITCH-Hostname": "fake",
        "Event-Date-Local": "2024-05-01 12:00:00",
        "Event-Calling-Function": "bgapi_exec",
        "Job-UUID": job,
        "Job-Command": "originate",
        "Job-Command-Arg": arg,
    }
    inner = "".join(f"{k}: {quote(v, safe='')}\n" for k, v in headers.items())
    inner_bytes = f"{inner}Content-Length: {len(body)}\n\n".encode() + body
    return (
        f"Content-Length: {len(inner_bytes)}\nContent-Type: text/event-plain\n\n"
        + inner_bytes.decode()
    )


class _Reader(LineReader):
    """Read commands strictly: LF-terminated lines, a blank line ends each command."""

    def _line(self) -> str:
        raw = self._raw_line()
        text = raw.decode("utf-8")
        if "\r" in text:
            self.errors.append(f"CR inside a command line: {text[:60]!r}")
        return text

    def command(self) -> tuple[str, dict[str, str]]:
        command = ""
        while not command:
            command = self._line()
        headers: dict[str, str] = {}
        while line := self._line():
            key, sep, value = line.partition(": ")
            if not sep:
                self.errors.append(f"not a header line: {line[:60]!r}")
                continue
            headers[key] = value
        return command, headers
