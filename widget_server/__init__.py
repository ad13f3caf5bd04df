"""widget-server: a self-hosted backend for an embeddable "call me back" widget."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .core.settings import ROOT


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, storage, tokens, limits, jobs, routes and commands."""
    app = Flask(
        __name__,
        static_folder=str(ROOT / "static"),
        template_folder=str(ROOT / "templates"),
        instance_path=os.environ.get("WIDGET_SERVER_INSTANCE_PATH") or None,
        instance_relative_config=True,
    )
    from . import cli, jobs, web
    from .core import clock, db, i18n, logs, metrics, settings, tokens

    try:
        settings.load(app, test_config)
    except settings.ConfigError as exc:
        if test_config is None and cli.unconfigured.running_a_command():
            return cli.unconfigured.commands_only(app, exc)
        raise
    logs.configure(app)
    hops = app.config["PROXY_HOPS"]
    if hops:
        # Trust exactly as many X-Forwarded-* hops as there are proxies we run; with none,
        # a forged X-Forwarded-For never changes the client address.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
    i18n.init_app(app)
    db.init_app(app)
    tokens.init_app(app)
    clock.init_app(app)
    jobs.init_app(app)
    metrics.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    return app
