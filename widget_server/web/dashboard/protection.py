"""CSRF for the dashboard only (Flask-WTF), and the cookies' flags.

The visitor's form and the JSON APIs carry their own checks (signed form tokens, API
keys), so CSRFProtect does not check the whole app: the dashboard blueprint asks for it.
"""

from __future__ import annotations

from flask import Flask, render_template
from flask_babel import gettext
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from ...core.errors import WidgetServerError
from .access import cookie_secure, load_member
from .blueprint import bp

csrf = CSRFProtect()


@bp.before_request
def check_csrf() -> None:
    csrf.protect()  # only POST, PUT, PATCH and DELETE are checked


bp.before_request(load_member)


@bp.errorhandler(CSRFError)
def refused_without_token(exc: CSRFError) -> tuple[str, int]:
    reason = (
        gettext("The form's security token is missing.")
        if "missing" in (exc.description or "")
        else gettext("The form's security token is not valid or has expired.")
    )
    message = gettext("Nothing was changed. Reload the page and send the form again.")
    return (
        render_template("dashboard/error.html", status=400, reason=reason, message=message),
        400,
    )


@bp.errorhandler(HTTPException)
def refused(exc: HTTPException) -> tuple[str, int]:
    """Answer a dashboard view's refusal (403, 404, ...) with the dashboard's own page."""
    status = exc.code or 500
    if isinstance(exc, WidgetServerError):
        message = exc.message
    elif status == 404:
        message = gettext("There is nothing here, or it belongs to another account.")
    else:
        message = None
    return render_template("dashboard/error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    # A token lives as long as the browser's session; a form left open overnight still works.
    app.config["WTF_CSRF_TIME_LIMIT"] = None
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    with app.app_context():
        app.config["SESSION_COOKIE_SECURE"] = cookie_secure()
    csrf.init_app(app)
