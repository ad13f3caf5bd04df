"""A fake Asterisk Manager Interface: strict Login/Originate/CoreShowChannels/Logoff framing
over TCP, with the channels of the calls it placed."""

from __future__ import annotations

from typing import Any

from tests.fakes.base import FakeTCPServer, LineReader

PROVIDER = "asterisk"
USERNAME = "widget"
SECRET = "s3cret-manager-pass"
ORIGINATE_REQUIRED = ("ActionID", "Channel", "Timeout", "Async")


def asterisk_variables(action: dict[str, Any]) -> dict[str, str]:
    """Split Variable headers the way Asterisk's manager does (commas separate pairs)."""
    found: dict[str, str] = {}
    values = action.get("Variable", [])
    for header in [values] if isinstance(values, str) else values:
        for item in _split_args(header):
            name, sep, value = item.partition("=")
            if sep and name:
                found[name] = value
    return found


def _split_args(text: str) -> list[str]:
    # AST_STANDARD_APP_ARGS: commas split, except inside quotes or brackets/parentheses.
    parts, current, depth, quoted = [], [], 0, False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "([":
            depth += 1
        elif not quoted and ch in ")]" and depth:
            depth -= 1
        elif ch == "," and not quoted and not depth:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


NOT_AMI = b"Hello, this is not AMI\r\n\r\n"


