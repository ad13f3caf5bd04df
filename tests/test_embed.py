"""The loader script: cacheable, small, one IIFE, configured from its own tag."""

from __future__ import annotations

import gzip

import brotli
from flask.testing import FlaskClient

BUDGET = 2048


def test_loader_is_cacheable_with_etag_and_304(client: FlaskClient) -> None:
    first = client.get("/widget.js")
    assert first.status_code == 200
    assert first.mimetype == "text/javascript"
    assert first.headers["Cache-Control"] == "public, max-age=300"
    etag = first.headers["ETag"]
    again = client.get("/widget.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""


def test_loader_is_served_gzipped_within_budget(client: FlaskClient) -> None:
    plain = client.get("/widget.js").get_data()
    zipped = client.get("/widget.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.get_data()) == plain
    assert len(zipped.get_data()) <= BUDGET
    # Brotli where the client takes it: smaller still.
    squeezed = client.get("/widget.js", headers={"Accept-Encoding": "gzip, br"})
    assert squeezed.headers["Content-Encoding"] == "br"
    assert brotli.decompress(squeezed.get_data()) == plain
    assert len(squeezed.get_data()) < len(zipped.get_data())


def test_loader_is_one_iife_reading_its_own_tag(client: FlaskClient) -> None:
    source = client.get("/widget.js").get_data(as_text=True)
    assert source.startswith("(function(") and source.rstrip().endswith("})(window,document);")
    assert "document.currentScript" in source or "d.currentScript" in source
    assert "new URL(s.src).origin" in source  # the API origin comes from the script's own URL
    assert "attachShadow" in source and "adoptedStyleSheets" in source
    # Messages are only read from our own iframe, origin and namespace; never posted to '*'.
    assert "e.origin!==api" in source and "m.ns!==NS" in source
    assert "'*'" not in source and '"*"' not in source
    assert "onmessage" not in source


def test_loader_allows_cross_origin_embedding(client: FlaskClient) -> None:
    response = client.get("/widget.js")
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
