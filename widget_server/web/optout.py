"""The callee's "don't call me again": ask with the number, confirm with the texted code.

Each step has a page (works without JavaScript) and a JSON endpoint, with the same
answers: asking always says a code may be on its way, whatever the number's state.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, gettext

from ..core import clock, db
from ..core.errors import (
    Forbidden,
    Unavailable,
    Unprocessable,
    UnsupportedMediaType,
    WidgetServerError,
)
from ..core.i18n import N_
from ..core.outbox import after_commit
from ..intake import optout
from ..intake.guard import hit_optout_limits
from ..jobs import jobs
from ..notify import sms
from . import json_body
from .limits import limiter, submit_limit_per_ip
from .request_origin import absolute_url, is_own_origin, request_origin

bp = Blueprint("optout", __name__)

CODE_SENT = N_(
    "If this number can receive text messages, a code is on its way. Enter it to stop calls."
)
DONE = N_("This number will not be called by this service again.")
UNAVAILABLE = N_(
    "Opt-out by text message is not set up on this server. "
    "Please ask the site that called you to stop."
)


def _ask(phone: object) -> str:
    """Store a request and queue its code; return the request id."""
    # Before the number is even read: the answer must not depend on the number.
    if sms.sender(current_app.config) is None:
        raise Unavailable(gettext(UNAVAILABLE), reason="optout_unavailable")
    e164 = optout.parse_number(phone)
    hit_optout_limits(e164)
    session = db.session()
    pending = optout.request_code(
        session,
        e164,
        now=clock.now(),
        lifetime=int(current_app.config["OPTOUT_CODE_SECONDS"]),
        locale=str(get_locale() or "en"),
    )
    session.flush()
    request_id = pending.id
    after_commit(session, lambda: jobs().enqueue_optout_code(request_id))
    session.commit()
    return request_id


def _confirm(request_id: object, code: object) -> None:
    config = current_app.config
    confirmed = optout.confirm(
        db.session(),
        request_id,
        code,
        now=clock.now(),
        key=optout.code_key(config),
        max_attempts=int(config["OPTOUT_CODE_ATTEMPTS"]),
    )
    if not confirmed:
        raise Unprocessable(fields={"code": gettext(optout.WRONG_CODE)})


def _same_site() -> None:
    if not is_own_origin(request_origin()):
        raise Forbidden(reason="origin_not_allowed")


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise UnsupportedMediaType()
    return json_body.request_object()


# Pages -------------------------------------------------------------------------------


@bp.route("/optout", methods=["GET", "POST"])
@limiter.limit(submit_limit_per_ip, methods=["POST"])
def page() -> ResponseReturnValue:
    if request.method == "GET":  # no state change on GET
        return render_template("optout.html", step="phone")
    _same_site()
    try:
        request_id = _ask(request.form.get("phone"))
    except WidgetServerError as exc:
        error = exc.fields.get("phone") or exc.message
        return render_template("optout.html", step="phone", error=error), exc.code
    return render_template(
        "optout.html", step="code", request_id=request_id, message=gettext(CODE_SENT)
    )


@bp.post("/optout/confirm")
@limiter.limit(submit_limit_per_ip)
def confirm_page() -> ResponseReturnValue:
    _same_site()
    request_id = request.form.get("request", "")
    try:
        _confirm(request_id, request.form.get("code"))
    except WidgetServerError as exc:
        error = exc.fields.get("code") or exc.message
        page = render_template("optout.html", step="code", request_id=request_id, error=error)
        return page, exc.code
    return render_template("optout.html", step="done", message=gettext(DONE))


# JSON --------------------------------------------------------------------------------


@bp.post("/v1/optout")
@limiter.limit(submit_limit_per_ip)
def api() -> ResponseReturnValue:
    request_id = _ask(_json_body().get("phone"))
    answer = {
        "status": "code_sent",
        "request": request_id,
        "confirm_url": absolute_url("optout.confirm_api"),
        "expires_in": int(current_app.config["OPTOUT_CODE_SECONDS"]),
        "message": gettext(CODE_SENT),
    }
    return jsonify(answer), 202


@bp.post("/v1/optout/confirm")
@limiter.limit(submit_limit_per_ip)
def confirm_api() -> ResponseReturnValue:
    body = _json_body()
    _confirm(body.get("request"), body.get("code"))
    return jsonify({"status": "opted_out", "message": gettext(DONE)})
