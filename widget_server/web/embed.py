"""The embed: the loader script site owners paste, and the demo landing page."""

from __future__ import annotations

import gzip
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import rjsmin
from flask import (
    Blueprint,
    Response,
    current_app,
    make_response,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ..core import clock, db, ids
from ..core.errors import NotFound
from ..core.i18n import supported
from ..core.models import Account, Widget
from ..owners import display, installs
from ..owners.accounts import DEMO_ACCOUNT
from .request_origin import absolute_url, allowed, is_own_origin, request_origin
from .wiring import widget_or_404

bp = Blueprint("embed", __name__)
log = logging.getLogger(__name__)

# Short enough that a fix reaches every host page within minutes; ETags make revalidation cheap.
LOADER_MAX_AGE = 300


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    etag: str


def build_asset(path: Path) -> Asset:
    """Minify and pre-compress a script once, so each request only copies bytes."""
    body = rjsmin.jsmin(path.read_text(encoding="utf-8")).encode()
    return Asset(body, gzip.compress(body, 9, mtime=0), hashlib.sha256(body).hexdigest()[:32])


def loader_asset() -> Asset:
    asset = current_app.extensions.get("loader_asset")
    if asset is None:
        asset = build_asset(Path(current_app.static_folder or "") / "widget.js")
        current_app.extensions["loader_asset"] = asset
    return asset


@bp.get("/widget.js")
def loader() -> ResponseReturnValue:
    asset = loader_asset()
    response = Response(mimetype="text/javascript")
    response.set_etag(asset.etag)
    response.cache_control.public = True
    response.cache_control.max_age = LOADER_MAX_AGE
    response.vary.add("Accept-Encoding")
    # Host pages that isolate themselves (COEP) may still load the script.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    if "gzip" in request.accept_encodings:
        response.set_data(asset.gzipped)
        response.content_encoding = "gzip"
    else:
        response.set_data(asset.body)
    return response.make_conditional(request)


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
    response = Response(display.form_css(widget), mimetype="text/css")
    response.cache_control.public = True
    response.cache_control.max_age = LOADER_MAX_AGE
    return response


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
    if response.status_code not in (200, 403):
        return response
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
            if installs.record_load(session, widget.id, origin, allowed(widget, origin), now):
                session.commit()
        session.rollback()
    except SQLAlchemyError as exc:
        session.rollback()
        log.warning("loader origin not noted widget=%s: %s", widget_id, exc.__class__.__name__)
    return response
