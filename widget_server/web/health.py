"""Liveness (the process answers) and readiness (its stores answer)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from ..core import db
from ..jobs import jobs
from .limits import limiter

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


def _check(probe: object) -> str:
    try:
        result = probe()  # type: ignore[operator]
    except Exception as exc:
        return exc.__class__.__name__
    return "ok" if result is not False else "unreachable"


def _database() -> None:
    with db.engine().connect() as connection:
        connection.execute(text("SELECT 1"))


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    checks = {
        "database": _check(_database),
        "rate_limits": _check(lambda: limiter.storage.check()),
        "queue": _check(lambda: jobs().huey.pending_count() >= 0),
    }
    if current_app.config["QUEUE_BACKEND"] == "memory":
        checks["queue"] = "ok"
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503
