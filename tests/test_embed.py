"""The loader script: cacheable, small, one IIFE, configured from its own tag."""

from __future__ import annotations

import gzip
import re

import brotli
from flask.testing import FlaskClient

from tests.dashboard import sign_in
from tests.helpers import ORIGIN

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


def test_form_assets_are_fingerprinted_compressed_and_immutable(
    client: FlaskClient, widget_id: str
) -> None:
    page = client.get(f"/w/{widget_id}?host=https://shop.example.com").get_data(as_text=True)
    css = re.search(r'href="(/assets/form\.[0-9a-f]{16}\.css)"', page)
    js = re.search(r'src="(/assets/form\.[0-9a-f]{16}\.js)"', page)
    assert css and js
    plain = client.get(js.group(1), headers={"Accept-Encoding": "identity"})
    assert plain.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert plain.mimetype == "text/javascript" and "Content-Encoding" not in plain.headers
    zipped = client.get(js.group(1), headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(zipped.get_data()) == plain.get_data()
    squeezed = client.get(css.group(1), headers={"Accept-Encoding": "br, gzip"})
    assert squeezed.headers["Content-Encoding"] == "br" and squeezed.mimetype == "text/css"
    assert b"--accent" in brotli.decompress(squeezed.get_data())
    assert "Accept-Encoding" in squeezed.headers["Vary"]
    # Another digest is another content: never answered with this one.
    stale = js.group(1).replace(js.group(1).split(".")[1], "0" * 16)
    assert client.get(stale).status_code == 404
    assert client.get("/assets/nothing.0000000000000000.js").status_code == 404
    etag = plain.headers["ETag"]
    assert client.get(js.group(1), headers={"If-None-Match": etag}).status_code == 304


def test_dashboard_assets_are_fingerprinted_compressed_and_immutable(client: FlaskClient) -> None:
    sign_in(client)
    page = client.get("/dashboard/callbacks").get_data(as_text=True)
    assert "/static/dashboard/" not in page
    css = re.search(r'href="(/assets/dashboard/base\.[0-9a-f]{16}\.css)"', page)
    js = re.search(r'src="(/assets/dashboard/inbox\.[0-9a-f]{16}\.js)"', page)
    assert css and js, page[:1200]
    plain = client.get(js.group(1), headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and plain.mimetype == "text/javascript"
    assert plain.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    squeezed = client.get(css.group(1), headers={"Accept-Encoding": "br, gzip"})
    assert squeezed.headers["Content-Encoding"] == "br" and squeezed.mimetype == "text/css"
    identity = client.get(css.group(1), headers={"Accept-Encoding": "identity"}).get_data()
    assert brotli.decompress(squeezed.get_data()) == identity and b"{" in identity
    zipped = client.get(js.group(1), headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(zipped.get_data()) == plain.get_data()
    stale = css.group(1).replace(css.group(1).split(".")[1], "0" * 16)
    assert client.get(stale).status_code == 404
    # A name is looked up among the built assets, never in the file system.
    for name in ("../dashboard/base.0000000000000000.css", "dashboard/../form.0.css"):
        assert client.get(f"/assets/{name}").status_code == 404


def test_a_refused_origin_gets_a_readable_hint_for_the_site_owner(
    client: FlaskClient, widget_id: str
) -> None:
    elsewhere = "https://elsewhere.example.net"
    response = client.get(f"/v1/widgets/{widget_id}/config", headers={"Origin": elsewhere})
    # A 200 the loader can read (no failed load in the host page's console)...
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == elsewhere
    assert response.headers["Cache-Control"] == "no-store" and "Origin" in response.headers["Vary"]
    body = response.get_json()
    # ...that carries no configuration and no token: only the refusal and the hint.
    assert set(body) == {"allowed", "reason", "owner_hint"}
    assert body["allowed"] is False and body["reason"] == "origin_not_allowed"
    assert widget_id in body["owner_hint"] and elsewhere in body["owner_hint"]
    allowed = client.get(f"/v1/widgets/{widget_id}/config", headers={"Origin": ORIGIN})
    assert allowed.get_json()["allowed"] is True and allowed.get_json()["token"]


def test_a_refused_origin_still_cannot_create_a_callback(
    client: FlaskClient, widget_id: str
) -> None:
    elsewhere = "https://elsewhere.example.net"
    # The form page may not be framed there, and its token is not for that origin.
    page = client.get(f"/w/{widget_id}?host={elsewhere}")
    ancestors = page.headers["Content-Security-Policy"].split("frame-ancestors")[1]
    assert elsewhere not in ancestors.split(";")[0] and ORIGIN in ancestors
    assert f'value="{elsewhere}"' not in page.get_data(as_text=True)
    posted = client.post(
        f"/v1/widgets/{widget_id}/callbacks",
        json={"phone": "+12025550123", "token": "x"},
        headers={"Origin": elsewhere},
    )
    assert posted.status_code == 403 and posted.get_json()["error"] == "forbidden"
    assert "Access-Control-Allow-Origin" not in posted.headers
    preflight = client.options(
        f"/v1/widgets/{widget_id}/config",
        headers={"Origin": elsewhere, "Access-Control-Request-Method": "GET"},
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