class Fake(FakeTCPServer):
    """An AMI server on 127.0.0.1; see tests/fakes/base.py for the shared contract."""

    def reset(self) -> None:
        """Forget recorded traffic and go back to mode "ok" with default behaviour."""
        super().reset()
        self.reason = 4  # OriginateResponse Reason for the next originates
        self.send_originate_response = True
        self.event_first = False  # send OriginateResponse before "successfully queued"
        self.refuse_originate: str | None = None  # answer Originate with this error message
        self.visitor_leg = True  # an answered originate also brings up the visitor's channel
        self.refuse_status: str | None = None  # answer CoreShowChannels with this error message
        self.stray_blocks = False  # mix other sessions' traffic into the channel list
        self.miscount = 0  # added to the list's ListItems, as in a list that lost an item
        self.channels: list[dict[str, str]] = []  # live channels, oldest first

    def hang_up(self, uniqueid: str, *, agent_only: bool = False) -> None:
        """End the call whose agent channel is `uniqueid`: drop its channels (or the agent's)."""
        with self._lock:
            self.channels = [
                channel
                for channel in self.channels
                if channel["Uniqueid"] != uniqueid
                and (agent_only or channel["Linkedid"] != uniqueid)
            ]

    def add_channel(self, uniqueid: str, linkedid: str | None = None, **fields: str) -> None:
        """Bring up a channel of some other call."""
        channel = _channel(f"PJSIP/trunk-{uniqueid}", uniqueid, linkedid or uniqueid)
        with self._lock:
            self.channels.append({**channel, **fields})

    def originate_count(self) -> int:
        return sum(1 for a in self.received if str(a.get("Action", "")).lower() == "originate")

    def actions(self, name: str) -> list[dict[str, Any]]:
        """Return the recorded actions called `name`."""
        return [a for a in self.received if str(a.get("Action", "")).lower() == name.lower()]

    def provider_settings(self) -> dict[str, Any]:
        host, port = self.address
        return {
            "host": host,
            "port": port,
            "username": USERNAME,
            "secret": SECRET,
            "agent_channel": "PJSIP/{agent}",
            "context": "from-internal",
            "caller_id": '"Website" <1000>',
            "read_timeout": 0.5,
            "connect_timeout": 1.0,
        }

    # The session ---------------------------------------------------------------------------

    def _session(self, sock: Any) -> None:
        sock.settimeout(5)
        sock.sendall(b"Asterisk Call Manager/9.0.0\r\n")
        reader = _Reader(sock, self.errors)
        logged_in = False
        while not self._closing.is_set():
            try:
                action = reader.action()
            except EOFError:
                return
            self.received.append(action)
            name = str(action.get("Action", "")).lower()
            reply = _Replier(sock, action.get("ActionID"))
            if name == "login":
                if not self._login(action, reply):
                    return
                logged_in = True
            elif not logged_in:
                self.errors.append(f"{name} before login")
                reply.send(Response="Error", Message="Authentication Required")
            elif name == "originate":
                if not self._originate(sock, action, reply):
                    return
            elif name == "coreshowchannels":
                if not self._core_show_channels(sock, action, reply):
                    return
            elif name == "logoff":
                reply.send(Response="Goodbye", Message="Thanks for all the fish.")
                return
            else:
                reply.send(Response="Error", Message="Invalid/unknown command")

    def _login(self, action: dict[str, Any], reply: _Replier) -> bool:
        missing = [k for k in ("Username", "Secret") if not action.get(k)]
        if missing:
            self.errors.append(f"login without {missing}")
            reply.send(Response="Error", Message=f"Missing header: {missing[0]}")
            return True
        if self.mode == "bad_auth" or (action["Username"], action["Secret"]) != (USERNAME, SECRET):
            reply.send(Response="Error", Message="Authentication failed")
            return False
        reply.send(Response="Success", Message="Authentication accepted")
        return True

    def _originate(self, sock: Any, action: dict[str, Any], reply: _Replier) -> bool:
        problem = _originate_problem(action)
        if problem:
            self.errors.append(problem)
            reply.send(Response="Error", Message=problem)
            return True
        if (misbehaved := self._misbehave(sock, NOT_AMI)) is not None:
            return misbehaved
        if self.refuse_originate:
            reply.send(Response="Error", Message=self.refuse_originate)
            return True
        number = self._next_number()
        uniqueid = f"1700000000.{number}"
        event = self._originate_event(action, uniqueid)
        if event and self.reason == 4:
            self._bring_up(action, uniqueid, number)
        sock.sendall(_block(Event="Newchannel", Channel="PJSIP/1001-00000001"))
        if self.event_first and event:
            sock.sendall(event)
        reply.send(Response="Success", Message="Originate successfully queued")
        other = dict(action, ActionID="someone-else")
        sock.sendall(self._originate_event(other, "1699999999.1") or b"")
        if event and not self.event_first:
            sock.sendall(event)
        return True

    def _bring_up(self, action: dict[str, Any], uniqueid: str, number: int) -> None:
        """Add the answered agent's channel and, dialled from it, the visitor's."""
        agent = _channel(f"{action['Channel']}-0001", uniqueid, uniqueid, Application="Dial")
        added = [agent]
        if self.visitor_leg:
            visitor = _channel(
                f"PJSIP/trunk-{number:08x}", f"1700000001.{number}", uniqueid, Application="AppDial"
            )
            added.append(visitor)
        with self._lock:
            self.channels.extend(added)

    def _core_show_channels(self, sock: Any, action: dict[str, Any], reply: _Replier) -> bool:
        """Answer as Asterisk does: a list ack, one CoreShowChannel per channel, the end."""
        extra = set(action) - {"Action", "ActionID"}
        if extra:
            self.errors.append(f"CoreShowChannels takes no {sorted(extra)}")
        action_id = action.get("ActionID")
        if not action_id:
            self.errors.append("CoreShowChannels without ActionID")
            action_id = ""
        if self._take_failure():
            return False  # dropped before any answer
        if self.mode == "hang":
            self._hang()
            return False
        if self.refuse_status:
            reply.send(Response="Error", Message=self.refuse_status)
            return True
        reply.send(Response="Success", EventList="start", Message="Channels will follow")
        if self.mode == "malformed":
            sock.sendall(NOT_AMI)
            return True
        with self._lock:
            channels = list(self.channels)
        blocks = [_block(Event="CoreShowChannel", ActionID=action_id, **c) for c in channels]
        if self.stray_blocks:
            other = _channel("PJSIP/1001-0002", "1700000000.1", "1700000000.1")
            blocks[1:1] = [
                _block(Event="CoreShowChannel", ActionID="someone-else", **other),
                _block(Event="Hangup", Privilege="call,all", Uniqueid="1700000000.1"),
                _block(Response="Success", ActionID="someone-else", Ping="Pong"),
            ]
        blocks.append(
            _block(
                Event="CoreShowChannelsComplete",
                ActionID=action_id,
                EventList="Complete",
                ListItems=str(len(channels) + self.miscount),
            )
        )
        sock.sendall(b"".join(blocks))
        return True

    def _originate_event(self, action: dict[str, Any], uniqueid: str) -> bytes | None:
        if not self.send_originate_response:
            return None
        answered = self.reason == 4
        return _block(
            Event="OriginateResponse",
            Privilege="call,all",
            ActionID=action["ActionID"],
            Response="Success" if answered else "Failure",
            Channel=f"{action['Channel']}-0001",
            Context=action.get("Context", ""),
            Exten=action.get("Exten", ""),
            Reason=str(self.reason),
            Uniqueid=uniqueid if self.reason else "<null>",
            CallerIDNum="1000",
            CallerIDName="Website",
        )


