"""The public JSON API for custom UIs: widget config, submissions, callback status."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale

from ..calls import routing, scheduling
from ..calls.live_status import iso_utc, visitor_view
from ..calls.routing import department_choices
from ..core import clock, db
from ..core.errors import BadRequest, Forbidden, UnsupportedMediaType
from ..core.models import Widget
from ..core.tokens import tokens
from ..intake import human_checks, idempotency, payloads, pressure
from ..intake.phone_policy import region_choices
from ..owners import display, texts
from . import embed, json_body
from .request_origin import absolute_url, allowed, is_own_origin, own_origin, request_origin
from .wiring import (
    callback_for_status_token,
    kept_widget_or_404,
    submit_callback,
    widget_or_404,
)

bp = Blueprint("api", __name__, url_prefix="/v1")

CORS_MAX_AGE = "600"


def cors(response: Response, widget: Widget | None, methods: str) -> Response:
    origin = request.headers.get("Origin")
    response.vary.add("Origin")
    if widget is not None and allowed(widget, origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = methods
        response.headers["Access-Control-Allow-Headers"] = f"Content-Type, {idempotency.HEADER}"
        response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
    return response


def preflight(widget: Widget | None, methods: str) -> Response:
    return cors(Response(status=204), widget, methods)


def public_config(widget: Widget) -> dict[str, Any]:
    return {
        "id": widget.id,
        "name": widget.name,
        "locale": widget.locale,
        "texts": widget.texts,
        "theme": widget.theme,
        "default_region": widget.default_region,
        "regions": [
            {"code": code, "label": label} for code, label in region_choices(widget.regions)
        ],
        "require_consent": widget.require_consent,
        "business_hours": widget.business_hours,
        "time_zone": widget.time_zone,
        # Display rules read exactly this shape: {"open", "closed", "next_open"}.
        "hours": scheduling.hours_now(widget, clock.now()).as_json(),
        # What the visitor may pick, named in their language, each with its own hours now.
        "departments": [
            {
                "key": key,
                "name": name,
                "hours": scheduling.hours_now(widget, clock.now(), key).as_json(),
            }
            for key, name in department_choices(widget, str(get_locale() or "en"))
        ],
        # The loader's button: theme, display rules and texts in the visitor's language.
        "embed": display.embed_config(
            widget,
            str(get_locale() or "en"),
            {key: texts.text(widget, key) for key in texts.DEFAULTS},
            request.args.get("color"),
        ),
    }


def _reading_origin(widget: Widget) -> str:
    """The origin of a public read: this server's own pages, or one the widget allows."""
    origin = request_origin() or own_origin()
    if not is_own_origin(origin) and not allowed(widget, origin):
        raise Forbidden(reason="origin_not_allowed")
    return origin


@bp.route("/widgets/<widget_id>/config", methods=["GET", "OPTIONS"])
def widget_config(widget_id: str) -> ResponseReturnValue:
    widget = widget_or_404(widget_id)
    if request.method == "OPTIONS":
        return preflight(widget, "GET")
    try:
        origin = _reading_origin(widget)
    except Forbidden:
        return embed.origin_refusal(widget, request_origin())
    response = jsonify(
        allowed=True,
        widget=public_config(widget),
        token=tokens().issue_form_token(widget.id, origin),
        # {} when the widget has no human check; otherwise its kind, the field to send
        # the answer in, and the site key or a fresh ALTCHA challenge.
        human_check=human_checks.public(
            pressure.human_check(widget), widget.id, current_app.config
        ),
    )
    response.headers["Cache-Control"] = "no-store"
    embed.answered_loader(allowed=True)
    return cors(response, widget, "GET")


@bp.route("/widgets/<widget_id>/slots", methods=["GET", "OPTIONS"])
def widget_slots(widget_id: str) -> ResponseReturnValue:
    widget = widget_or_404(widget_id)
    if request.method == "OPTIONS":
        return preflight(widget, "GET")
    _reading_origin(widget)
    count = request.args.get("count", str(scheduling.DEFAULT_SLOT_COUNT))
    if not count.isdigit() or not 1 <= int(count) <= scheduling.MAX_SLOT_COUNT:
        raise BadRequest(fields={"count": f"A whole number from 1 to {scheduling.MAX_SLOT_COUNT}."})
    department = request.args.get("department") or None
    if department is not None and routing.department_of(widget, department) is None:
        raise BadRequest(fields={"department": "Not one of the widget's departments."})
    now = clock.now()
    slots = scheduling.offered_slots(widget, now, int(count), department=department)
    response = jsonify(
        hours=scheduling.hours_now(widget, now, department).as_json(),
        time_zone=widget.time_zone,
        slots=[scheduling.slot_json(widget, slot) for slot in slots],
    )
    response.headers["Cache-Control"] = "no-store"
    return cors(response, widget, "GET")


@bp.route("/widgets/<widget_id>/callbacks", methods=["POST", "OPTIONS"])
def create_callback(widget_id: str) -> ResponseReturnValue:
    # Most refusals below only read: they must not take (or wait for) the write lock.
    db.defer_write_lock()
    # Read as this process keeps it: the refusals before the submission copy nothing.
    widget = kept_widget_or_404(widget_id)
    if request.method == "OPTIONS":
        return preflight(widget, "POST")
    origin = request_origin()
    if not allowed(widget, origin):
        raise Forbidden(reason="origin_not_allowed")
    # A cross-site "simple" request (form-encoded, text/plain) cannot set this content type
    # without a CORS preflight, which only allowed origins pass.
    if not request.is_json:
        raise UnsupportedMediaType()
    payload = payloads.parse(payloads.CallbackRequest, json_body.request_object())
    key = idempotency.key(request.headers.get(idempotency.HEADER))
    submission = payload.submission(origin=origin or "", locale=widget.locale, idempotency_key=key)
    accepted = submit_callback(widget, submission)
    answer: dict[str, Any] = {
        "id": accepted.callback_id,
        "status": accepted.status,
        "status_url": absolute_url("api.callback_status", token=accepted.status_token),
    }
    if accepted.scheduled_for:
        answer["scheduled_for"] = iso_utc(accepted.scheduled_for)
    response = jsonify(answer)
    response.status_code = 202
    if accepted.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return cors(response, widget, "POST")


@bp.route("/callbacks/<token>", methods=["GET", "OPTIONS"])
def callback_status(token: str) -> ResponseReturnValue:
    callback = callback_for_status_token(token)
    widget = callback.widget
    if request.method == "OPTIONS":
        return preflight(widget, "GET")
    response = jsonify(visitor_view(callback, clock.now()))
    response.headers["Cache-Control"] = "no-store"
    return cors(response, widget, "GET")
