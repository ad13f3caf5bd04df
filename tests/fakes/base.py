"""What every fake shares: the mode switch, the server lifecycle and request recording.

Each fake follows its provider's documented API and can be switched into modes: "ok",
"bad_auth", "error_then_ok" (one transient failure), "hang" (no answer within the read
timeout) and "malformed" (a success status with an unreadable answer).
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from typing import Any, ClassVar, Self

from werkzeug.wrappers import Request, Response

from tests.fakes.server import serve_tcp, serve_wsgi

MODES = ("ok", "bad_auth", "error_then_ok", "hang", "malformed")


def json_response(status: int, body: Any) -> Response:
    """Answer `body` as JSON with `status`."""
    return Response(json.dumps(body), status=status, mimetype="application/json")


class ModeSwitch:
    """The `mode` a fake answers in; "error_then_ok" arms exactly one transient failure."""

    _mode: str
    _fail_next: bool

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"unknown mode {value!r}")
        self._mode = value
        self._fail_next = value == "error_then_ok"

    def _take_failure(self) -> bool:
        """Return True once after mode "error_then_ok" was set, then False again."""
        if not self._fail_next:
            return False
        self._fail_next = False
        return True


class FakeHTTPServer(ModeSwitch):
    """A provider's HTTP API on a loopback port (a context manager), recording every request.

    Subclasses define `app`, a WSGI application that calls `_record` first, and
    `provider_settings`. `received` holds one dict per request: method, path, query (lists),
    query_string, headers, body (decoded per `body_format`), raw_body and originate.
    """

    body_format: ClassVar[str] = "json"  # or "form": url-encoded bodies as lists of values
    base_path: ClassVar[str] = ""  # appended to the server's address to make base_url
    hang_seconds: ClassVar[float] = 3.0
    app: Callable[..., Any]  # the WSGI application, usually a Request.application method

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.canned: list[tuple[int, Any]] = []  # answers for the next valid originates
        self.base_url = ""
        self._release = threading.Event()
        self._server: AbstractContextManager[str] | None = None
        self.mode = "ok"

    def __enter__(self) -> Self:
        self._server = serve_wsgi(self.app)
        self.base_url = self._server.__enter__() + self.base_path
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._release.set()  # lets a hanging answer finish so the server stops at once
        if self._server is not None:
            self._server.__exit__(*exc_info)

    def reset(self) -> None:
        """Forget every request and answer, and go back to mode "ok" (to share one server)."""
        self._release.set()
        self._release = threading.Event()
        self.received.clear()
        self.canned.clear()
        self.mode = "ok"

    def originate_count(self) -> int:
        """Count the call-starting requests received, answered or not."""
        return sum(1 for entry in self.received if entry["originate"])

    def answer_next(self, status: int, body: Any) -> None:
        """Answer the next valid originate with `status` and `body` (see `_canned_response`)."""
        self.canned.append((status, body))

    def _canned_answer(self) -> Response | None:
        """Pop the next answer queued by `answer_next`, or return None when there is none."""
        if not self.canned:
            return None
        status, body = self.canned.pop(0)
        return self._canned_response(status, body)

    def _canned_response(self, status: int, body: Any) -> Response:
        """Send bytes or str as plain text and anything else as JSON."""
        if isinstance(body, str | bytes):
            return Response(body, status=status, mimetype="text/plain")
        return json_response(status, body)

    def _hang(self) -> None:
        """Answer long after the client gave up (or once `reset` or `__exit__` releases it)."""
        self._release.wait(self.hang_seconds)

    def _record(self, request: Request, originate: bool) -> Any:
        """Record `request` in `received` and return its decoded body."""
        raw = request.get_data(cache=True)
        body = self._decode_body(request, raw)
        self.received.append(
            {
                "method": request.method,
                "path": request.path,
                "query": request.args.to_dict(flat=False),
                "query_string": request.query_string.decode("latin-1"),
                "headers": dict(request.headers),
                "body": body,
                "raw_body": raw,
                "originate": originate,
            }
        )
        return body

    def _decode_body(self, request: Request, raw: bytes) -> Any:
        if self.body_format == "form":
            if request.mimetype.endswith("urlencoded"):
                return request.form.to_dict(flat=False)
            return None
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None


class SessionFake(ModeSwitch):
    """A fake whose server lives on an ExitStack and whose sessions stop when it closes.

    `reset` starts new `received` and `errors` lists (protocol violations the client
    committed) and goes back to mode "ok"; subclasses add their own defaults to it.
    """

    hang_seconds: ClassVar[float] = 2.5

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._stack = ExitStack()
        self.reset()

    def reset(self) -> None:
        """Forget recorded traffic and go back to mode "ok" with default behaviour."""
        self.received: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self._mode = "ok"
        self._fail_next = False
        self._counter = 0

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._stack.close()

    def _next_number(self) -> int:
        """Return 1, 2, 3, … across threads (restarting at each reset)."""
        with self._lock:
            self._counter += 1
            return self._counter

    def _hang(self) -> None:
        """Hold the answer back until the fake closes or the client surely gave up."""
        self._closing.wait(self.hang_seconds)

    def _misbehave(self, sock: Any, garbage: bytes) -> bool | None:
        """Act out the failure mode in force instead of an answer.

        None: answer normally. Otherwise what the session handler returns: False drops the
        session (a one-off failure, or a hang), True keeps it after sending `garbage`.
        """
        if self._take_failure():
            return False  # dropped before any answer
        if self.mode == "hang":
            self._hang()
            return False
        if self.mode == "malformed":
            sock.sendall(garbage)
            return True
        return None


class FakeTCPServer(SessionFake):
    """A line-based TCP service on 127.0.0.1; subclasses implement `_session(sock)`."""

    def __init__(self) -> None:
        self.address: tuple[str, int] = ("127.0.0.1", 0)
        super().__init__()

    def __enter__(self) -> Self:
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                fake._serve(self.request)

        self.address = self._stack.enter_context(serve_tcp(Handler))
        return self

    def _serve(self, sock: Any) -> None:
        try:
            self._session(sock)
        except OSError:
            pass  # the client went away: that is its right

    def _session(self, sock: Any) -> None:
        raise NotImplementedError


class LineReader:
    """Read a client's LF-terminated lines from `sock`, noting protocol violations in `errors`."""

    def __init__(self, sock: Any, errors: list[str]) -> None:
        self.sock = sock
        self.errors = errors
        self.buffer = b""

    def _raw_line(self) -> bytes:
        """Return the next line without its LF; raise EOFError once the client has closed."""
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\n", 1)
        return raw
