"""A signed HTTP webhook the site owner runs: POST each attempt as JSON, read back its id.

Every request is signed with the widget's secret in the one scheme of core/signing.py
(`X-Widget-Server-Signature: t=<ts>,v1=<hex>`); receivers also dedupe on Idempotency-Key.
Events the receiver posts to the call's event URL are signed the same way, under the same
secret, and checked with signing.verify.

With a `status_url` setting, a status query ({"type": "callback.status",
"idempotency_key", "call_id"}, signed the same way, POSTed there) asks what became of one
attempt when the answer to its originate was lost: 404 means "no such attempt" (so no call
was placed), 200 {"status", "call_id", "cause"} its state now. It has its own URL so that a
receiver which only places calls can never take a query for an originate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from ..core import signing
from ..core.egress import PUBLIC, EgressPolicy
from ..core.reasons import Reason
from ..core.statuses import Status
from .base import (
    STATUSES,
    CallRequest,
    CallState,
    Capability,
    EventRefused,
    EventRequest,
    OriginateResult,
    PermanentProviderError,
    ProviderConfigError,
    parse_report,
    report_call_id,
)
from .checks import TIMEOUT_SETTINGS, timeout_errors, unknown_settings, unsafe_text
from .http import CONNECT_TIMEOUT, READ_TIMEOUT, HTTPProvider
from .setting_fields import N_, SettingField, timeouts

MIN_SECRET = 16
KEY_RE = re.compile(r"[A-Za-z0-9_.-]{1,200}")
MAX_TIMEOUT = 120
SETTING_FIELDS = (
    SettingField(
        "url",
        N_("Receiver URL"),
        N_("Your receiver: each attempt is POSTed to this URL itself, nothing is appended."),
        required=True,
    ),
    SettingField(
        "status_url",
        N_("Status URL"),
        N_("Optional: where status queries are POSTed when an answer was lost."),
    ),
    SettingField(
        "secret",
        N_("Signing secret"),
        N_("At least 16 characters; signs every request and checks your events."),
        secret=True,
        required=True,
    ),
    *timeouts(),
)
KNOWN_SETTINGS = frozenset({"url", "status_url", "secret", "connect_timeout", "read_timeout"})


class WebhookProvider(HTTPProvider):
    name = "webhook"
    setting_fields = SETTING_FIELDS
    default_base_url = ""
    url_settings = ("url", "status_url")
    # The receiver posts reports to the event URL, and answers status queries when it has
    # a status_url (reports_call_status).
    capabilities = frozenset({Capability.REPORTS_STATUS})

    def __init__(
        self,
        settings: Mapping[str, Any],
        session: requests.Session | None = None,
        *,
        egress: EgressPolicy = PUBLIC,
    ):
        super().__init__(settings, session, egress=egress)
        self.url = str(self.settings["url"])

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT, "read_timeout": READ_TIMEOUT}
        values.update(settings)
        errors = unknown_settings(values, KNOWN_SETTINGS)
        url = values.get("url")
        if not isinstance(url, str) or not _http_url(url):
            errors["url"] = Reason("must be an http(s) URL")
        status_url = values.get("status_url")
        if status_url is not None and (
            not isinstance(status_url, str) or not _http_url(status_url)
        ):
            errors["status_url"] = Reason("must be an http(s) URL")
        secret = values.get("secret")
        if not isinstance(secret, str) or not MIN_SECRET <= len(secret) <= 512:
            errors["secret"] = Reason(
                "must be a string of at least %(count)s characters", count=MIN_SECRET
            )
        errors.update(timeout_errors(values, dict.fromkeys(TIMEOUT_SETTINGS, MAX_TIMEOUT)))
        if errors:
            raise ProviderConfigError(errors)
        return values

    def originate(self, call: CallRequest) -> OriginateResult:
        key = _checked_key(call.idempotency_key)
        body = self.body(call)
        headers = {**self._signed_headers(body), "Idempotency-Key": key}
        # Never redirected (see HTTPProvider.exchange): a 3xx answer is a refusal.
        response = self.request("POST", self.url, data=body, headers=headers)
        return self.result(response)

    def reports_call_status(self) -> bool:
        return bool(self.settings.get("status_url"))

    def call_status(self, provider_call_id: str | None, idempotency_key: str) -> CallState:
        key = _checked_key(idempotency_key)
        url = self.settings.get("status_url")
        if not url:
            return super().call_status(provider_call_id, idempotency_key)
        payload = {"type": "callback.status", "idempotency_key": key, "call_id": provider_call_id}
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode("ascii")
        response = self.request(
            "POST",
            str(url),
            data=body,
            headers=self._signed_headers(body),
            not_found_is_answer=True,
        )
        if response.status_code == 404:
            return CallState(placed=False)
        events = parse_report(self.json(response))
        if not events:
            raise self.malformed()
        return CallState(placed=True, event=events[0])

    def authenticate_event(self, request: EventRequest) -> None:
        """Refuse an event whose signature is missing, stale or made with another secret."""
        signature = request.header(signing.HEADER)
        if not signing.verify(str(self.settings["secret"]), signature, request.raw):
            raise EventRefused(
                "signature missing, stale or wrong", reason="webhook_signature_invalid"
            )

    def _signed_headers(self, body: bytes) -> dict[str, str]:
        """The JSON content type and the signature of `body`, timestamped now."""
        return {
            "Content-Type": "application/json",
            signing.HEADER: signing.sign(self.settings["secret"], body),
        }

    def body(self, call: CallRequest) -> bytes:
        """Return the exact JSON bytes that are signed and sent."""
        payload = {
            "type": "callback.originate",
            "callback_id": call.callback_id,
            "attempt": call.attempt,
            "idempotency_key": call.idempotency_key,
            "agent": call.agent,
            "visitor": call.visitor_e164,
            "timeout": call.timeout,
            "caller_id_number": call.caller_id_number,
            "callee_id_name": call.callee_id_name,
            "callee_id_number": call.callee_id_number,
            "extra": {str(k): str(v) for k, v in call.extra.items()},
            "page_url": call.page_url,
            "event_url": call.event_url,
        }
        # ASCII-only JSON: the signed bytes survive any proxy's charset handling unchanged.
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode("ascii")

    def result(self, response: requests.Response) -> OriginateResult:
        """Map a 2xx answer: optional call_id and status; an empty answer carries neither."""
        details = {"http_status": response.status_code}
        if response.status_code == 204 or not response.content.strip():
            return OriginateResult(None, Status.DIALING, details)
        data = self.json(response)
        if not isinstance(data, dict):
            raise PermanentProviderError(
                "webhook: answer is not a JSON object", cause="malformed_answer"
            )
        raw_id = data.get("call_id")
        call_id = report_call_id(raw_id)
        if raw_id is not None and call_id is None:
            raise PermanentProviderError("webhook: unusable call_id", cause="malformed_answer")
        status = data.get("status")
        if not isinstance(status, str) or status not in STATUSES:
            status = Status.DIALING
        return OriginateResult(call_id, Status(status), details)


def _checked_key(key: str) -> str:
    # The key goes into a header and a signed body: only a plain token is ever sent.
    if not KEY_RE.fullmatch(key):
        raise PermanentProviderError("webhook: unusable idempotency key", cause="invalid_parameter")
    return key


def _http_url(url: str) -> bool:
    if len(url) > 2048 or unsafe_text(url) or any(ch.isspace() for ch in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
