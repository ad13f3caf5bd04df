"""A strict local stand-in for ExtraMobile's click2call API, as its document describes it."""

from __future__ import annotations

import re
import secrets
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.base import FakeHTTPServer, json_response

PROVIDER = "extramobile"
PATH = "/api/v1/click2call/"
TOKEN = "exm-test-token_0123456789"
CALLER_ID = "+972778038038"
DIALER = "+972778050015"
PARAMS = ("caller_id", "physical", "destination")
E164_RE = re.compile(r"\+[1-9][0-9]{6,14}")


class Fake(FakeHTTPServer):
    """ExtraMobile's click2call endpoint on a loopback port, recording every request."""

    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self.calls: list[dict[str, Any]] = []  # the calls it accepted, as it answered them

    def reset(self) -> None:
        """Forget what was received and go back to mode "ok" (one server, many tests)."""
        super().reset()
        self.calls.clear()

    def provider_settings(self) -> dict[str, Any]:
        """Return working settings for a widget that uses this fake."""
        return {
            "token": self.token,
            "caller_id": CALLER_ID,
            "base_url": self.base_url,
            "read_timeout": 0.5,
        }

    @Request.application
    def app(self, request: Request) -> Response:
        originate = request.path == PATH and request.method == "GET"
        self._record(request, originate)
        if request.path != PATH:
            return json_response(404, {"success": False, "message": "Not found."})
        if request.method != "GET":
            return json_response(405, {"success": False, "message": "Method not allowed."})
        if self.mode == "bad_auth" or request.headers.get("Authorization") != (
            f"Bearer {self.token}"
        ):
            return json_response(401, {"success": False, "message": "Unauthenticated."})
        errors = self._param_errors(request)
        if errors:
            return json_response(
                400, {"success": False, "message": "Invalid parameters.", "errors": errors}
            )
        return self._answer(request)

    def _answer(self, request: Request) -> Response:
        canned = self._canned_answer()
        if canned is not None:
            return canned
        if self._take_failure():
            return json_response(503, {"success": False, "message": "Service unavailable."})
        numbers = {key: request.args[key] for key in PARAMS}
        call = {
            "success": True,
            "call_id": secrets.token_urlsafe(6),
            "numbers": {**numbers, "dialer": DIALER},
        }
        if self.mode == "hang":
            # Answers long after the client gave up; not counted as an accepted call.
            self._hang()
            return json_response(200, call)
        if self.mode == "malformed":
            return Response("<html><body>Temporarily down", status=200, mimetype="text/html")
        self.calls.append(call)
        return json_response(200, call)

    def _param_errors(self, request: Request) -> dict[str, str]:
        errors = {key: "unknown parameter" for key in request.args if key not in PARAMS}
        for key in PARAMS:
            values = request.args.getlist(key)
            if len(values) != 1:
                errors[key] = "required once"
            elif not E164_RE.fullmatch(values[0]):
                # An unencoded "+" arrives as a space: the number must be sent as %2B.
                errors[key] = "must be an E.164 number with its +"
        return errors
