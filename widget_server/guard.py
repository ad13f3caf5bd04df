"""Abuse guard: client identity, per-IP limits (flask-limiter) and per-number limits (limits)."""

from __future__ import annotations

import ipaddress
import logging

from flask import Flask, current_app, request
from flask_limiter import Limiter
from limits import parse, parse_many
from limits.strategies import MovingWindowRateLimiter

from .errors import TooManyRequests, Unavailable
from .models import Widget

log = logging.getLogger(__name__)

NAMESPACE = "widget-server"


def client_ip_key() -> str:
    """Key a client by IP, grouping IPv6 by /64 (one subscriber usually holds a whole /64)."""
    address = request.remote_addr or ""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        # Never let an unreadable address turn the limit off: all such clients share a key.
        return "ip:unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"ip:{ip.ipv4_mapped}"
        return f"ip:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"ip:{ip}"


limiter = Limiter(
    key_func=client_ip_key,
    strategy="moving-window",
    headers_enabled=True,
    key_prefix="widget-server",
)


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    limiter.init_app(app)


def submit_limit_per_ip() -> str:
    return str(current_app.config["SUBMIT_LIMIT_PER_IP"])


# Widget `limits` keys that override these settings, each a `limits` string.
LIMIT_SETTINGS = {
    "per_number": "SUBMIT_LIMIT_PER_NUMBER",
    "per_prefix": "SUBMIT_LIMIT_PER_PREFIX",
    "distinct_numbers_per_ip": "SUBMIT_LIMIT_DISTINCT_NUMBERS_PER_IP",
    "per_widget": "SUBMIT_LIMIT_PER_WIDGET",
}


def _limit(widget: Widget, key: str) -> str:
    return str(widget.limits.get(key) or current_app.config[LIMIT_SETTINGS[key]])


def hit_limits(widget: Widget, e164: str) -> None:
    """Count one accepted-looking request against every key; refuse when any is over.

    Keys: the destination number (across all widgets), its prefix (appended digits land in
    one bucket), distinct numbers per client, the widget, and the daily call and minute
    budgets of the account and of the server.
    """
    config = current_app.config
    window = MovingWindowRateLimiter(limiter.storage)
    client = client_ip_key()
    prefix = e164[: 1 + int(config["PREFIX_DIGITS"])]
    minutes = max(1, round(widget.timeout / 60 + float(config["ESTIMATED_CALL_MINUTES"])))
    checks = [
        (_limit(widget, "per_number"), ("number", e164), 1, "number_rate_limited"),
        (_limit(widget, "per_prefix"), ("prefix", prefix), 1, "prefix_rate_limited"),
        (_limit(widget, "per_widget"), ("widget", widget.id), 1, "widget_rate_limited"),
        (
            config["ACCOUNT_DAILY_CALL_BUDGET"],
            ("account-calls", widget.account_id),
            1,
            "account_budget",
        ),
        (config["DAILY_CALL_BUDGET"], ("server-calls",), 1, "server_budget"),
        (config["DAILY_MINUTE_BUDGET"], ("server-minutes",), minutes, "minute_budget"),
    ]
    try:
        # A number this client has not asked for this hour counts as one more distinct one.
        if window.hit(parse("1 per hour"), NAMESPACE, "pair", client, e164):
            _hit(
                window,
                _limit(widget, "distinct_numbers_per_ip"),
                ("distinct", client),
                1,
                "distinct_numbers",
            )
        for limit, key, cost, reason in checks:
            _hit(window, limit, key, cost, reason)
    except TooManyRequests as refusal:
        if refusal.reason.endswith("budget"):
            log.warning(
                "budget reached (%s): widget=%s paused until the window frees up",
                refusal.reason,
                widget.id,
            )
        raise
    except Exception as exc:
        # Fail closed: without the limit store nothing may be dialled.
        log.error("rate-limit store unavailable: %s", exc.__class__.__name__)
        raise Unavailable(reason="limit_store_down") from None


def _hit(
    window: MovingWindowRateLimiter, limit: str, key: tuple[str, ...], cost: int, reason: str
) -> None:
    # hit() checks and counts in one atomic step, so concurrent requests cannot all slip in
    # under a limit the way a test-then-hit would let them.
    for item in parse_many(limit):
        if not window.hit(item, NAMESPACE, *key, cost=cost):
            raise TooManyRequests(reason=reason)
