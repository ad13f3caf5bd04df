"""The visitor's live view of a callback: a status event stream, and cancel (JSON or form)."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    make_response,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue

from ..calls import lifecycle
from ..calls.lifecycle import CancelResult
from ..calls.live_status import (
    ENDED_TEXT,
    TOO_LATE_TEXT,
    StreamSettings,
    database_reader,
    status_stream,
    visitor_view,
)
from ..core import clock, db
from ..core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unavailable,
    UnsupportedMediaType,
    error_response,
)
from ..core.metrics import refused
from ..core.models import Widget
from ..core.tokens import TokenRefused, tokens
from .api import cors, preflight
from .limits import client_ip_key
from .request_origin import is_own_origin, request_origin
from .stream_slots import stream_slots
from .wiring import callback_for_status_token, widget_or_404

bp = Blueprint("live", __name__)


@bp.route("/v1/callbacks/<token>/events", methods=["GET", "OPTIONS"])
def callback_events(token: str) -> ResponseReturnValue:
    callback = callback_for_status_token(token)
    widget = callback.widget
    if request.method == "OPTIONS":
        return preflight(widget, "GET")
    try:
        give_back = stream_slots().take(client_ip_key())
    except (TooManyRequests, Unavailable) as refusal:
        # With the widget's CORS headers, so a custom UI can read the answer and poll.
        refused(refusal.reason)
        return cors(error_response(refusal), widget, "GET")
    try:
        response = _stream(callback.id, widget)
    except BaseException:
        give_back()
        raise
    # The WSGI server closes the response when the stream ends or the client goes away.
    response.call_on_close(give_back)
    return response


def _stream(callback_id: str, widget: Widget) -> Response:
    config = current_app.config
    settings = StreamSettings(
        poll_seconds=float(config["LIVE_POLL_INTERVAL"]),
        max_seconds=float(config["LIVE_STREAM_SECONDS"]),
        retry_ms=int(config["LIVE_RETRY_MS"]),
    )
    read = database_reader(current_app.extensions["db_sessions"], callback_id)
    # The stream opens its own short sessions: release the request's connection now.
    db.session().close()
    last_event_id = request.headers.get("Last-Event-ID")
    stream = stream_with_context(status_stream(read, settings, last_event_id))
    response = Response(stream, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return cors(response, widget, "GET")


@bp.route("/v1/callbacks/<token>/cancel", methods=["POST", "OPTIONS"])
def cancel_json(token: str) -> ResponseReturnValue:
    callback = callback_for_status_token(token)
    widget = callback.widget
    if request.method == "OPTIONS":
        return preflight(widget, "POST")
    # A cross-site "simple" request cannot set this content type without a preflight.
    if not request.is_json:
        raise UnsupportedMediaType()
    now = clock.now()
    result, canceled = lifecycle.cancel(db.session(), callback.id, now)
    if canceled is None:  # deleted a moment ago
        raise NotFound("No such callback.")
    view = visitor_view(canceled, now)
    if result is CancelResult.TOO_LATE:
        message = ENDED_TEXT if view["terminal"] else TOO_LATE_TEXT
        raise Conflict(str(message), reason="cancel_too_late")
    response = jsonify(view)
    response.headers["Cache-Control"] = "no-store"
    return cors(response, widget, "POST")


@bp.post("/w/<widget_id>/status/<token>/cancel")
def cancel_form(widget_id: str, token: str) -> ResponseReturnValue:
    """Cancel from the status page without JavaScript, then show the status page again."""
    widget = widget_or_404(widget_id)
    # The button posts from this server's own page; anything else is a cross-site post.
    if not is_own_origin(request_origin()):
        raise Forbidden(reason="origin_not_allowed")
    callback = callback_for_status_token(token)
    if callback.widget_id != widget.id:
        raise NotFound("No such callback.")
    try:
        tokens().read_cancel_token(request.form.get("cancel_token"), callback.id)
    except TokenRefused as refusal:
        raise Forbidden("This page has expired. Please reload it.", reason=refusal.reason) from None
    page = url_for("form.status_page", widget_id=widget.id, token=token)
    result, _ = lifecycle.cancel(db.session(), callback.id, clock.now())
    if result is CancelResult.TOO_LATE:
        return make_response("", 303, {"Location": page + "?cancel=too_late"})
    return make_response("", 303, {"Location": page})


def cancel_button(widget: Widget, token: str, callback_id: str) -> dict[str, str]:
    """Return what the status page's no-JavaScript cancel button needs."""
    return {
        "action": url_for("live.cancel_form", widget_id=widget.id, token=token),
        "token": tokens().issue_cancel_token(callback_id),
    }


def live_page(widget: Widget, token: str, callback_id: str, view: dict[str, Any]) -> dict[str, Any]:
    """Return the status page's live parts: the cancel button, and what a cancel left to say."""
    context: dict[str, Any] = {}
    if view["reason"]:
        context["text"] = f"{view['text']} {view['reason']}"
    if view["cancelable"]:
        context["live_cancel"] = cancel_button(widget, token, callback_id)
    elif request.args.get("cancel") == "too_late" and not view["terminal"]:
        context["live_message"] = str(TOO_LATE_TEXT)
    return context
