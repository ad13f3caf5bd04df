"""Cloudflare Turnstile and hCaptcha: the browser gets a token, the server asks siteverify.

Both take a form-encoded POST of `secret`, `response` and `remoteip` (hCaptcha also
`sitekey`) and answer JSON with `success`, `hostname` and `error-codes`. A token is
accepted once: the provider reports duplicates, and the token's hash is recorded before
asking, so a replay never even reaches the provider. Anything but a clear `success: true`
for the right hostname is a refusal, including timeouts, 5xx and unreadable answers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import requests
from sqlalchemy.orm import Session

from ...core.models import utcnow
from ...core.reasons import Reason
from . import consumed
from .base import UNKNOWN_FIELD, Attempt, HumanCheckRefused

log = logging.getLogger(__name__)

KEY_PATTERN = re.compile(r"[A-Za-z0-9_\-.]{1,200}")
MAX_TOKEN = 4096
# Turnstile tokens live 300 s and hCaptcha's less; the recorded hash outlives both.
TOKEN_LIFETIME = timedelta(minutes=10)
# Error codes that say "this token was already checked", per provider documentation.
DUPLICATE_CODES = {
    "timeout-or-duplicate",
    "already-seen-response",
    "invalid-or-already-seen-response",
}
CONFIG_CODES = {
    "missing-input-secret",
    "invalid-input-secret",
    "sitekey-secret-mismatch",
    "invalid-sitekey",
}


class SiteVerify:
    kind: str
    form_field: str
    url_setting: ClassVar[str]
    sends_site_key: ClassVar[bool] = False

    def validate(self, config: Mapping[str, Any]) -> dict[str, Reason]:
        errors = {
            key: UNKNOWN_FIELD for key in config if key not in ("kind", "site_key", "secret_key")
        }
        for key in ("site_key", "secret_key"):
            value = config.get(key)
            if not value:
                errors[key] = Reason("is required")
            elif not isinstance(value, str) or not KEY_PATTERN.fullmatch(value):
                errors[key] = Reason("must be 1 to 200 letters, digits, '-', '_' or '.'")
        return errors

    def public(self, config: Mapping[str, Any], widget_id: str, settings: Any) -> dict[str, Any]:
        return {"kind": self.kind, "site_key": config["site_key"], "field": self.form_field}

    def verify(
        self, session: Session, config: Mapping[str, Any], attempt: Attempt, settings: Any
    ) -> None:
        token = attempt.response
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
            raise HumanCheckRefused("missing")
        if not consumed.consume(session, self.kind, token, utcnow() + TOKEN_LIFETIME):
            raise HumanCheckRefused("duplicate")
        answer = self._ask(config, token, attempt.remote_ip, settings)
        if answer.get("success") is not True:
            codes = answer.get("error-codes")
            codes = [str(c)[:64] for c in codes] if isinstance(codes, list) else []
            if CONFIG_CODES.intersection(codes):
                # The site owner's keys are wrong: every visitor is refused until fixed.
                log.error(
                    "%s refuses this widget's keys (%s): widget=%s",
                    self.kind,
                    ",".join(codes),
                    attempt.widget_id,
                )
                raise HumanCheckRefused("misconfigured")
            raise HumanCheckRefused(
                "duplicate" if DUPLICATE_CODES.intersection(codes) else "invalid"
            )
        hostname = answer.get("hostname")
        expected = (attempt.hostname or "").lower()
        if not isinstance(hostname, str) or not expected or hostname.lower() != expected:
            raise HumanCheckRefused("wrong_hostname")

    def _ask(
        self, config: Mapping[str, Any], token: str, remote_ip: str | None, settings: Any
    ) -> dict[str, Any]:
        data = {"secret": config["secret_key"], "response": token}
        if remote_ip:
            data["remoteip"] = remote_ip
        if self.sends_site_key:
            data["sitekey"] = config["site_key"]
        url = str(settings[self.url_setting])
        try:
            response = requests.post(url, data=data, timeout=float(settings["HUMAN_CHECK_TIMEOUT"]))
        except requests.RequestException as exc:
            log.warning("%s unreachable: %s", self.kind, exc.__class__.__name__)
            raise HumanCheckRefused("unavailable") from None
        if response.status_code != 200:
            log.warning("%s answered HTTP %s", self.kind, response.status_code)
            raise HumanCheckRefused("unavailable")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            log.warning("%s answered something other than a JSON object", self.kind)
            raise HumanCheckRefused("unavailable")
        return answer


class Turnstile(SiteVerify):
    kind = "turnstile"
    form_field = "cf-turnstile-response"
    url_setting = "TURNSTILE_VERIFY_URL"


class HCaptcha(SiteVerify):
    kind = "hcaptcha"
    form_field = "h-captcha-response"
    url_setting = "HCAPTCHA_VERIFY_URL"
    sends_site_key = True
