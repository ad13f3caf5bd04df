"""The embed: the loader script site owners paste, and the demo landing page."""

from __future__ import annotations

import hashlib
import logging

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    make_response,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ..core import clock, db, ids, metrics
from ..core.errors import NotFound
from ..core.i18n import supported
from ..core.models import Account, Widget
from ..owners import display, installs
from ..owners.accounts import DEMO_ACCOUNT
from . import assets
from .request_origin import absolute_url, is_own_origin, request_origin
from .wiring import widget_or_404

bp = Blueprint("embed", __name__)
log = logging.getLogger(__name__)

# Short enough that a fix reaches every host page within minutes; ETags make revalidation cheap.
LOADER_MAX_AGE = 300


@bp.get("/widget.js")
def loader() -> ResponseReturnValue:
    # Built with the other assets (minified, compressed once), but under its stable URL.
    asset = assets.asset("widget.js")
    response = Response(mimetype="text/javascript")
    response.set_etag(asset.digest)
    response.cache_control.public = True
    response.cache_control.max_age = LOADER_MAX_AGE
    # Host pages that isolate themselves (COEP) may still load the script.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return assets.encoded(asset, response).make_conditional(request)


# The preview page loads the real loader and form from this server only.
PREVIEW_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; form-action 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


@bp.get("/w/<widget_id>/preview")
def preview(widget_id: str) -> ResponseReturnValue:
    """The widget on a neutral page of this server, for its owner to look at.

    Its origin is this server's, never one of the widget's allowed origins, so the form it
    opens is marked as a preview: it gets no form token and its button is disabled. The page
    itself may not be framed, so nobody can dress it up as their own site.
    """
    widget = widget_or_404(widget_id)
    locale = supported(request.args.get("locale")) or ""
    html = render_template(
        "preview.html",
        widget=widget,
        locale=locale,
        loader_url=url_for("embed.loader"),
    )
    response = make_response(html)
    response.headers["Content-Security-Policy"] = PREVIEW_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/w/<widget_id>/theme.css")
def theme_css(widget_id: str) -> ResponseReturnValue:
    """The widget's colour for its form page: a stylesheet, so the page's CSP stays strict."""
    widget = widget_or_404(widget_id)
    css = display.form_css(widget)
    response = Response(css, mimetype="text/css")
    if request.args.get("v") == _digest(css):
        # Named by its content (theme_css_url): a new colour is a new URL.
        response.headers["Cache-Control"] = assets.IMMUTABLE
    else:
        response.cache_control.public = True
        response.cache_control.max_age = LOADER_MAX_AGE
    return response


def theme_css_url(widget: Widget) -> str:
    """The widget's theme stylesheet under a URL that names its content ("" when empty)."""
    css = display.form_css(widget)
    if not css:
        return ""  # the form's own colours: no request for an empty stylesheet
    return url_for("embed.theme_css", widget_id=widget.id, v=_digest(css))


def _digest(css: str) -> str:
    return hashlib.sha256(css.encode()).hexdigest()[: assets.DIGEST_LENGTH]


REFUSED_REASON = "origin_not_allowed"


def origin_refusal(widget: Widget, origin: str | None) -> Response:
    """Tell the loader on a page whose origin the widget does not allow, readably.

    A 200 with CORS headers for that origin and no configuration at all: no token, no
    texts, only that it is not allowed there and a line for the site owner, so the loader
    logs that one line and the browser adds none of its own (no failed load, no CORS
    error). Everything that could create a callback from that origin (the form page, a
    form token, a submission) is still refused with a 403.
    """
    metrics.refused(REFUSED_REASON)
    hint = (
        f"widget-server: widget {widget.id} is not allowed on {origin or 'this page'}. "
        "Add this origin to the widget's allowed origins in the dashboard's widget "
        "settings, or to allowed_origins with the admin API."
    )
    response = jsonify(allowed=False, reason=REFUSED_REASON, owner_hint=hint)
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
    response.vary.add("Origin")
    response.headers["Cache-Control"] = "no-store"
    answered_loader(allowed=False)
    return response


def answered_loader(*, allowed: bool) -> None:
    """Say how this request's loader was answered, for note_loader_origin to record."""
    g.loader_allowed = allowed


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(theme_css_url=theme_css_url)


@bp.get("/")
def demo() -> ResponseReturnValue:
    if not current_app.config["DEMO_PAGE"]:
        raise NotFound()
    widget = (
        db.session()
        .scalars(
            select(Widget)
            .join(Account)
            .where(Account.name == DEMO_ACCOUNT)
            .order_by(Widget.created_at)
        )
        .first()
    )
    if widget is None:
        raise NotFound("No demo widget yet: run flask --app widget_server demo")
    return render_template("demo.html", widget=widget, loader_url=absolute_url("embed.loader"))


# The request every loader makes on every page view, naming the host page it runs on.
LOADER_CONFIG_ENDPOINT = "api.widget_config"


@bp.after_app_request
def note_loader_origin(response: Response) -> Response:
    """Note where a loader asked for its widget's config, allowed or refused.

    The owner's install page shows it. Noting it never changes the answer: a database that
    cannot take the write costs a log line, not the visitor's widget.
    """
    if request.endpoint != LOADER_CONFIG_ENDPOINT or request.method != "GET":
        return response
    # Read from the view's own answer, not from the status: both answers are a 200.
    answer: bool | None = g.pop("loader_allowed", None)
    if answer is None or response.status_code != 200:
        return response  # not answered as a loader (an unknown widget, a limit, an error)
    widget_id = (request.view_args or {}).get("widget_id", "")
    origin = request_origin()
    if not ids.plausible(widget_id) or origin is None or is_own_origin(origin):
        return response  # this server's own pages (the preview) are no installation
    session = db.session()
    try:
        session.rollback()  # the view's reads are done; start a short transaction of our own
        widget = session.get(Widget, widget_id)
        if widget is not None and widget.enabled:
            now = clock.now()
            if installs.record_load(session, widget.id, origin, answer, now):
                session.commit()
        session.rollback()
    except SQLAlchemyError as exc:
        session.rollback()
        log.warning("loader origin not noted widget=%s: %s", widget_id, exc.__class__.__name__)
    return response
