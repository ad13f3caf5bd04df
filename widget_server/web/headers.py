"""Security headers for every response, and the form page's Content-Security-Policy."""

from __future__ import annotations

from flask import Flask, Response

from ..models import Widget

BASE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'"
)


def form_page_policy(widget: Widget) -> str:
    """Let only the widget's allowed origins (and this server) frame the form."""
    ancestors = " ".join(["'self'", *widget.allowed_origins])
    return f"{BASE_POLICY}; frame-ancestors {ancestors}"


def init_app(app: Flask) -> None:
    @app.after_request
    def add_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if response.mimetype == "text/html":
            response.headers.setdefault(
                "Content-Security-Policy", f"{BASE_POLICY}; frame-ancestors 'none'"
            )
        return response
