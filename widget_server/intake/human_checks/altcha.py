"""ALTCHA proof-of-work (protocol v1), self-hosted: no third party sees the visitor.

The server picks a secret number n ≤ maxnumber and a salt, and sends
`challenge = SHA-256(salt + n)` with `signature = HMAC-SHA-256(key, challenge)`. The
browser tries numbers until the hash matches and sends back base64(JSON{algorithm,
challenge, number, salt, signature}). The salt carries `expires` (and the widget id) as
URL parameters, so the signature also covers when and where the challenge is valid. A
solution is recorded in `consumed_challenges` and works once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from sqlalchemy.orm import Session

from ...core.reasons import Reason
from . import consumed
from .base import UNKNOWN_FIELD, Attempt, HumanCheckRefused

ALGORITHM = "SHA-256"
DEFAULT_MAX_NUMBER = 50_000  # about a second in a phone's browser
MIN_MAX_NUMBER = 1_000
MAX_MAX_NUMBER = 1_000_000
MAX_PAYLOAD = 2048
KEY_PURPOSE = b"widget-server.altcha.v1"


def hmac_keys(settings: Any) -> list[bytes]:
    """The current key first, then keys derived from older secrets (still accepted)."""
    secrets_ = [settings["SECRET_KEY"], *reversed(settings.get("SECRET_KEY_FALLBACKS") or [])]
    return [hmac.new(str(s).encode(), KEY_PURPOSE, hashlib.sha256).digest() for s in secrets_]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _sign(key: bytes, challenge: str) -> str:
    return hmac.new(key, challenge.encode(), hashlib.sha256).hexdigest()


def create_challenge(
    widget_id: str, max_number: int, max_age: int, settings: Any, now: float | None = None
) -> dict[str, Any]:
    expires = int((now if now is not None else time.time()) + max_age)
    salt = f"{secrets.token_hex(12)}?{urlencode({'expires': expires, 'widget': widget_id})}&"
    number = secrets.randbelow(max_number + 1)
    challenge = _sha256(f"{salt}{number}")
    return {
        "algorithm": ALGORITHM,
        "challenge": challenge,
        "maxnumber": max_number,
        "salt": salt,
        "signature": _sign(hmac_keys(settings)[0], challenge),
    }


def solve(challenge: Mapping[str, Any]) -> dict[str, Any] | None:
    """Find the number the way the browser does (used by tests and diagnostics)."""
    for number in range(int(challenge["maxnumber"]) + 1):
        if _sha256(f"{challenge['salt']}{number}") == challenge["challenge"]:
            signed = ("algorithm", "challenge", "salt", "signature")
            return {key: challenge[key] for key in signed} | {"number": number}
    return None


def encode_payload(solution: Mapping[str, Any]) -> str:
    return base64.b64encode(json.dumps(dict(solution)).encode()).decode()


class Altcha:
    kind = "altcha"
    form_field = "altcha"

    def validate(self, config: Mapping[str, Any]) -> dict[str, Reason]:
        errors = {key: UNKNOWN_FIELD for key in config if key not in ("kind", "max_number")}
        value = config.get("max_number", DEFAULT_MAX_NUMBER)
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not MIN_MAX_NUMBER <= value <= MAX_MAX_NUMBER
        ):
            errors["max_number"] = Reason(
                "must be an integer from %(low)s to %(high)s",
                low=MIN_MAX_NUMBER,
                high=MAX_MAX_NUMBER,
            )
        return errors

    def public(self, config: Mapping[str, Any], widget_id: str, settings: Any) -> dict[str, Any]:
        challenge = create_challenge(
            widget_id,
            int(config.get("max_number", DEFAULT_MAX_NUMBER)),
            int(settings["FORM_TOKEN_MAX_AGE"]),
            settings,
        )
        return {"kind": self.kind, "field": self.form_field, "challenge": challenge}

    def verify(
        self, session: Session, config: Mapping[str, Any], attempt: Attempt, settings: Any
    ) -> None:
        solution = _decode(attempt.response)
        challenge, salt = solution["challenge"], solution["salt"]
        if not any(
            hmac.compare_digest(_sign(key, challenge), solution["signature"])
            for key in hmac_keys(settings)
        ):
            raise HumanCheckRefused("forged")
        if not hmac.compare_digest(_sha256(f"{salt}{solution['number']}"), challenge):
            raise HumanCheckRefused("invalid")
        params = parse_qs(salt.partition("?")[2])
        try:
            expires = int(params["expires"][0])
        except (KeyError, ValueError):
            raise HumanCheckRefused("invalid") from None
        if expires < time.time():
            raise HumanCheckRefused("expired")
        if params.get("widget") != [attempt.widget_id]:
            raise HumanCheckRefused("wrong_widget")
        if not consumed.consume(
            session, self.kind, challenge, datetime.fromtimestamp(expires, UTC)
        ):
            raise HumanCheckRefused("duplicate")


def _decode(payload: object) -> dict[str, Any]:
    if not isinstance(payload, str) or not payload or len(payload) > MAX_PAYLOAD:
        raise HumanCheckRefused("missing")
    try:
        solution = json.loads(base64.b64decode(payload, validate=True))
    except (binascii.Error, ValueError):
        raise HumanCheckRefused("invalid") from None
    if not (
        isinstance(solution, dict)
        and solution.get("algorithm") == ALGORITHM
        and all(isinstance(solution.get(k), str) for k in ("challenge", "salt", "signature"))
        and isinstance(solution.get("number"), int)
        and not isinstance(solution.get("number"), bool)
        and 0 <= solution["number"] <= MAX_MAX_NUMBER
    ):
        raise HumanCheckRefused("invalid")
    return solution
