"""The embed: the loader script site owners paste, and the demo landing page."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

import rjsmin
from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from .. import db
from ..errors import NotFound
from ..models import Account, Widget

bp = Blueprint("embed", __name__)

DEMO_ACCOUNT = "Demo"
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
    return render_template(
        "demo.html", widget=widget, loader_url=url_for("embed.loader", _external=True)
    )
