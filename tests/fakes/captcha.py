"""Strict local stand-ins for Cloudflare Turnstile's and hCaptcha's siteverify endpoints.

Both take a form-encoded POST of `secret`, `response` and optional `remoteip` (hCaptcha
also `sitekey`; Turnstile also `idempotency_key`) and answer JSON: on success `success:
true` with `challenge_ts` and `hostname`, otherwise `success: false` and `error-codes`
from each provider's documented list. A token verifies once; its second use answers
`timeout-or-duplicate` (Turnstile) or `already-seen-response` (hCaptcha).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.base import FakeHTTPServer, json_response

SITE_KEY = "0x4AAAAAAATestSiteKey"
SECRET_KEY = "0x4AAAAAAATestSecretKey0123456789"
PATHS = {"turnstile": "/turnstile/v0/siteverify", "hcaptcha": "/siteverify"}
DUPLICATE = {"turnstile": "timeout-or-duplicate", "hcaptcha": "already-seen-response"}
PARAMS = {
    "turnstile": {"secret", "response", "remoteip", "idempotency_key"},
    "hcaptcha": {"secret", "response", "remoteip", "sitekey"},
}


class Fake(FakeHTTPServer):
    """One provider's siteverify on a loopback port; `issue` hands out tokens to verify."""

    body_format = "form"
    hang_seconds = 2.0

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.tokens: dict[str, str] = {}  # token -> hostname it was solved on
        self.seen: set[str] = set()

    @property
    def verify_url(self) -> str:
        return self.base_url + PATHS[self.kind]

    def config(self, secret_key: str = SECRET_KEY) -> dict[str, str]:
        """Return a widget's human_check setting for this provider."""
        return {"kind": self.kind, "site_key": SITE_KEY, "secret_key": secret_key}

    def issue(self, hostname: str = "localhost") -> str:
        """Return a token as the browser widget would after a visitor passed on `hostname`."""
        token = f"{self.kind[:2]}.{secrets.token_urlsafe(48)}"
        self.tokens[token] = hostname
        return token

    def verifications(self) -> int:
        return len(self.received)

    @Request.application
    def app(self, request: Request) -> Response:
        self._record(request, originate=False)
        if request.path != PATHS[self.kind]:
            return Response("not found", status=404)
        if request.method != "POST":
            return Response("method not allowed", status=405)
        if self._take_failure():
            return Response("upstream error", status=502)
        if self.mode == "hang":
            self._hang()
            return self._failure("internal-error")
        if self.mode == "malformed":
            return Response("<html>Just a moment…</html>", status=200, mimetype="text/html")
        if request.mimetype != "application/x-www-form-urlencoded":
            return self._failure("bad-request")
        form = request.form
        if set(form) - PARAMS[self.kind]:
            return self._failure("bad-request")
        secret, token = form.get("secret"), form.get("response")
        if not secret:
            return self._failure("missing-input-secret")
        if secret != SECRET_KEY:
            return self._failure("invalid-input-secret")
        if self.kind == "hcaptcha" and form.get("sitekey") not in (None, SITE_KEY):
            return self._failure("sitekey-secret-mismatch")
        if not token:
            return self._failure("missing-input-response")
        if token not in self.tokens:
            return self._failure("invalid-input-response")
        if token in self.seen:
            return self._failure(DUPLICATE[self.kind])
        self.seen.add(token)
        body: dict[str, Any] = {
            "success": True,
            "challenge_ts": datetime.now(UTC).isoformat(timespec="seconds"),
            "hostname": self.tokens[token],
            "error-codes": [],
        }
        if self.kind == "turnstile":
            body.update(action="", cdata="")
        else:
            body["credit"] = False
        return json_response(200, body)

    def _failure(self, code: str) -> Response:
        return json_response(200, {"success": False, "error-codes": [code]})
