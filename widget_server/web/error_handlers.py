"""Render errors: JSON for API routes, a friendly page elsewhere; never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, Response, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException, InternalServerError

from ..core.errors import Unavailable, WidgetServerError, error_response
from ..core.metrics import refused
from . import admin_api

log = logging.getLogger(__name__)

API_PREFIXES = ("/v1/", "/healthz", "/readyz", "/widget.js")


def wants_json() -> bool:
    if request.path.startswith(API_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def render_error(exc: HTTPException) -> Response | tuple[str, int]:
    if isinstance(exc, WidgetServerError) and exc.code != 404:
        refused(exc.reason)
    if request.path.startswith(admin_api.PREFIX):
        # Under the admin API even routing errors (unknown path, method) and outages keep
        # Kazoo's error envelope.
        return admin_api.kazoo_error(exc)
    if wants_json():
        return error_response(exc)
    message = exc.message if isinstance(exc, WidgetServerError) else (exc.description or "")
    return render_template("error.html", status=exc.code, message=message), exc.code or 500


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, render_error)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response | tuple[str, int]:
        if _is_store_outage(exc):
            log.error("store unavailable: %s", exc.__class__.__name__)
            return render_error(Unavailable())
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(InternalServerError(gettext("Something went wrong on our side.")))


def _is_store_outage(exc: Exception) -> bool:
    # Rate-limit and queue stores (Redis) and the database going away are outages, not bugs.
    from limits.errors import StorageError
    from redis.exceptions import RedisError
    from sqlalchemy.exc import OperationalError

    return isinstance(exc, StorageError | RedisError | OperationalError | ConnectionError)
