"""HTTP only: blueprints, error rendering, security headers."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import (
        admin_api,
        api,
        booking,
        embed,
        errors,
        events,
        form,
        headers,
        health,
        live,
        openapi,
        optout,
        owner_api,
    )

    app.register_blueprint(embed.bp)
    app.register_blueprint(form.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(live.bp)
    app.register_blueprint(events.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(optout.bp)
    app.register_blueprint(admin_api.bp)
    app.register_blueprint(owner_api.bp)
    app.register_blueprint(openapi.bp)
    errors.init_app(app)
    headers.init_app(app)
    booking.init_app(app)
