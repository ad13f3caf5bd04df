"""A strict local stand-in for ExtraMobile's click2call API, as its document describes it."""

from __future__ import annotations

import json
import re
import secrets
import threading
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.server import serve_wsgi

PROVIDER = "extramobile"
PATH = "/api/v1/click2call/"
TOKEN = "exm-test-token_0123456789"
CALLER_ID = "+972778038038"
DIALER = "+972778050015"
PARAMS = ("caller_id", "physical", "destination")
E164_RE = re.compile(r"\+[1-9][0-9]{6,14}")
MODES = ("ok", "bad_auth", "error_then_ok", "hang", "malformed")
HANG_SECONDS = 3.0


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


class Fake:
    """ExtraMobile's click2call endpoint on a loopback port, recording every request."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
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
        """Forget what was received and go back to mode "ok" (one server, many tests)."""
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
            return _json(404, {"success": False, "message": "Not found."})
        if request.method != "GET":
            return _json(405, {"success": False, "message": "Method not allowed."})
        if self.mode == "bad_auth" or request.headers.get("Authorization") != (
            f"Bearer {self.token}"
        ):
            return _json(401, {"success": False, "message": "Unauthenticated."})
        errors = self._param_errors(request)
        if errors:
            return _json(
                400, {"success": False, "message": "Invalid parameters.", "errors": errors}
            )
        return self._answer(request)

    def _answer(self, request: Request) -> Response:
        if self.canned:
            status, body = self.canned.pop(0)
            if isinstance(body, str | bytes):
                return Response(body, status=status, mimetype="text/plain")
            return _json(status, body)
        if self._fail_next:
            self._fail_next = False
            return _json(503, {"success": False, "message": "Service unavailable."})
        numbers = {key: request.args[key] for key in PARAMS}
        call = {
            "success": True,
            "call_id": secrets.token_urlsafe(6),
            "numbers": {**numbers, "dialer": DIALER},
        }
        if self.mode == "hang":
            # Answers long after the client gave up; not counted as an accepted call.
            self._release.wait(HANG_SECONDS)
            return _json(200, call)
        if self.mode == "malformed":
            return Response("<html><body>Temporarily down", status=200, mimetype="text/html")
        self.calls.append(call)
        return _json(200, call)

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

    def _record(self, request: Request, originate: bool) -> None:
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
