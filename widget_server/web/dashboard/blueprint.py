"""The owners' dashboard blueprint; page modules register their views on it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
