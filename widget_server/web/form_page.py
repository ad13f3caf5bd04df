"""The form page a visitor meets (in the widget's iframe or as a direct link)."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, gettext

from ..calls import answer_time
from ..calls.live_status import visitor_view
from ..calls.scheduling import visitor_text
from ..core import clock, db, metrics
from ..core.errors import Forbidden, NotFound, WidgetServerError, error_response, keep_headers
from ..core.models import Callback, Widget
from ..core.origins import normalise_origin
from ..core.statuses import Status
from ..core.tokens import tokens
from ..intake import human_checks, phone_policy, pressure
from ..intake.payloads import limit
from ..intake.submission import Accepted, Submission
from .forms import CallbackForm, build_form
from .headers import form_page_policy
from .live import live_page
from .request_origin import absolute_url, host_origin, is_own_origin, request_origin
from .wiring import callback_for_status_token, submit_callback, widget_or_404

bp = Blueprint("form", __name__)


def _render(
    widget: Widget,
    form: CallbackForm,
    host: str,
    status: int = 200,
    message: str | None = None,
    preview: bool = False,
    first_shown: float | None = None,
) -> Response:
    # Messages go to the embedding page only when it named itself and that name was admitted.
    post_to_host = normalise_origin(form.host.data) == host
    form.host.data = host
    # A preview gets no form token, so nothing it could send would ever be accepted.
    form.token.data = "" if preview else tokens().issue_form_token(widget.id, host, first_shown)
    html = render_template(
        "form.html",
        widget=widget,
        form=form,
        host=host,
        message=message,
        post_to_host=post_to_host,
        human_check=_human_check(widget),
        preview=preview,
        phone_example=phone_policy.example_number(form.region.data or widget.default_region),
        usual_wait=answer_time.usual_answer_seconds(db.session(), widget.id),
        # Outside business hours the loader may offer "schedule a callback" instead.
        schedule=request.args.get("schedule") == "1",
    )
    response = make_response(html, status)
    response.headers["Content-Security-Policy"] = form_page_policy(widget)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/w/<widget_id>")
def show(widget_id: str) -> ResponseReturnValue:
    widget = widget_or_404(widget_id)
    form = build_form(widget)
    form.page_url.data = request.args.get("page", "")[: limit("page_url")]
    form.host.data = request.args.get("host", "")
    preview = request.args.get("preview") == "1"
    return _render(widget, form, host_origin(widget, form.host.data), preview=preview)


@bp.post("/w/<widget_id>")
def submit(widget_id: str) -> ResponseReturnValue:
    # Most refusals below only read: they must not take (or wait for) the write lock.
    db.defer_write_lock()
    widget = widget_or_404(widget_id)
    as_json = request.accept_mimetypes.best == "application/json"
    # The form posts from this server's own page; anything else is a cross-site post.
    if not is_own_origin(request_origin()):
        raise Forbidden(reason="origin_not_allowed")
    form = build_form(widget, request.form)
    host = host_origin(widget, form.host.data)
    if not form.validate():
        error = WidgetServerError(fields={k: v[0] for k, v in form.errors.items()})
        return _refused(widget, form, host, error, as_json)
    submission = Submission(
        phone=form.phone.data,
        token=form.token.data,
        origin=host,
        region=form.region.data,
        name=(form.name.data or "").strip() or None,
        page_url=form.page_url.data or None,
        honeypot=form.website.data or "",
        consent=bool(form.consent.data),
        locale=widget.locale,
        human_check=_human_check_response(widget),
        scheduled_for=form.scheduled_for.data or None,
        department=_department(form),
    )
    try:
        accepted = submit_callback(widget, submission)
    except WidgetServerError as exc:
        return _refused(widget, form, host, exc, as_json)
    # The visitor's language follows them to the status page and the status they poll.
    status_page = url_for(
        "form.status_page", widget_id=widget.id, token=accepted.status_token, locale=_locale()
    )
    if as_json:
        return _accepted_json(widget, accepted, status_page), 202
    return make_response("", 303, {"Location": status_page})


def _department(form: CallbackForm) -> str | None:
    field = getattr(form, "department", None)  # removed on widgets without departments
    return str(field.data) if field is not None and field.data else None


def _human_check(widget: Widget) -> dict[str, object]:
    """What the page needs to show the widget's human check (a fresh ALTCHA challenge)."""
    return human_checks.public(pressure.human_check(widget), widget.id, current_app.config)


def _human_check_response(widget: Widget) -> str | None:
    # Each kind's browser side fills its own field (cf-turnstile-response, h-captcha-response,
    # altcha); fields of kinds the widget does not use are ignored.
    try:
        check = human_checks.enabled(pressure.human_check(widget))
    except human_checks.HumanCheckRefused:
        return None  # refused when checked
    return request.form.get(check.form_field) if check is not None else None


def _accepted_json(widget: Widget, accepted: Accepted, status_page: str) -> Response:
    return jsonify(
        id=accepted.callback_id,
        status=accepted.status,
        text=visitor_text(accepted.status, accepted.scheduled_for, widget),
        status_url=absolute_url(
            "api.callback_status", token=accepted.status_token, locale=_locale()
        ),
        status_page=status_page,
    )


def _refused(
    widget: Widget, form: CallbackForm, host: str, exc: WidgetServerError, as_json: bool
) -> ResponseReturnValue:
    # Counted here as well: these refusals are rendered, not raised to the error handler.
    metrics.refused(exc.reason)
    # The fresh token below continues this visit: the minimum fill time counts from when
    # the form was first shown, not from this refusal.
    first_shown = tokens().first_shown(form.token.data, widget.id, host)
    if as_json:
        # The visitor fixes the number and submits again: give the page a fresh token (and
        # a fresh ALTCHA challenge: a solution works once).
        extra: dict[str, object] = {
            "token": tokens().issue_form_token(widget.id, host, first_shown)
        }
        if pressure.human_check(widget):
            extra["human_check"] = _human_check(widget)
        return error_response(exc, extra=extra)
    shown_by_fields = False
    for name, message in exc.fields.items():
        field = getattr(form, name, None)
        if field is not None and name not in ("token", "host"):
            field.errors = [message]
            shown_by_fields = True
    response = _render(
        widget,
        form,
        host,
        status=exc.code or 400,
        message=None if shown_by_fields else exc.message,
        first_shown=first_shown,
    )
    keep_headers(exc, response)  # a limit's Retry-After, for one
    return response


@bp.get("/w/<widget_id>/status/<token>")
def status_page(widget_id: str, token: str) -> ResponseReturnValue:
    widget = widget_or_404(widget_id)
    callback = _callback_for(token, widget)
    view = visitor_view(callback, clock.now())
    context = {
        "status": Status(view["status"]),
        "text": view["text"],
        "terminal": view["terminal"],
        **live_page(widget, token, callback.id, view),
    }
    html = render_template(
        "status.html",
        widget=widget,
        number=view["number"],
        status_url=url_for("api.callback_status", token=token, locale=_locale()),
        host=host_origin(widget, request.args.get("host")),
        post_to_host=False,
        **context,
    )
    response = make_response(html)
    response.headers["Content-Security-Policy"] = form_page_policy(widget)
    response.headers["Cache-Control"] = "no-store"
    return response


def _callback_for(token: str, widget: Widget) -> Callback:
    callback = callback_for_status_token(token)
    if callback.widget_id != widget.id:
        raise NotFound(gettext("No such callback."))
    return callback


def _locale() -> str:
    return str(get_locale() or "en")
