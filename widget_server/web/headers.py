"""Security headers for every response, and the form page's Content-Security-Policy."""

from __future__ import annotations

from flask import Flask, Response

from ..core.models import Widget

BASE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'"
)


# Third-party origins a captcha needs (its script, its iframe, its styles and calls), from
# each provider's CSP documentation. Allowed on a form page only when its widget uses that
# captcha; otherwise the page makes no third-party request at all.
CAPTCHA_SOURCES = {
    "turnstile": {
        "script-src": "https://challenges.cloudflare.com",
        "frame-src": "https://challenges.cloudflare.com",
    },
    "hcaptcha": {
        "script-src": "https://hcaptcha.com https://*.hcaptcha.com",
        "frame-src": "https://hcaptcha.com https://*.hcaptcha.com",
        "style-src": "https://hcaptcha.com https://*.hcaptcha.com",
        "connect-src": "https://hcaptcha.com https://*.hcaptcha.com",
    },
}


def form_page_policy(widget: Widget) -> str:
    """Let only the widget's allowed origins (and this server) frame the form."""
    ancestors = " ".join(["'self'", *widget.allowed_origins])
    policy = BASE_POLICY
    extra = CAPTCHA_SOURCES.get(str((widget.human_check or {}).get("kind")), {})
    for directive, sources in extra.items():
        if f"{directive} " in policy:
            policy = policy.replace(f"{directive} 'self'", f"{directive} 'self' {sources}", 1)
        else:
            policy += f"; {directive} {sources}"
    return f"{policy}; frame-ancestors {ancestors}"


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
