"""Origins: who is asking (Origin header), and which origins a widget admits."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Request, current_app, request

from ..core.models import Widget
from ..core.origins import normalise_origin


def own_origin(req: Request | None = None) -> str:
    """Return this server's public origin (configured, or as the request reached us)."""
    configured = current_app.config.get("PUBLIC_ORIGIN")
    if configured:
        return str(configured).rstrip("/")
    req = req or request
    return f"{req.scheme}://{req.host}"


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
