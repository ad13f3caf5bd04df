"""Half signed in: the password was right, the second factor is still to come.

Not a session: a short-lived signed cookie naming the user, the account and where to go
after. It opens no page (access.py reads only the session cookie); it lets its holder try
codes on the code page until it expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from .access import cookie_secure

COOKIE = "dashboard_second_step"
SALT = "dashboard-second-factor"


@dataclass(frozen=True)
class HalfSignedIn:
    user_id: str
    account_id: str
    next: str


def _serializer() -> URLSafeTimedSerializer:
    config = current_app.config
    # itsdangerous signs with the last key and accepts all of them when verifying.
    keys = [*config["SECRET_KEY_FALLBACKS"], config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=SALT)


def remember(response: Any, user_id: str, account_id: str, next_path: str) -> None:
    seconds = int(current_app.config["DASHBOARD_SECOND_FACTOR_SECONDS"])
    token = _serializer().dumps({"u": user_id, "a": account_id, "n": next_path})
    response.set_cookie(
        COOKIE,
        token,
        max_age=seconds,
        path="/dashboard",
        secure=cookie_secure(),
        httponly=True,
        samesite="Lax",
    )


def current() -> HalfSignedIn | None:
    """Return the half sign-in this request's cookie carries, if signed and not expired."""
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 1024:
        return None
    seconds = int(current_app.config["DASHBOARD_SECOND_FACTOR_SECONDS"])
    try:
        payload = _serializer().loads(token, max_age=seconds)
    except BadSignature:  # SignatureExpired is one too
        return None
    if not isinstance(payload, dict) or not all(
        isinstance(payload.get(key), str) for key in ("u", "a", "n")
    ):
        return None
    return HalfSignedIn(payload["u"], payload["a"], payload["n"])


def forget(response: Any) -> None:
    response.delete_cookie(
        COOKIE, path="/dashboard", secure=cookie_secure(), httponly=True, samesite="Lax"
    )
