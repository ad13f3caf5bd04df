"""A strict local stand-in for Twilio's Messages resource (send one text message).

POST /2010-04-01/Accounts/{AccountSid}/Messages.json with To, From and Body, HTTP Basic
auth with the account SID and auth token; 201 with the message's `sid` (SM + 32 hex).
Refusals use Twilio's documented codes: 20003 (authenticate), 20404 (not found),
21211 (invalid To), 21606 (From is not a number of this account), 21602 (Body required).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.base import FakeHTTPServer, json_response
from tests.fakes.twilio import _error  # Twilio's one error body, for both resources

ACCOUNT_SID = "AC" + "fedcba9876543210" * 2
AUTH_TOKEN = "e" * 32
FROM_NUMBER = "+14155550111"
MESSAGES_RE = re.compile(r"/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages\.json")
E164_RE = re.compile(r"\+[1-9][0-9]{6,14}")
PARAMS = {"To", "From", "Body"}


class Fake(FakeHTTPServer):
    """Twilio's Messages resource on a loopback port; `sent` lists (to, body) in order."""

    body_format = "form"

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str]] = []

    def settings(self) -> dict[str, Any]:
        """The operator settings that send through this fake."""
        return {
            "OPTOUT_SMS_ACCOUNT_SID": ACCOUNT_SID,
            "OPTOUT_SMS_AUTH_TOKEN": AUTH_TOKEN,
            "OPTOUT_SMS_FROM": FROM_NUMBER,
            "OPTOUT_SMS_BASE_URL": self.base_url,
        }

    def last_code(self) -> str:
        """The code in the latest text (its leading digits)."""
        match = re.match(r"\d+", self.sent[-1][1])
        assert match is not None, self.sent[-1]
        return match[0]

    @Request.application
    def app(self, request: Request) -> Response:
        match = MESSAGES_RE.fullmatch(request.path)
        self._record(request, bool(match) and request.method == "POST")
        if not match:
            return _error(404, 20404, "The requested resource was not found")
        if request.method != "POST":
            return _error(405, 20004, "Method not allowed")
        auth = request.authorization
        if (
            self.mode == "bad_auth"
            or auth is None
            or auth.type != "basic"
            or (auth.username, auth.password) != (ACCOUNT_SID, AUTH_TOKEN)
        ):
            return _error(401, 20003, "Authenticate")
        if match[1] != ACCOUNT_SID:
            return _error(404, 20404, "The requested resource was not found")
        if self._take_failure():
            return _error(503, 20503, "Service unavailable")
        form = request.form
        unknown = set(form) - PARAMS
        if unknown:
            return _error(400, 21218, f"Unknown parameter {sorted(unknown)[0]}")
        if not E164_RE.fullmatch(form.get("To", "")):
            return _error(400, 21211, "The 'To' number is not a valid phone number.")
        if form.get("From") != FROM_NUMBER:
            return _error(
                400, 21606, "The From phone number is not a valid number for this account."
            )
        if not form.get("Body"):
            return _error(400, 21602, "Message body is required.")
        self.sent.append((form["To"], form["Body"]))
        sid = "SM" + secrets.token_hex(16)
        return json_response(
            201,
            {"sid": sid, "account_sid": ACCOUNT_SID, "to": form["To"], "status": "queued"},
        )
