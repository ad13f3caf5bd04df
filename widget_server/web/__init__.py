"""HTTP only: blueprints, error rendering, security headers."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import api, embed, errors, form, headers, health, optout

    app.register_blueprint(embed.bp)
    app.register_blueprint(form.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(optout.bp)
    errors.init_app(app)
    headers.init_app(app)
