"""HTTP only: blueprints, error rendering, security headers."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from ..owners.display import color_scheme
    from ..owners.texts import link, text
    from . import (
        admin_api,
        api,
        assets,
        beacon,
        booking,
        dashboard,
        embed,
        error_handlers,
        form_page,
        headers,
        health,
        limits,
        live,
        openapi,
        optout,
        owner_api,
        provider_hooks,
        refusal_counts,
        request_origin,
        session_cookie,
        stream_slots,
    )

    # Templates name a widget's texts; the lookup is the owners' (texts speak per widget).
    app.jinja_env.globals.update(widget_text=text, widget_link=link, color_scheme=color_scheme)

    app.session_interface = session_cookie.SessionCookie()
    request_origin.init_app(app)  # first of the hooks below: foreign hosts get nothing
    limits.init_app(app)
    stream_slots.init_app(app)
    assets.init_app(app)
    embed.init_app(app)
    app.register_blueprint(embed.bp)
    app.register_blueprint(form_page.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(beacon.bp)
    app.register_blueprint(live.bp)
    app.register_blueprint(provider_hooks.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(optout.bp)
    app.register_blueprint(admin_api.bp)
    app.register_blueprint(owner_api.bp)
    app.register_blueprint(openapi.bp)
    dashboard.init_app(app)
    error_handlers.init_app(app)
    headers.init_app(app)
    refusal_counts.init_app(app)
    booking.init_app(app)
