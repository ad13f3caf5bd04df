"""The admin API, shaped like Kazoo's clicktocall resource: {"data": ...} envelopes."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from ..core import db
from ..core.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    TooManyRequests,
    UnsupportedMediaType,
    WidgetServerError,
    keep_headers,
)
from ..core.models import ApiKey, Widget
from ..intake import idempotency, payloads
from ..intake.submission import Submission, submit
from ..owners import admin, audit, widgets
from . import json_body
from .actors import key_actor
from .limits import limiter
from .request_origin import absolute_url, allowed, is_own_origin, own_origin, request_origin
from .wiring import intake, submit_callback

log = logging.getLogger(__name__)

PREFIX = "/v1/accounts/"
bp = Blueprint("admin_api", __name__, url_prefix="/v1/accounts/<account_id>/clicktocall")


def admin_limit_per_ip() -> str:
    return str(current_app.config["ADMIN_LIMIT_PER_IP"])


# Every admin route, keyed or not, counts against one per-IP limit.
limiter.limit(admin_limit_per_ip)(bp)

INVALID_DATA = "invalid data"
KAZOO_BODY_TYPES = ("", "application/x-www-form-urlencoded", "text/plain")


class Unauthorized(WidgetServerError):
    code, error = 401, "unauthorized"
    message = "Send a valid API key in X-Auth-Token or Authorization: Bearer."


class KazooInvalid(WidgetServerError):
    """Validation errors, rendered as Kazoo's {"data": {field: {rule: {"message"}}}}."""

    code, error = 400, "invalid"
    message = INVALID_DATA


class KazooUnsupported(KazooInvalid):
    """Valid properties asking for a feature the widget's provider lacks: 422, by field."""

    code, error = 422, "unsupported"
    message = "The provider cannot do what these properties ask."


# Envelopes


def _request_id() -> str:
    if "request_id" not in g:
        g.request_id = request.headers.get("X-Request-ID", "")[:64].strip() or uuid.uuid4().hex
        if not g.request_id.isprintable():
            g.request_id = uuid.uuid4().hex
    return str(g.request_id)


def envelope(data: Any, status: int = 200) -> Response:
    revision = hashlib.sha256(json.dumps(data, default=str, sort_keys=True).encode()).hexdigest()
    response = jsonify(
        data=data,
        status="success",
        request_id=_request_id(),
        revision=revision[:32],
        auth_token="",
    )
    response.status_code = status
    response.headers["X-Request-ID"] = _request_id()
    response.headers["Cache-Control"] = "no-store"
    return response


def _rule(message: str) -> str:
    if message == "is required":
        return "required"
    if message in ("unknown property", "Unknown field."):
        return "not_allowed"
    if message.startswith(("must be a string", "must be true or false", "must be an object")):
        return "type"
    if "at most" in message:
        return "maxLength"
    if message == "has the wrong format":
        return "pattern"
    if message.startswith("needs the "):
        return "unsupported"
    return "invalid"


@bp.errorhandler(HTTPException)
def kazoo_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if isinstance(exc, WidgetServerError):
        message = INVALID_DATA if exc.fields and status == 400 else exc.message
        fields = exc.fields
        retry_after = exc.retry_after
    elif status == 429:
        # flask-limiter's refusal: the one message of every limit, never the limit itself.
        message, fields, retry_after = TooManyRequests.message, {}, None
    else:
        message, fields, retry_after = exc.description or "", {}, None
    response = jsonify(
        data={name: {_rule(reason): {"message": reason}} for name, reason in fields.items()},
        error=str(status),
        message=message,
        status="error",
        request_id=_request_id(),
    )
    response.status_code = status
    response.headers["X-Request-ID"] = _request_id()
    keep_headers(exc, response)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="widget-server"'
    return response


# Authentication


def presented_key() -> str | None:
    token = request.headers.get("X-Auth-Token", "").strip()
    if token:
        return token
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def _authenticated(account_id: str) -> ApiKey:
    presented = presented_key()
    key = admin.authenticate(db.session(), presented) if presented else None
    if key is None:
        raise Unauthorized()
    if key.account_id != account_id:
        # Another account's resources do not exist for this key.
        raise NotFound("No such account.")
    return key


