"""The loader's beacon: "the button was drawn" and "the panel was opened", for the funnel.

It sets no cookie and reads none, keeps nothing about the visitor (their address only
keys the rate limit, in the limit store), and only adds to the analytics tally: it can
never create a callback or place a call, and it writes nothing to the database.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue

from ..core import clock, db
from ..core.errors import BadRequest, Forbidden
from ..core.origins import normalise_origin
from ..jobs import jobs
from ..owners.analytics import steps
from ..owners.analytics.steps import Step
from .limits import limiter
from .request_origin import allowed, request_origin
from .wiring import widget_or_404

bp = Blueprint("beacon", __name__, url_prefix="/v1")

EVENTS = {"shown": Step.SHOWN, "opened": Step.OPENED}
MAX_PAGE_URL = 2048


def _per_ip() -> str:
    return str(current_app.config["BEACON_LIMIT_PER_IP"])


def _per_widget() -> str:
    return str(current_app.config["BEACON_LIMIT_PER_WIDGET"])


def _widget_key() -> str:
    return f"beacon-widget:{(request.view_args or {}).get('widget_id', '')}"


@bp.post("/widgets/<widget_id>/beacon")
@limiter.limit(_per_ip)
@limiter.limit(_per_widget, key_func=_widget_key)
def beacon(widget_id: str) -> ResponseReturnValue:
    # It only reads: it must never take (or wait for) SQLite's write lock.
    db.defer_write_lock()
    widget = widget_or_404(widget_id)
    origin = request_origin()
    if not allowed(widget, origin):
        raise Forbidden(reason="origin_not_allowed")
    event = request.form.get("event", "")
    if event not in EVENTS:
        raise BadRequest(fields={"event": "One of: shown, opened."})
    page_url = request.form.get("page_url", "")
    if len(page_url) > MAX_PAGE_URL:
        raise BadRequest(fields={"page_url": f"At most {MAX_PAGE_URL} characters."})
    dimensions = steps.page_dimensions(page_url) if _same_origin(page_url, origin) else {}
    jobs().analytics_tally.add(widget.id, clock.now(), EVENTS[event], dimensions)
    return Response(status=204)


def _same_origin(page_url: str, origin: str | None) -> bool:
    """Whether the page named is on the page's own origin (else its path is not counted)."""
    try:
        parts = urlsplit(page_url)
    except ValueError:
        return False
    return origin is not None and normalise_origin(f"{parts.scheme}://{parts.netloc}") == origin
