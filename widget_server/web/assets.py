"""The visitor's static assets: minified and compressed once, served under fingerprinted URLs.

Each script and stylesheet of `static/` is read when the app starts, minified, compressed
with gzip and brotli, and named by a digest of its content (`form.3f2a….css`). A URL never
changes content, so browsers keep it for a year without asking again; a new release gets
new names from the pages (which are never cached) that link them. The loader `widget.js`
keeps its stable URL (`web/embed.py`) and is built the same way. The dashboard's own
scripts and stylesheets (`static/dashboard/`) are named by their path: `dashboard/base.css`.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import brotli
import rjsmin
from flask import Blueprint, Flask, Response, current_app, request
from flask.typing import ResponseReturnValue

from ..core.errors import NotFound

bp = Blueprint("assets", __name__)

IMMUTABLE = "public, max-age=31536000, immutable"
TYPES = {".js": "text/javascript", ".css": "text/css"}
DIGEST_LENGTH = 16


@dataclass(frozen=True)
class Asset:
    """One asset in each encoding a client may accept, and its content digest."""

    name: str
    mimetype: str
    body: bytes
    gzipped: bytes
    brotli: bytes
    digest: str

    @property
    def fingerprinted(self) -> str:
        stem, _, suffix = self.name.rpartition(".")
        return f"{stem}.{self.digest}.{suffix}"


def minify_css(source: str) -> str:
    """Drop comments and the whitespace around punctuation (no rule is rewritten)."""
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    source = re.sub(r"\s+", " ", source)
    return re.sub(r"\s*([{};,>])\s*", r"\1", source).replace(";}", "}").strip()


def build(name: str, source: str) -> Asset:
    """Minify and compress one asset; the digest names its minified content."""
    suffix = Path(name).suffix
    text = rjsmin.jsmin(source) if suffix == ".js" else minify_css(source)
    body = text.encode()
    return Asset(
        name=name,
        mimetype=TYPES[suffix],
        body=body,
        gzipped=gzip.compress(body, 9, mtime=0),
        brotli=brotli.compress(body, quality=11),
        digest=hashlib.sha256(body).hexdigest()[:DIGEST_LENGTH],
    )


def encoded(asset: Asset, response: Response) -> Response:
    """Put the smallest encoding the client accepts into `response`."""
    response.vary.add("Accept-Encoding")
    accepted = request.accept_encodings
    if accepted["br"]:
        response.set_data(asset.brotli)
        response.content_encoding = "br"
    elif accepted["gzip"]:
        response.set_data(asset.gzipped)
        response.content_encoding = "gzip"
    else:
        response.set_data(asset.body)
    return response


def table(app: Flask) -> dict[str, Asset]:
    """Every script and stylesheet of the static folder, by its path in it."""
    found = app.extensions.get("assets")
    if found is None:
        folder = Path(app.static_folder or "")
        found = {}
        for path in sorted(folder.rglob("*")):
            if path.suffix in TYPES and path.is_file():
                name = path.relative_to(folder).as_posix()
                found[name] = build(name, path.read_text(encoding="utf-8"))
        app.extensions["assets"] = found
    return found


def asset(name: str) -> Asset:
    return table(current_app)[name]


def asset_url(name: str) -> str:
    """The fingerprinted URL of a static asset, for templates."""
    return f"/assets/{asset(name).fingerprinted}"


@bp.get("/assets/<path:name>")
def serve(name: str) -> ResponseReturnValue:
    folder, slash, file = name.rpartition("/")
    stem, _, rest = file.partition(".")
    digest, _, suffix = rest.rpartition(".")
    found = table(current_app).get(f"{folder}{slash}{stem}.{suffix}")
    # An old digest is not answered with new content: that name would then mean two things.
    if found is None or found.digest != digest:
        raise NotFound()
    response = Response(mimetype=found.mimetype)
    response.headers["Cache-Control"] = IMMUTABLE
    response.set_etag(found.digest)
    return encoded(found, response).make_conditional(request)


def init_app(app: Flask) -> None:
    table(app)  # built once, at start, not on a visitor's request
    app.jinja_env.globals.update(asset_url=asset_url)
    app.register_blueprint(bp)
