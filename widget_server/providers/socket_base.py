"""The shared base of the socket PBX adapters: one short TCP session per request.

Asterisk (AMI) and FreeSWITCH (event socket) are both reached at `host`:`port` over a
session that opens with a greeting and a login, carries one or two commands and ends with
a goodbye. This module owns what the two share: the connection with its connect timeout,
framed reads (lines and "Name: value" header blocks, each against a deadline), the
mapping of a broken session to typed errors and the courteous goodbye. Each adapter's
connection class adds its protocol: how to log in, what its replies look like, how to say
goodbye.
"""

from __future__ import annotations

import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar, Generic, TypeVar

from ..core.egress import DestinationRefused
from .base import PermanentProviderError, Provider, ProviderError, RetryableProviderError
from .pbx_text import MAX_LINE

RECV_SIZE = 65536
MAX_HEADERS = 256
# A goodbye is courtesy: never wait long for its answer.
GOODBYE_WAIT = 2.0


class Closed(Exception):
    """The PBX closed the connection."""


class Garbled(Exception):
    """The PBX sent something that is not its protocol."""


def credentials_refused(provider: str, what: str) -> PermanentProviderError:
    """Return the error for a login the PBX refused: only new settings can help."""
    return PermanentProviderError(f"{provider}: {what} refused", cause="auth_failed")


class PBXConnection(ABC):
    """One TCP session with a PBX: bytes buffered, read as lines, blocks and bodies."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        # Set once the PBX has taken an originate: from then on a broken session may have
        # left the agent ringing, so trying again could ring them twice.
        self.originate_taken = False

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def fill(self, deadline: float) -> None:
        """Read what the PBX sent next into the buffer; TimeoutError once `deadline` passed."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self.sock.settimeout(remaining)
        chunk = self.sock.recv(RECV_SIZE)
        if not chunk:
            raise Closed
        self.buffer += chunk

    def line(self, deadline: float) -> str:
        """Return the next line without its LF."""
        while (end := self.buffer.find(b"\n")) < 0:
            if len(self.buffer) > MAX_LINE:
                raise Garbled("line too long")
            self.fill(deadline)
        raw = bytes(self.buffer[:end])
        del self.buffer[: end + 1]
        return raw.decode("utf-8", "replace")

    def header_block(self, deadline: float) -> dict[str, str]:
        """Return the "Name: value" lines up to the next blank line, skipping blank lines first."""
        headers: dict[str, str] = {}
        while True:
            line = self.line(deadline)
            if not line:
                if headers:
                    return headers
                continue
            key, sep, value = line.partition(":")
            if not sep or not key.strip() or len(headers) >= MAX_HEADERS:
                raise Garbled(line[:80])
            headers[key.strip()] = value.strip()

    def body(self, length: int, deadline: float) -> bytes:
        """Return the next `length` bytes."""
        while len(self.buffer) < length:
            self.fill(deadline)
        body = bytes(self.buffer[:length])
        del self.buffer[:length]
        return body

    @abstractmethod
    def log_in(self, read_timeout: float) -> None:
        """Read the PBX's greeting and log in; raise PermanentProviderError when refused."""

    @abstractmethod
    def say_goodbye(self, deadline: float) -> None:
        """End the session the way the protocol asks, reading the PBX's answer."""

    def log_off(self, wait: float) -> None:
        # Courtesy only: the outcome is already known, so a failing goodbye changes nothing.
        try:
            self.say_goodbye(time.monotonic() + wait)
        except (OSError, Closed, Garbled):
            pass


ConnectionT = TypeVar("ConnectionT", bound=PBXConnection)


class SocketProvider(Provider, Generic[ConnectionT]):
    """A PBX reached over one short TCP session per request at its `host` and `port`."""

    default_port: ClassVar[int]
    protocol: ClassVar[str]  # what the PBX speaks, as errors name it
    # How the PBX confirms it took an originate ("queued", "accepted"), as errors say it.
    originate_step: ClassVar[str]

    @classmethod
    def endpoints(cls, settings: Mapping[str, Any]) -> dict[str, tuple[str, int]]:
        host, port = settings.get("host"), settings.get("port", cls.default_port)
        if not isinstance(host, str) or not host or isinstance(port, bool):
            return {}
        return {"host": (host, port)} if isinstance(port, int) else {}

    @classmethod
    def destination(cls, settings: Mapping[str, Any]) -> tuple[str, ...]:
        host = str(settings.get("host") or "").lower().rstrip(".")
        return (cls.name, host, str(settings.get("port", cls.default_port)))

    @property
    def read_timeout(self) -> float:
        return float(self.settings["read_timeout"])

    def deadline(self) -> float:
        """Return when an answer asked for now is given up on."""
        return time.monotonic() + self.read_timeout

    def connect(self) -> socket.socket:
        """Open the TCP connection to the PBX, to an address the egress policy allows."""
        try:
            return self.egress.connect(
                str(self.settings["host"]),
                int(self.settings["port"]),
                float(self.settings["connect_timeout"]),
            )
        except DestinationRefused:
            raise PermanentProviderError(
                f"{self.name}: the host is not a public address this server may call",
                cause="destination_refused",
            ) from None

    @contextmanager
    def session(self, connection: Callable[[socket.socket], ConnectionT]) -> Iterator[ConnectionT]:
        """Open, log in and hand over one session, then log off; a break is a typed error."""
        opened: ConnectionT | None = None
        try:
            with self.connect() as sock:
                opened = connection(sock)
                opened.log_in(self.read_timeout)
                yield opened
                opened.log_off(min(self.read_timeout, GOODBYE_WAIT))
        except (Garbled, Closed, OSError) as exc:
            taken = opened is not None and opened.originate_taken
            raise self.session_error(exc, taken=taken) from None

    def session_error(self, exc: BaseException, *, taken: bool) -> ProviderError:
        """Return the error for a session that broke off (`taken`: after the PBX took the
        originate)."""
        if isinstance(exc, Garbled):
            return PermanentProviderError(
                f"{self.name}: answer is not {self.protocol}", cause="malformed_answer"
            )
        if isinstance(exc, TimeoutError):
            return self.lost("timed out", "timeout", taken=taken)
        return self.lost("connection lost", "connection_error", taken=taken)

    def lost(self, what: str, cause: str, *, taken: bool) -> ProviderError:
        """Return the error for a session cut short, before or after the PBX took the
        originate."""
        if taken:
            # The agent may be ringing: trying again could ring them twice.
            return PermanentProviderError(
                f"{self.name}: {what} after the originate was {self.originate_step}",
                cause="originate_unconfirmed",
            )
        return RetryableProviderError(f"{self.name}: {what}", cause=cause)
