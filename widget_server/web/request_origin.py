"""Origins: this server's own (from configuration), who is asking (Origin header), which
origins a widget admits, and the hosts the server answers at all."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, request, url_for

from ..core.errors import BadRequest
from ..core.models import Widget
from ..core.origins import host_allowed, normalise_origin, own_origins
from ..core.settings import server_origin

log = logging.getLogger(__name__)

UNKNOWN_HOST_MESSAGE = "This server does not answer for that host name."


def own_origin() -> str:
    """Return this server's origin: PUBLIC_ORIGIN, never what a request's Host says."""
    return server_origin(current_app)


def is_own_origin(origin: str | None) -> bool:
    """Say whether `origin` is one of this server's own pages."""
    return origin is not None and origin in own_origins(own_origin())


def absolute_url(endpoint: str, **values: Any) -> str:
    """Return the absolute URL of `endpoint`, on this server's configured origin."""
    return own_origin() + url_for(endpoint, **values)


def request_origin() -> str | None:
    """Return the caller's origin from Origin, falling back to the Referer's origin."""
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return normalise_origin(origin)
    referer = request.headers.get("Referer")
    if referer:
        parts = urlsplit(referer)
        return normalise_origin(f"{parts.scheme}://{parts.netloc}")
    return None


def allowed(widget: Widget, origin: str | None) -> bool:
    return origin is not None and origin in widget.allowed_origins


def host_origin(widget: Widget, claimed: object) -> str:
    """Return the host page origin a form serves: an allowed one, or this server itself."""
    origin = normalise_origin(claimed)
    return origin if origin and allowed(widget, origin) else own_origin()


def init_app(app: Flask) -> None:
    # Before every other view hook: a request under a foreign host name (DNS rebinding
    # drives one through a visitor's browser) is answered 400, with no token minted.
    @app.before_request
    def refuse_unknown_hosts() -> None:
        if not host_allowed(request.host, request.scheme, current_app.config["ALLOWED_HOSTS"]):
            log.info("refused reason=host_not_allowed host=%r", request.host[:80])
            raise BadRequest(UNKNOWN_HOST_MESSAGE, reason="host_not_allowed")
