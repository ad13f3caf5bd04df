"""Abuse guard: client identity, per-IP limits (flask-limiter) and per-number limits (limits)."""

from __future__ import annotations

import ipaddress
import logging

from flask import Flask, current_app, request
from flask_limiter import Limiter
from limits import parse_many
from limits.strategies import MovingWindowRateLimiter

from .errors import TooManyRequests, Unavailable

log = logging.getLogger(__name__)


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


def hit_number_limits(e164: str) -> None:
    """Count one request for a destination across all widgets; refuse when over the limit."""
    storage = limiter.storage
    window = MovingWindowRateLimiter(storage)
    try:
        for item in parse_many(current_app.config["SUBMIT_LIMIT_PER_NUMBER"]):
            # hit() checks and counts in one atomic step, so concurrent requests cannot
            # all slip in under the limit.
            if not window.hit(item, "widget-server", "number", e164):
                raise TooManyRequests(reason="number_rate_limited")
    except TooManyRequests:
        raise
    except Exception as exc:
        # Fail closed: without the limit store nothing may be dialled.
        log.error("rate-limit store unavailable: %s", exc.__class__.__name__)
        raise Unavailable(reason="limit_store_down") from None