def _widget(account_id: str, widget_id: str) -> Widget:
    widget = admin.find_widget(db.session(), account_id, widget_id)
    if widget is None:
        raise NotFound("No such clicktocall.")
    return widget


def _body() -> Any:
    if request.is_json:
        raw: bytes | str = request.get_data(cache=True)
    elif presented_key() and request.mimetype in KAZOO_BODY_TYPES:
        # Kazoo reads the body as JSON whatever its Content-Type, and its examples post with
        # `curl -d`, which labels the body form-encoded. A request carrying a key cannot come
        # from a cross-site form, so its body is read as JSON too; anonymous requests (public
        # connect) must say application/json, which a cross-site "simple" request cannot.
        raw = request.get_data(as_text=True)
    else:
        raise UnsupportedMediaType()
    try:
        return json_body.decode(raw)
    except ValueError:
        if request.is_json:
            return None  # refused as not an object
        raise UnsupportedMediaType() from None


def _data() -> dict[str, Any]:
    body = _body()
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    data = body.get("data")
    if not isinstance(data, dict):
        raise KazooInvalid(fields={"data": "is required"})
    return data


def _save(action: Any) -> Widget:
    try:
        result: Widget = action()
    except widgets.WidgetUnsupported as exc:
        db.session().rollback()
        raise KazooUnsupported(fields=exc.fields) from None
    except widgets.WidgetInvalid as exc:
        db.session().rollback()
        raise KazooInvalid(fields=exc.fields) from None
    return result


# The clicktocall resource


@bp.route("", methods=["GET"])
def list_clicktocalls(account_id: str) -> ResponseReturnValue:
    _authenticated(account_id)
    found = admin.account_widgets(db.session(), account_id)
    return envelope([admin.summary(widget) for widget in found])


@bp.route("", methods=["PUT"])
def create_clicktocall(account_id: str) -> ResponseReturnValue:
    actor = key_actor(_authenticated(account_id))
    values = _data()
    widget = _save(lambda: admin.create_widget(db.session(), account_id, values, actor))
    log.info("clicktocall created account=%s widget=%s", account_id, widget.id)
    return envelope(admin.document(widget))


@bp.route("/<widget_id>", methods=["GET"])
def get_clicktocall(account_id: str, widget_id: str) -> ResponseReturnValue:
    _authenticated(account_id)
    return envelope(admin.document(_widget(account_id, widget_id)))


@bp.route("/<widget_id>", methods=["POST", "PATCH"])
def update_clicktocall(account_id: str, widget_id: str) -> ResponseReturnValue:
    actor = key_actor(_authenticated(account_id))
    widget = _widget(account_id, widget_id)
    values = _data()
    values.pop("id", None)  # Kazoo clients send the document back with its id
    replace = request.method == "POST"
    _save(lambda: admin.update_widget(db.session(), widget, values, replace=replace, actor=actor))
    return envelope(admin.document(widget))


@bp.route("/<widget_id>", methods=["DELETE"])
def delete_clicktocall(account_id: str, widget_id: str) -> ResponseReturnValue:
    actor = key_actor(_authenticated(account_id))
    widget = _widget(account_id, widget_id)
    shown = admin.summary(widget)
    admin.delete_widget(db.session(), widget, actor)
    return envelope(shown)


# Connect: start a call


