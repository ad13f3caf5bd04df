"""A fake site-owner webhook (WSGI) that checks signatures with its own HMAC recipe."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.base import SessionFake, json_response
from tests.fakes.server import serve_wsgi

PROVIDER = "webhook"
SECRET = "whsec-0123456789abcdef"
PATH = "/hooks/callback"


def reference_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Compute the documented `t=<ts>,v1=<hex>` header independently of the adapter's code."""
    mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)
    mac.update(timestamp.encode("ascii"))
    mac.update(b".")
    mac.update(body)
    return f"t={timestamp},v1={mac.hexdigest()}"


def reference_verify(secret: str, header: str, body: bytes, now: float | None = None) -> bool:
    """Check a request the way a careful receiver would (fresh, constant-time compare)."""
    timestamp = header.partition(",")[0].removeprefix("t=")
    if not timestamp.isascii() or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > 300:
        return False
    expected = reference_signature(secret, timestamp, body)
    return hmac.compare_digest(expected.encode(), header.encode("utf-8", "replace"))


class Fake(SessionFake):
    """A webhook receiver on 127.0.0.1; see tests/fakes/base.py for the shared contract."""

    def __init__(self) -> None:
        self.url = ""
        super().__init__()

    def reset(self) -> None:
        """Forget recorded traffic and go back to mode "ok" with default behaviour."""
        super().reset()
        self.reply: tuple[int, bytes, dict[str, str]] | None = None  # overrides the ok answer

    def __enter__(self) -> Fake:
        self.url = self._stack.enter_context(serve_wsgi(self._app))
        return self

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
        signature = request.headers.get("X-Widget-Server-Signature", "")
        record = {
            "method": request.method,
            "path": request.path,
            "headers": dict(request.headers),
            "body": body,
            "json": None,
            "signature_ok": reference_verify(SECRET, signature, body),
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
            return json_response(401, {"error": "signature refused"})
        if self._take_failure():
            return json_response(503, {"error": "try again"})
        if mode == "hang":
            self._hang()
        if mode == "malformed":
            return Response(b"<html><body>OK!</body></html>", 200, mimetype="text/html")
        if self.reply is not None:
            status, body, headers = self.reply
            return Response(body, status, headers=headers)
        call_id = f"wh-call-{self._next_number()}"
        return json_response(200, {"call_id": call_id, "status": "agent_ringing"})
