"""A strict local stand-in for TeleCMI's click2call API, as its document describes it."""

from __future__ import annotations

import secrets
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.base import FakeHTTPServer, json_response

PROVIDER = "telecmi"
PATH = "/v2/webrtc/click2call"
USER_ID = "101_1111112"
SECRET = "2e0d75-d843-45-945-4171dd7a"
FIELDS = {"user_id", "secret", "to", "extra_params", "webrtc", "followme"}


def _missing() -> Response:
    return json_response(400, {"code": 400, "msg": "User id or secret param missing"})


class Fake(FakeHTTPServer):
    """TeleCMI's click2call endpoint on a loopback port, recording every request."""

    def __init__(self, user_id: str = USER_ID, secret: str = SECRET) -> None:
        super().__init__()
        self.user_id = user_id
        self.secret = secret
        self.calls: list[dict[str, Any]] = []  # the calls it accepted, as it answered them

    def reset(self) -> None:
        """Forget every request and answer, and go back to mode "ok" (to share one server)."""
        super().reset()
        self.calls.clear()

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
            return json_response(404, {"code": 404, "msg": "Not found"})
        if request.method != "POST":
            return json_response(405, {"code": 405, "msg": "Method not allowed"})
        if request.mimetype != "application/json" or not isinstance(body, dict):
            return _missing()
        if not all(isinstance(body.get(key), str) and body[key] for key in ("user_id", "secret")):
            return _missing()
        if self.mode == "bad_auth" or (body["user_id"], body["secret"]) != (
            self.user_id,
            self.secret,
        ):
            return json_response(404, {"code": 404, "msg": "Failed to authenticate secret"})
        error = _param_error(body)
        if error:
            return json_response(400, {"code": 400, "msg": error})
        return self._answer()

    def _answer(self) -> Response:
        canned = self._canned_answer()
        if canned is not None:
            return canned
        if self._take_failure():
            return json_response(503, {"code": 503, "msg": "Service unavailable"})
        if self.mode == "hang":
            self._hang()
            # Late and unrecorded: the client gave up, and a later test may share the server.
            return json_response(200, {"code": 200, "msg": "Call initiated", "request_id": "late"})
        if self.mode == "malformed":
            return Response("<html><body>Temporarily down", status=200, mimetype="text/html")
        call = {"code": 200, "msg": "Call initiated", "request_id": secrets.token_urlsafe(32)}
        self.calls.append(call)
        return json_response(200, call)


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
