"""A fake site-owner webhook (WSGI) that checks signatures with its own HMAC recipe."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from contextlib import ExitStack
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.server import serve_wsgi

PROVIDER = "webhook"
SECRET = "whsec-0123456789abcdef"
PATH = "/hooks/callback"
MODES = ("ok", "bad_auth", "error_then_ok", "hang", "malformed")


def reference_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Compute the documented v1 signature independently of the adapter's code."""
    mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)
    mac.update(timestamp.encode("ascii"))
    mac.update(b".")
    mac.update(body)
    return "v1=" + mac.hexdigest()


def reference_verify(
    secret: str, timestamp: str, body: bytes, signature: str, now: float | None = None
) -> bool:
    """Check a request the way a careful receiver would (fresh, constant-time compare)."""
    if not timestamp.isascii() or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > 300:
        return False
    return hmac.compare_digest(reference_signature(secret, timestamp, body), signature)


class Fake:
    """A webhook receiver on 127.0.0.1; see tests/fakes for the shared contract."""

    def __init__(self) -> None:
        self.url = ""
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._stack = ExitStack()
        self.reset()

    def reset(self) -> None:
        """Forget recorded traffic and go back to mode "ok" with default behaviour."""
        self.received: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.reply: tuple[int, bytes, dict[str, str]] | None = None  # overrides the ok answer
        self._mode = "ok"
        self._fail_next = False
        self._counter = 0

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"unknown mode {value!r}")
        self._mode = value
        self._fail_next = value == "error_then_ok"

    def __enter__(self) -> Fake:
        self.url = self._stack.enter_context(serve_wsgi(self._app))
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._stack.close()

    def originate_count(self) -> int:
        return sum(1 for r in self.received if r["method"] == "POST" and r["path"] == PATH)

    def provider_settings(self) -> dict[str, Any]:
        return {
            "url": self.url + PATH,
            "secret": SECRET,
            "read_timeout": 0.5,
            "connect_timeout": 1.0,
        }

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data()
        timestamp = request.headers.get("X-Widget-Server-Timestamp", "")
        signature = request.headers.get("X-Widget-Server-Signature", "")
        record = {
            "method": request.method,
            "path": request.path,
            "headers": dict(request.headers),
            "body": body,
            "json": None,
            "signature_ok": reference_verify(SECRET, timestamp, body, signature),
        }
        try:
            record["json"] = json.loads(body)
        except ValueError:
            self.errors.append("body is not JSON")
        if request.mimetype != "application/json":
            self.errors.append(f"content type {request.mimetype!r}")
        self.received.append(record)
        return self._answer(record)(environ, start_response)

    def _answer(self, record: dict[str, Any]) -> Response:
        mode = self.mode
        if mode == "bad_auth" or not record["signature_ok"]:
            return _json(401, {"error": "signature refused"})
        if mode == "error_then_ok" and self._fail_next:
            self._fail_next = False
            return _json(503, {"error": "try again"})
        if mode == "hang":
            self._closing.wait(2.5)
        if mode == "malformed":
            return Response(b"<html><body>OK!</body></html>", 200, mimetype="text/html")
        if self.reply is not None:
            status, body, headers = self.reply
            return Response(body, status, headers=headers)
        with self._lock:
            self._counter += 1
            call_id = f"wh-call-{self._counter}"
        return _json(200, {"call_id": call_id, "status": "agent_ringing"})


def _json(status: int, data: object) -> Response:
    return Response(json.dumps(data), status, mimetype="application/json")
