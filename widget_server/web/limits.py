"""flask-limiter's per-address limits, and the client key every limit of a request uses."""

from __future__ import annotations

import ipaddress
import time

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter

from ..intake import limit_store  # registers memory-incremental://
from ..intake.guard import STORAGE


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
    # Its headers read the window back from the store after every hit (a second Redis
    # round trip per submission) only to tell a client what it has left; a refused client
    # is told when to come back, below, and that is the answer a client acts on.
    headers_enabled=False,
    key_prefix="widget-server",
)


# The routes a visitor's browser submits to (the form page and the JSON API): their one
# limit is the guard's (intake.submission counts SUBMIT_LIMIT_PER_IP), so flask-limiter has
# nothing of theirs to check.
BROWSER_SUBMISSIONS = frozenset({"form_page.submit", "api.create_callback"})


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", limit_store.URI)
    limiter.init_app(app)
    _not_before_browser_submissions(app)
    # The submission's own limits (per number, prefix, widget, budgets) count beside these.
    app.extensions[STORAGE] = limiter.storage
    app.after_request(refusal_headers)


def _not_before_browser_submissions(app: Flask) -> None:
    """Run flask-limiter's check before every view but those of BROWSER_SUBMISSIONS.

    It resolves a request's limits before it can tell it has none (a request filter is
    asked only after that): a bot's refused submission would pay more for it than for the
    refusal itself.
    """
    hooks = app.before_request_funcs.setdefault(None, [])
    index = hooks.index(limiter._check_request_limit)
    check = hooks[index]

    def check_request_limit() -> None:
        if request.endpoint not in BROWSER_SUBMISSIONS:
            check()

    hooks[index] = check_request_limit


def refusal_headers(response: Response) -> Response:
    """Tell a client refused by a per-address limit when to come back (Retry-After)."""
    refused = limiter.current_limit
    if refused is None or not refused.breached:
        return response
    reset_at = refused.reset_at  # the one read of the window, for refusals only
    response.headers["X-RateLimit-Limit"] = str(refused.limit.amount)
    response.headers["X-RateLimit-Remaining"] = str(refused.remaining)
    response.headers["X-RateLimit-Reset"] = str(reset_at)
    earlier = response.headers.get("Retry-After", "")
    wait = max(1, int(reset_at - time.time()), int(earlier) if earlier.isdigit() else 0)
    response.headers["Retry-After"] = str(wait)
    return response


def submit_limit_per_ip() -> str:
    return str(current_app.config["SUBMIT_LIMIT_PER_IP"])

