"""Sign-in attempts limited per client address and per email, in flask-limiter's storage.

Every attempt counts for the address; failed ones count for the email too, whether or not
a user has it, so the limit tells nothing about which emails exist.
"""

from __future__ import annotations

import hashlib
import math
import time
from datetime import UTC, datetime

from flask import current_app
from flask_babel import format_time, gettext
from limits import RateLimitItem, parse_many

from ..limits import client_ip_key, limiter

SCOPE = "dashboard-sign-in"


def _limits(setting: str) -> list[RateLimitItem]:
    return parse_many(str(current_app.config[setting]))


def _email_key(email: str) -> str:
    # The email is hashed: limit keys can show up in a store's monitoring.
    return "email:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def blocked_until(email: str) -> datetime | None:
    """Return when the next attempt may be made, or None when one may be made now."""
    strategy = limiter.limiter
    keys = [
        ("DASHBOARD_SIGN_IN_LIMIT_PER_IP", client_ip_key()),
        ("DASHBOARD_SIGN_IN_LIMIT_PER_EMAIL", _email_key(email)),
    ]
    latest: float | None = None
    for setting, key in keys:
        for item in _limits(setting):
            if not strategy.test(item, SCOPE, key):
                reset = strategy.get_window_stats(item, SCOPE, key).reset_time
                latest = max(latest or 0.0, reset)
    if latest is None:
        return None
    return datetime.fromtimestamp(max(latest, time.time() + 1), UTC)


def count(email: str, failed: bool) -> None:
    strategy = limiter.limiter
    for item in _limits("DASHBOARD_SIGN_IN_LIMIT_PER_IP"):
        strategy.hit(item, SCOPE, client_ip_key())
    if failed:
        for item in _limits("DASHBOARD_SIGN_IN_LIMIT_PER_EMAIL"):
            strategy.hit(item, SCOPE, _email_key(email))


def refusal(until: datetime, now: datetime) -> tuple[str, dict[str, str]]:
    """The message and headers of a sign-in step refused until `until`."""
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    message = gettext(
        "Too many sign-in attempts. Try again in %(minutes)s min (at %(time)s).",
        minutes=minutes,
        time=format_time(until, "short"),
    )
    return message, {"Retry-After": str(minutes * 60)}
