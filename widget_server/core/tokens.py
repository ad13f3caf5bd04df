"""Signed tokens, one salt per purpose, verified with the current and the older secret keys.

- form tokens: one-time, bound to a widget and the host page's origin, with a max age and
  a minimum fill time (a human takes a few seconds to fill the form) measured from when the
  form was first shown: the fresh token a refusal hands out carries that time on, signed;
- status tokens: let a visitor follow one callback without exposing its id;
- job tokens: the queue only carries signed payloads, each read back as exactly one kind
  of job (`job_payloads`), so a write into the queue cannot make the system dial;
- event references: the last part of a provider's event URL, naming one attempt of one
  callback with one provider, so an event URL cannot be guessed or moved to another call;
- cancel tokens: the status page's no-JavaScript cancel button, bound to one callback.
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from flask import Flask, current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from .job_payloads import DialJob, JobPayload

FORM_SALT = "widget-server.form-token.v1"
STATUS_SALT = "widget-server.status-token.v1"
JOB_SALT = "widget-server.job.v1"
EVENT_SALT = "widget-server.event-url.v1"
CANCEL_SALT = "widget-server.cancel.v1"
CANCEL_MAX_AGE = 24 * 60 * 60

Job = TypeVar("Job", bound=JobPayload)


class TokenRefused(ValueError):
    """A token failed verification; `reason` says why (for logs, not for the client)."""

    def __init__(self, reason: str, wait: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait  # seconds after which the same token passes (too fresh), else 0


class JobMalformed(TokenRefused):
    """A job signed by this server that is not the kind of job its task runs."""


@dataclass(frozen=True)
class EventRef:
    """Which attempt of which callback an event URL was made for, and for which provider."""

    callback_id: str
    attempt: int
    provider: str


@dataclass(frozen=True)
class FormToken:
    widget_id: str
    origin: str
    nonce: str
    age: float


def _visit_start(payload: dict[str, Any], signed_at: float) -> float:
    # Tokens issued before the first-shown time was carried start their visit when signed.
    shown = payload.get("f")
    # itsdangerous signs whole seconds: a first token's own time may be up to one later.
    if isinstance(shown, bool) or not isinstance(shown, int | float) or shown > signed_at + 1:
        return signed_at
    return float(shown)


def _keys(app: Flask) -> list[str]:
    # itsdangerous signs with the last key and accepts all of them when verifying.
    return [*app.config["SECRET_KEY_FALLBACKS"], app.config["SECRET_KEY"]]


class Tokens:
    """Issue and verify every kind of token for one app."""

    def __init__(self, app: Flask) -> None:
        keys = _keys(app)
        self._form = URLSafeTimedSerializer(keys, salt=FORM_SALT)
        self._status = URLSafeSerializer(keys, salt=STATUS_SALT)
        self._job = URLSafeSerializer(keys, salt=JOB_SALT)
        self._event = URLSafeSerializer(keys, salt=EVENT_SALT)
        self._cancel = URLSafeTimedSerializer(keys, salt=CANCEL_SALT)
        self.max_age = app.config["FORM_TOKEN_MAX_AGE"]
        self.min_age = app.config["FORM_TOKEN_MIN_AGE"]

    # Form tokens --------------------------------------------------------------------
    def issue_form_token(
        self, widget_id: str, origin: str, first_shown: float | None = None
    ) -> str:
        """A fresh one-time token; `first_shown` (from `first_shown`) continues a visit."""
        shown = time.time() if first_shown is None else first_shown
        return self._form.dumps(
            {"w": widget_id, "o": origin, "n": secrets.token_hex(16), "f": round(shown, 3)}
        )

    def first_shown(self, token: object, widget_id: str, origin: str) -> float | None:
        """When the visit of a token for this widget and origin began, or None if not ours.

        Read from a token refused for another reason too (used, too fresh), so the fresh
        token handed out with the refusal measures the same visit.
        """
        try:
            payload, signed_at = self._verified(token)
        except TokenRefused:
            return None
        if payload.get("w") != widget_id or payload.get("o") != origin:
            return None
        return _visit_start(payload, signed_at.timestamp())

    def read_form_token(self, token: object, widget_id: str, origin: str) -> FormToken:
        """Verify signature, purpose, widget, origin and age (use is checked by the caller)."""
        payload, signed_at = self._verified(token)
        if payload.get("w") != widget_id:
            raise TokenRefused("token_wrong_widget")
        if payload.get("o") != origin:
            raise TokenRefused("token_wrong_origin")
        # itsdangerous already refuses tokens from the future (a negative age) as expired.
        now = time.time()
        visit = now - _visit_start(payload, signed_at.timestamp())
        if visit < self.min_age:
            raise TokenRefused("token_too_fresh", wait=max(1, math.ceil(self.min_age - visit)))
        return FormToken(
            widget_id=widget_id, origin=origin, nonce=payload["n"], age=now - signed_at.timestamp()
        )

    def _verified(self, token: object) -> tuple[dict[str, Any], datetime]:
        if not isinstance(token, str) or not token or len(token) > 512:
            raise TokenRefused("token_missing")
        try:
            payload, signed_at = self._form.loads(
                token, max_age=self.max_age, return_timestamp=True
            )
        except SignatureExpired:
            raise TokenRefused("token_expired") from None
        except BadSignature:
            raise TokenRefused("token_invalid") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("n"), str):
            raise TokenRefused("token_invalid")
        return payload, signed_at

    # Status tokens ------------------------------------------------------------------
    def issue_status_token(self, callback_id: str) -> str:
        return self._status.dumps(callback_id)

    def read_status_token(self, token: str) -> str:
        try:
            callback_id = self._status.loads(token)
        except BadSignature:
            raise TokenRefused("status_token_invalid") from None
        if not isinstance(callback_id, str):
            raise TokenRefused("status_token_invalid")
        return callback_id

    # Event references ---------------------------------------------------------------
    def issue_event_ref(self, callback_id: str, attempt: int, provider: str) -> str:
        return self._event.dumps({"c": callback_id, "a": attempt, "p": provider})

    def read_event_ref(self, ref: str) -> EventRef:
        if not isinstance(ref, str) or not ref or len(ref) > 512:
            raise TokenRefused("event_ref_missing")
        try:
            payload = self._event.loads(ref)
        except BadSignature:
            raise TokenRefused("event_ref_invalid") from None
        if not isinstance(payload, dict):
            raise TokenRefused("event_ref_invalid")
        callback_id, attempt, provider = payload.get("c"), payload.get("a"), payload.get("p")
        if (
            not isinstance(callback_id, str)
            or isinstance(attempt, bool)
            or not isinstance(attempt, int)
            or not isinstance(provider, str)
        ):
            raise TokenRefused("event_ref_invalid")
        return EventRef(callback_id, attempt, provider)

    # Cancel tokens ------------------------------------------------------------------
    def issue_cancel_token(self, callback_id: str) -> str:
        return self._cancel.dumps(callback_id)

    def read_cancel_token(self, token: object, callback_id: str) -> None:
        """Verify that `token` was issued for this callback's cancel button, recently."""
        if not isinstance(token, str) or not token or len(token) > 512:
            raise TokenRefused("cancel_token_missing")
        try:
            named = self._cancel.loads(token, max_age=CANCEL_MAX_AGE)
        except SignatureExpired:
            raise TokenRefused("cancel_token_expired") from None
        except BadSignature:
            raise TokenRefused("cancel_token_invalid") from None
        if named != callback_id:
            raise TokenRefused("cancel_token_wrong_callback")

    # Job tokens ---------------------------------------------------------------------
    def sign_job(self, job: JobPayload) -> str:
        return self._job.dumps(job.wire())

    def read_job(self, signed: object, kind: type[Job]) -> Job:
        """Verify a job's signature, then read it as a `kind` job or refuse it as malformed."""
        if not isinstance(signed, str):
            raise TokenRefused("job_unsigned")
        try:
            payload = self._job.loads(signed)
        except BadSignature:
            raise TokenRefused("job_signature_invalid") from None
        if not isinstance(payload, dict):
            raise TokenRefused("job_signature_invalid")
        job = kind.from_wire(payload)
        if job is None:
            raise JobMalformed("job_malformed")
        return job

    def claimed_callback_id(self, signed: object) -> str | None:
        """Read the callback an unverified dial job names, only to say which one a forgery named."""
        if not isinstance(signed, str):
            return None
        _valid, payload = self._job.loads_unsafe(signed)
        return DialJob.claimed_callback_id(payload)


def init_app(app: Flask) -> None:
    app.extensions["tokens"] = Tokens(app)


def tokens() -> Tokens:
    return current_app.extensions["tokens"]
