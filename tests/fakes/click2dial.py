"""A strict local stand-in for a PBX's click2dial REST API, as its document describes it."""

from __future__ import annotations

import re
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.base import FakeHTTPServer, json_response

PROVIDER = "click2dial"
PATH = "/click2dial/calls"
OUTBOUND_ID = "27821234567"
# The document's value rules, one regex per field.
AGENT_RE = re.compile(r"[0-9]{3,4}|0[0-9]{9}|27[0-9]{9}|00[0-9]{11,14}")
CALLEE_RE = re.compile(r"0[0-9]{9}|27[0-9]{9}|00[0-9]{11,14}")
OUTBOUND_ID_RE = re.compile(r"random|0[0-9]{9}|27[0-9]{9}")
REF_RE = re.compile(r"[A-Za-z0-9._~-]+")
MAX_REF = 230


class Fake(FakeHTTPServer):
    """The PBX's click2dial endpoint on a loopback port, recording every request.

    `api_version` "v3" expects contact_ref, "v2" call_ref. The document gives no answer
    body, so a call is accepted with an empty 200, or with {"id": answer_id} when set.
    """

    def __init__(self, api_version: str = "v3", answer_id: str | None = None) -> None:
        super().__init__()
        self.api_version = api_version
        self.answer_id = answer_id
        self.calls: list[dict[str, Any]] = []  # accepted payloads, contact_ref truncated

    def reset(self) -> None:
        """Forget what was received and go back to mode "ok" and version v3."""
        super().reset()
        self.calls.clear()
        self.api_version = "v3"
        self.answer_id = None

    def provider_settings(self) -> dict[str, Any]:
        """Return working settings for a widget that uses this fake."""
        return {
            "base_url": self.base_url,
            "outbound_id": OUTBOUND_ID,
            "api_version": self.api_version,
            "read_timeout": 0.5,
        }

    @Request.application
    def app(self, request: Request) -> Response:
        originate = request.path == PATH and request.method == "POST"
        body = self._record(request, originate)
        if request.path != PATH:
            return json_response(404, {"error": "not found"})
        if request.method != "POST":
            return json_response(405, {"error": "method not allowed"})
        # The document describes no credentials; this answers as a PBX refusing the client.
        if self.mode == "bad_auth":
            return json_response(401, {"error": "unauthorized"})
        if request.mimetype != "application/json":
            return json_response(415, {"error": "expected a JSON body"})
        if not isinstance(body, dict):
            return json_response(400, {"error": "body must be a JSON object"})
        errors = self._body_errors(body)
        if errors:
            return json_response(400, {"error": "invalid request", "fields": errors})
        return self._answer(body)

    def _answer(self, body: dict[str, Any]) -> Response:
        canned = self._canned_answer()
        if canned is not None:
            return canned
        if self._take_failure():
            return json_response(503, {"error": "service unavailable"})
        if self.mode == "hang":
            # Answers long after the client gave up; not counted as an accepted call.
            self._hang()
            return Response(status=200)
        if self.mode == "malformed":
            return Response("<html><body>Internal", status=200, mimetype="text/html")
        ref_key = "contact_ref" if self.api_version == "v3" else "call_ref"
        # "Max length 230 characters, thereafter they are truncated."
        self.calls.append({**body, ref_key: body.get(ref_key, "")[:MAX_REF]})
        if self.answer_id is None:
            return Response(status=200)
        return json_response(200, {"id": self.answer_id})

    def _body_errors(self, body: dict[str, Any]) -> dict[str, str]:
        ref_key = "contact_ref" if self.api_version == "v3" else "call_ref"
        fields = {
            "agent": AGENT_RE,
            "callee": CALLEE_RE,
            "outbound_id": OUTBOUND_ID_RE,
            ref_key: REF_RE,
        }
        errors = {key: "unknown field" for key in body if key not in fields}
        for key, pattern in fields.items():
            value = body.get(key)
            if key == ref_key and value is None:
                continue  # optional: "if none is provided, then one is generated"
            if not isinstance(value, str) or not pattern.fullmatch(value):
                errors[key] = f"must match {pattern.pattern}"
        return errors
