"""A strict local stand-in for TeleCMI's click2call API, as its document describes it."""

from __future__ import annotations

import json
import secrets
import threading
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.server import serve_wsgi

PROVIDER = "telecmi"
PATH = "/v2/webrtc/click2call"
USER_ID = "101_1111112"
SECRET = "2e0d75-d843-45-945-4171dd7a"
MODES = ("ok", "bad_auth", "error_then_ok", "hang", "malformed")
HANG_SECONDS = 3.0
FIELDS = {"user_id", "secret", "to", "extra_params", "webrtc", "followme"}


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _missing() -> Response:
    return _json(400, {"code": 400, "msg": "User id or secret param missing"})


class Fake:
    """TeleCMI's click2call endpoint on a loopback port, recording every request."""

    def __init__(self, user_id: str = USER_ID, secret: str = SECRET) -> None:
        self.user_id = user_id
        self.secret = secret
        self.received: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []  # the calls it accepted, as it answered them
        self.canned: list[tuple[int, Any]] = []  # answers for the next valid originates
        self.base_url = ""
        self._release = threading.Event()
        self._server: Any = None
        self.mode = "ok"

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
        self._server = serve_wsgi(self.app)
        self.base_url = self._server.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._release.set()  # lets a hanging answer finish so the server stops at once
        self._server.__exit__(*exc_info)

    def reset(self) -> None:
        """Forget every request and answer, and go back to mode "ok" (to share one server)."""
        self._release.set()
        self._release = threading.Event()
        self.received.clear()
        self.calls.clear()
        self.canned.clear()
        self.mode = "ok"

    def originate_count(self) -> int:
        """Count the call-starting requests received, answered or not."""
        return sum(1 for entry in self.received if entry["originate"])

    def answer_next(self, status: int, body: Any) -> None:
        """Answer the next valid originate with `status` and `body` (JSON unless bytes/str)."""
        self.canned.append((status, body))

    def provider_settings(self) -> dict[str, Any]:
        """Return working settings for a widget that uses this fake."""
        return {
            "user_id": self.user_id,
            "secret": self.secret,
            "base_url": self.base_url,
            "read_timeout": 0.5,
        }

    @Request.application
    def app(self, request: Request) -> Response:
        originate = request.path == PATH and request.method == "POST"
        body = self._record(request, originate)
        if request.path != PATH:
            return _json(404, {"code": 404, "msg": "Not found"})
        if request.method != "POST":
            return _json(405, {"code": 405, "msg": "Method not allowed"})
        if request.mimetype != "application/json" or not isinstance(body, dict):
            return _missing()
        if not all(isinstance(body.get(key), str) and body[key] for key in ("user_id", "secret")):
            return _missing()
        if self.mode == "bad_auth" or (body["user_id"], body["secret"]) != (
            self.user_id,
            self.secret,
        ):
            return _json(404, {"code": 404, "msg": "Failed to authenticate secret"})
        error = _param_error(body)
        if error:
            return _json(400, {"code": 400, "msg": error})
        return self._answer()

    def _answer(self) -> Response:
        if self.canned:
            status, body = self.canned.pop(0)
            if isinstance(body, str | bytes):
                return Response(body, status=status, mimetype="text/plain")
            return _json(status, body)
        if self._fail_next:
            self._fail_next = False
            return _json(503, {"code": 503, "msg": "Service unavailable"})
        if self.mode == "hang":
            self._release.wait(HANG_SECONDS)
            # Late and unrecorded: the client gave up, and a later test may share the server.
            return _json(200, {"code": 200, "msg": "Call initiated", "request_id": "late"})
        if self.mode == "malformed":
            return Response("<html><body>Temporarily down", status=200, mimetype="text/html")
        call = {"code": 200, "msg": "Call initiated", "request_id": secrets.token_urlsafe(32)}
        self.calls.append(call)
        return _json(200, call)

    def _record(self, request: Request, originate: bool) -> Any:
        raw = request.get_data()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
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


def _param_error(body: dict[str, Any]) -> str | None:
    """Say what is wrong with the click2call parameters, the way the document types them."""
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        return f"Unknown parameter {unknown[0]}"
    to = body.get("to")
    if isinstance(to, bool) or not isinstance(to, int) or not 10**6 <= to < 10**15:
        return "to must be a number"
    if not isinstance(body.get("extra_params", {}), dict):
        return "extra_params must be a JSON object"
    for key in ("webrtc", "followme"):
        if not isinstance(body.get(key, False), bool):
            return f"{key} must be a boolean"
    if body.get("followme") is True and body.get("webrtc", True) is not False:
        return "webrtc must be false when followme is true"
    return None