@bp.route("/<widget_id>/connect", methods=["GET", "POST"])
def connect(account_id: str, widget_id: str) -> ResponseReturnValue:
    if request.method == "GET":
        response = kazoo_error(
            _MethodNotAllowed('A GET never places a call: POST {"data": {"contact": ...}}.')
        )
        response.headers["Allow"] = "POST"
        return response
    keyed = presented_key() is not None or _public_widget_required(account_id, widget_id)
    api_key = _authenticated(account_id) if keyed else None
    widget = _widget(account_id, widget_id)
    if not widget.enabled:
        raise NotFound("No such clicktocall.")
    request_model = payloads.ConnectRequest if keyed else payloads.PublicConnectRequest
    try:
        payload = payloads.parse(request_model, _data())
        key = idempotency.key(request.headers.get(idempotency.HEADER))
    except BadRequest as exc:
        raise KazooInvalid(fields=exc.fields) from None
    try:
        if keyed:
            payload = payload.model_copy(update={"consent": True})  # the integrator vouches
            submission = payload.submission(
                origin=own_origin(), locale=widget.locale, idempotency_key=key
            )
            assert api_key is not None
            accepted = _submit_keyed(widget, api_key, submission)
        else:
            origin = request_origin() or own_origin()
            if not is_own_origin(origin) and not allowed(widget, origin):
                raise Forbidden(reason="origin_not_allowed")
            submission = payload.submission(
                origin=origin, locale=widget.locale, idempotency_key=key
            )
            accepted = submit_callback(widget, submission)
    except WidgetServerError as exc:
        if exc.fields:
            exc.fields = _contact_fields(exc.fields)
        raise
    status_url = absolute_url("api.callback_status", token=accepted.status_token)
    return envelope(
        {"id": accepted.callback_id, "status": accepted.status, "status_url": status_url}, 202
    )


class _MethodNotAllowed(WidgetServerError):
    code, error = 405, "method_not_allowed"


def _public_widget_required(account_id: str, widget_id: str) -> bool:
    """Return whether the widget needs a key (unknown widgets too, so nothing leaks)."""
    widget = admin.find_widget(db.session(), account_id, widget_id)
    return widget is None or widget.auth_required


def _contact_fields(fields: dict[str, str]) -> dict[str, str]:
    return {("contact" if name == "phone" else name): reason for name, reason in fields.items()}


def _submit_keyed(widget: Widget, api_key: ApiKey, submission: Submission) -> Any:
    # The API key stands in for the form token and the human check, and owns its
    # Idempotency-Keys: another key's same key is another request.
    keyed = intake(admin.KeyedTokens(current_app), None, idempotency_scope=f"api-key:{api_key.id}")
    return submit(db.session(), widget, submission, keyed)


# History


@bp.route("/<widget_id>/history", methods=["GET"])
def history(account_id: str, widget_id: str) -> ResponseReturnValue:
    key = _authenticated(account_id)
    widget = _widget(account_id, widget_id)
    requested = request.args.get("format")
    if requested not in (None, "json", "csv"):
        raise KazooInvalid(fields={"format": "must be json or csv"})
    wants_csv = requested == "csv" or (
        requested is None
        and request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"
    )
    args = request.args.to_dict()
    if wants_csv and "page_size" not in args:
        args["page_size"] = str(admin.MAX_PAGE_SIZE)
    try:
        query = admin.history_query(args)
    except admin.HistoryQueryInvalid as exc:
        raise KazooInvalid(fields=exc.fields) from None
    page = admin.history(db.session(), widget, query)
    if wants_csv:
        # An export of visitors' numbers is an owner action: the filter it used is recorded.
        audit.record(
            db.session(),
            key_actor(key),
            audit.CALLBACKS_EXPORTED,
            object_type="widget",
            object_id=widget.id,
            details=_export_details(args),
        )
        db.session().commit()
        return _csv(widget, page)
    response = envelope(page.items)
    body = response.get_json()
    body["page_size"] = len(page.items)
    if page.next_start_key:
        body["next_start_key"] = page.next_start_key
    response.set_data(json.dumps(body))
    return response


HISTORY_FILTERS = ("created_from", "created_to", "status", "page_size", "start_key")


def _export_details(args: dict[str, str]) -> dict[str, Any]:
    used = {name: args[name][:64] for name in HISTORY_FILTERS if args.get(name)}
    return {"format": "csv", "filter": used}


def _csv(widget: Widget, page: admin.HistoryPage) -> Response:
    response = Response(admin.history_csv(page.items), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="history-{widget.id}.csv"'
    response.headers["Cache-Control"] = "no-store"
    if page.next_start_key:
        response.headers["X-Next-Start-Key"] = page.next_start_key
    return response