def _originate_problem(action: dict[str, Any]) -> str | None:
    for key in ORIGINATE_REQUIRED:
        if not action.get(key):
            return f"Missing header: {key}"
    dialplan = all(action.get(k) for k in ("Context", "Exten", "Priority"))
    if not dialplan and not action.get("Application"):
        return "Missing header: Exten or Application"
    if not str(action["Timeout"]).isdigit():
        return "Invalid Timeout"
    return None


def _channel(name: str, uniqueid: str, linkedid: str, **fields: str) -> dict[str, str]:
    """Return a live channel with the headers a CoreShowChannel event carries."""
    return {
        "Channel": name,
        "ChannelState": "6",
        "ChannelStateDesc": "Up",
        "CallerIDNum": "1000",
        "CallerIDName": "Website",
        "ConnectedLineNum": "<unknown>",
        "ConnectedLineName": "<unknown>",
        "Language": "en",
        "AccountCode": "",
        "Context": "from-internal",
        "Exten": "",
        "Priority": "1",
        "Uniqueid": uniqueid,
        "Linkedid": linkedid,
        "BridgeId": "",
        "Application": "",
        "ApplicationData": "",
        "Duration": "00:00:12",
        **fields,
    }


def _block(**headers: str) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()


class _Replier:
    def __init__(self, sock: Any, action_id: object) -> None:
        self.sock = sock
        self.action_id = action_id

    def send(self, **headers: str) -> None:
        first = {"Response": headers.pop("Response")}
        if isinstance(self.action_id, str):
            first["ActionID"] = self.action_id
        self.sock.sendall(_block(**first, **headers))


class _Reader(LineReader):
    """Read actions strictly: every line ends in CRLF and is "Key: value"."""

    def _line(self) -> str:
        raw = self._raw_line()
        if not raw.endswith(b"\r"):
            self.errors.append(f"line without CRLF: {raw[:60]!r}")
        text = raw.rstrip(b"\r").decode("utf-8")
        if "\r" in text:
            self.errors.append(f"bare CR inside a line: {text[:60]!r}")
        return text

    def action(self) -> dict[str, Any]:
        action: dict[str, Any] = {}
        while True:
            line = self._line()
            if not line:
                if action:
                    return action
                continue
            key, sep, value = line.partition(": ")
            if not sep or not key or " " in key:
                self.errors.append(f"not a header line: {line[:60]!r}")
                continue
            if key == "Variable":
                action.setdefault("Variable", []).append(value)
            elif key in action:
                self.errors.append(f"repeated header {key}")
            else:
                action[key] = value
