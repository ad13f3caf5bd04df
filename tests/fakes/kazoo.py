"""A strict local stand-in for Kazoo's Crossbar clicktocall and CDR APIs, as documented."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.base import FakeHTTPServer, json_response

PROVIDER = "kazoo"
ACCOUNT_ID = "3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d"
TOKEN = "kazoo-test-token.0123456789abcdef"
CLICKTOCALL_ID = "0c2f5d1e8a7b4c3d9e6f1a2b3c4d5e6f"
PRESET = {
    "name": "Sales",
    "extension": "1001",
    "auth_required": True,
    "whitelist": [],
    "throttle": 0,
}
PATH_RE = re.compile(
    r"/(?P<ver>v1|v2)/accounts/(?P<account>[^/]+)/clicktocall"
    r"(?:/(?P<id>[^/]+))?(?:/(?P<action>connect|history))?"
)
CDR_PATH_RE = re.compile(r"/(?P<ver>v1|v2)/accounts/(?P<account>[^/]+)/cdrs/(?P<id>[^/]+)")
GREGORIAN_OFFSET = 62167219200  # seconds from year 0 to the Unix epoch, as Kazoo counts
CONTACT_RE = re.compile(r"\+?[0-9]{3,15}|sip:[^@\s]+@[A-Za-z0-9.-]+")
STRINGS = (
    "name",
    "extension",
    "realm",
    "caller_id_number",
    "outbound_callee_id_name",
    "outbound_callee_id_number",
)


class Fake(FakeHTTPServer):
    """Kazoo's clicktocall and CDR endpoints for one account on a loopback port, recording
    requests.

    Its originates are the connect requests (GET or POST); `answer_next` answers the next
    valid one. Each activation enters the clicktocall's history with its call_id and no
    cdr_id while the call goes on; `end_call` writes its CDR and the history's cdr_id. A
    CDR replaced by bytes in `cdrs` is answered as those bytes.
    """

    def __init__(self, account_id: str = ACCOUNT_ID, token: str = TOKEN) -> None:
        super().__init__()
        self.account_id = account_id
        self.token = token
        self.clicktocalls: dict[str, dict[str, Any]] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.cdrs: dict[str, Any] = {}
        self.reset()

    def reset(self) -> None:
        """Forget requests and clicktocalls but the preset one; go back to mode "ok"."""
        super().reset()
        self.clicktocalls.clear()
        self.history.clear()
        self.cdrs.clear()
        self.clicktocalls[CLICKTOCALL_ID] = {**PRESET, "id": CLICKTOCALL_ID}
        self.history[CLICKTOCALL_ID] = []
        # Crossbar pages lists: with a page size, the history answers that many entries
        # and a `next_start_key` while more follow (`?start_key=` fetches them).
        self.history_page_size: int | None = None

    def provider_settings(self) -> dict[str, Any]:
        """Return working settings for a widget that uses this fake's preset clicktocall."""
        return {
            "base_url": self.base_url,
            "api_version": "v2",
            "account_id": self.account_id,
            "auth_token": self.token,
            "clicktocall_id": CLICKTOCALL_ID,
            "read_timeout": 0.5,
        }

    def end_call(
        self,
        call_id: str,
        hangup_cause: str = "NORMAL_CLEARING",
        billing_seconds: int = 0,
        hangup_code: str | None = None,
        ringing_seconds: int = 5,
    ) -> str:
        """End the activation whose call_id is `call_id`: store its CDR, return the CDR id."""
        [item] = [
            entry
            for entries in self.history.values()
            for entry in entries
            if entry.get("call_id") == call_id
        ]
        now = int(time.time())
        cdr_id = f"{time.strftime('%Y%m', time.gmtime(now))}-{call_id}"
        cdr = {
            "id": cdr_id,
            "call_id": call_id,
            "call_direction": "outbound",
            "hangup_cause": hangup_cause,
            "billing_seconds": str(billing_seconds),
            "duration_seconds": str(ringing_seconds + billing_seconds),
            "ringing_seconds": str(ringing_seconds),
            "disposition": "SEND_BYE" if billing_seconds else "",
            "other_leg_call_id": uuid.uuid4().hex if billing_seconds else "",
            "timestamp": str(now + GREGORIAN_OFFSET),
        }
        if hangup_code is not None:
            cdr["hangup_code"] = hangup_code
        self.cdrs[cdr_id] = cdr
        item["cdr_id"] = cdr_id
        return cdr_id

    @Request.application
    def app(self, request: Request) -> Response:
        match = PATH_RE.fullmatch(request.path)
        cdr = CDR_PATH_RE.fullmatch(request.path)
        action = match["action"] if match else None
        originate = action == "connect" and request.method in ("GET", "POST")
        body = self._record(request, originate)
        found = match or cdr
        if found is None:
            return self._error(404, "not_found")
        if self.mode == "bad_auth" or request.headers.get("X-Auth-Token") != self.token:
            return self._error(401, "invalid_credentials")
        if found["account"] != self.account_id:
            return self._error(403, "forbidden")
        if match is None:
            return self._cdr(request, found["id"])
        allowed = {None: ("GET", "PUT"), "connect": ("GET", "POST"), "history": ("GET",)}
        methods = allowed[action] if action or not match["id"] else ("GET", "POST", "DELETE")
        if request.method not in methods:
            return self._error(405, "method_not_allowed")
        c2c_id = match["id"]
        if c2c_id is not None and c2c_id not in self.clicktocalls:
            return self._error(404, "bad_identifier", {"cause": c2c_id})
        if request.method in ("PUT", "POST"):
            if request.mimetype != "application/json":
                return self._error(415, "unsupported_media_type")
            if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
                return self._error(400, "malformed request envelope")
        if action == "connect":
            return self._connect(c2c_id, body, request)
        if action == "history":
            return self._history_page(self.history[c2c_id], request.args.get("start_key"))
        if request.method == "GET":
            return self._ok(
                self.clicktocalls[c2c_id]
                if c2c_id
                else [
                    {key: doc.get(key) for key in ("id", "name", "extension", "realm")}
                    for doc in self.clicktocalls.values()
                ]
            )
        if request.method == "DELETE":
            self.history.pop(c2c_id, None)
            return self._ok(self.clicktocalls.pop(c2c_id))
        return self._save(c2c_id, body["data"])

    def _save(self, c2c_id: str | None, data: dict[str, Any]) -> Response:
        errors = _clicktocall_errors(data)
        if errors:
            return self._error(400, "validation error", errors)
        c2c_id = c2c_id or uuid.uuid4().hex
        self.clicktocalls[c2c_id] = {**data, "id": c2c_id}
        self.history.setdefault(c2c_id, [])
        return self._ok(self.clicktocalls[c2c_id])

    def _connect(self, c2c_id: str, body: Any, request: Request) -> Response:
        data = body["data"] if request.method == "POST" else request.args
        contact = data.get("contact")
        if not isinstance(contact, str) or not CONTACT_RE.fullmatch(contact):
            return self._error(
                400,
                "validation error",
                {"contact": {"required": {"message": "The contact must be a SIP URI or a DID"}}},
            )
        whitelist = self.clicktocalls[c2c_id].get("whitelist") or []
        if whitelist and not any(re.search(pattern, contact) for pattern in whitelist):
            return self._error(400, "Contact doesn't match whitelist", contact)
        canned = self._canned_answer()
        if canned is not None:
            return canned
        if self._take_failure():
            return self._error(503, "service unavailable")
        # The call is under way: its CDR, and the history's cdr_id, come when it ends.
        item = {"contact": contact, "timestamp": int(time.time()), "call_id": uuid.uuid4().hex}
        if self.mode == "hang":
            # Answers long after the client gave up; not recorded as an activation.
            self._hang()
            return self._ok(item)
        if self.mode == "malformed":
            return Response(b"\x00\x1f<html>502 Bad Gate", status=200, mimetype="application/json")
        self.history[c2c_id].append(item)
        return self._ok({**item, "extension": self.clicktocalls[c2c_id].get("extension")})

    def _cdr(self, request: Request, cdr_id: str) -> Response:
        if request.method != "GET":
            return self._error(405, "method_not_allowed")
        if cdr_id not in self.cdrs:
            return self._error(404, "bad_identifier", {"cause": cdr_id})
        cdr = self.cdrs[cdr_id]
        if isinstance(cdr, bytes):
            return Response(cdr, status=200, mimetype="application/json")
        return self._ok(cdr)

    def _history_page(self, entries: list[dict[str, Any]], start_key: str | None) -> Response:
        size = self.history_page_size
        if size is None:
            return self._ok(entries)
        if start_key is not None and not start_key.isdigit():
            return self._error(400, "invalid start_key")
        start = int(start_key or 0)
        page = entries[start : start + size]
        paging: dict[str, Any] = {"page_size": len(page), "start_key": str(start)}
        if start + size < len(entries):
            paging["next_start_key"] = str(start + size)
        return self._ok(page, **paging)

    def _ok(self, data: Any, **envelope: Any) -> Response:
        return json_response(
            200,
            {
                "auth_token": self.token,
                "data": data,
                "revision": uuid.uuid4().hex,
                "request_id": uuid.uuid4().hex,
                "status": "success",
                **envelope,
            },
        )

    def _error(self, status: int, message: str, data: Any = None) -> Response:
        return json_response(
            status,
            {
                "auth_token": "",
                "data": data or {"message": message},
                "error": str(status),
                "message": message,
                "request_id": uuid.uuid4().hex,
                "status": "error",
            },
        )


def _clicktocall_errors(data: dict[str, Any]) -> dict[str, Any]:
    """Check a clicktocall document the way the property table describes it."""
    errors: dict[str, Any] = {}
    for key in ("name", "extension"):
        if key not in data:
            errors[key] = {"required": {"message": "Field is required but missing"}}
    for key in STRINGS:
        value = data.get(key)
        if key in data and (not isinstance(value, str) or not value.strip()):
            errors[key] = {"type": {"message": "Value is not a non-empty string"}}
    if "auth_required" in data and not isinstance(data["auth_required"], bool):
        errors["auth_required"] = {"type": {"message": "Value is not of type boolean"}}
    whitelist = data.get("whitelist", [])
    if not isinstance(whitelist, list) or not all(isinstance(p, str) for p in whitelist):
        errors["whitelist"] = {"type": {"message": "Value is not a list of strings"}}
    throttle = data.get("throttle", 0)
    if not isinstance(throttle, int) or isinstance(throttle, bool):
        errors["throttle"] = {"type": {"message": "Value is not of type integer"}}
    return errors
