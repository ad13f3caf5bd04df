"""Sizes the visitor pays for: widget.js and the form page against their budgets, and the
requests and bytes on the wire for the closed widget and after opening it, on a first and
on a repeat visit (a browser's cache honoured as the response headers allow).

.venv/bin/python benchmarks/widget_size.py
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field

from _app import bench_app
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

LOADER_BUDGET = 2048
FORM_PAGE_BUDGET = 12 * 1024
HOST = "https://shop.example.com"
# What Chromium sends: it takes brotli and gzip.
BROWSER = {"Accept-Encoding": "gzip, deflate, br, zstd", "Origin": HOST}


def gzipped(data: bytes) -> int:
    return len(gzip.compress(data, 9))


def wire_size(response: TestResponse) -> int:
    """The status line, headers and (encoded) body, as an HTTP/1.1 response carries them."""
    head = f"HTTP/1.1 {response.status}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in response.headers.items()
    )
    return len(head.encode()) + 2 + len(response.get_data())


@dataclass
class Browser:
    """A browser cache that keeps what the headers allow: immutable and max-age responses."""

    client: FlaskClient
    cached: set[str] = field(default_factory=set)

    def fetch(self, path: str, log: list[tuple[str, int]]) -> TestResponse | None:
        if path in self.cached:
            return None  # fresh in the cache: no request at all
        response = self.client.get(path, headers=BROWSER)
        log.append((path, wire_size(response)))
        control = response.headers.get("Cache-Control", "")
        if "immutable" in control or ("max-age" in control and "no-store" not in control):
            self.cached.add(path)
        return response


def closed(browser: Browser, widget_id: str) -> list[tuple[str, int]]:
    log: list[tuple[str, int]] = []
    browser.fetch("/widget.js", log)
    browser.fetch(f"/v1/widgets/{widget_id}/config?locale=en", log)
    return log


def opened(browser: Browser, widget_id: str) -> list[tuple[str, int]]:
    log: list[tuple[str, int]] = []
    page = browser.fetch(f"/w/{widget_id}?host={HOST}&page={HOST}/&locale=en", log)
    assert page is not None  # never cached: it carries a one-time token
    for path in re.findall(r'(?:href|src)="(/[^"]+\.(?:css|js)(?:\?[^"]*)?)"', page.get_data(True)):
        browser.fetch(path.replace("&amp;", "&"), log)
    return log


def report(label: str, log: list[tuple[str, int]]) -> None:
    print(f"{label}: {len(log)} requests, {sum(size for _, size in log)} B on the wire")
    for path, size in log:
        print(f"    {size:6d} B  {path}")


def main() -> None:
    app, widget_id, _ = bench_app()
    client = app.test_client()
    source = (app.static_folder and open(f"{app.static_folder}/widget.js", "rb").read()) or b""
    served = client.get("/widget.js", headers={"Accept-Encoding": "gzip"}).get_data()
    squeezed = client.get("/widget.js", headers={"Accept-Encoding": "br"}).get_data()
    page = client.get(f"/w/{widget_id}?host={HOST}").get_data()
    assets = re.findall(rb'(?:href|src)="(/(?:assets|w)/[^"]+\.(?:css|js)(?:\?[^"]*)?)"', page)
    asset_bytes = [client.get(path.decode().replace("&amp;", "&")).get_data() for path in assets]
    form_total = gzipped(page) + sum(gzipped(a) for a in asset_bytes)

    print(f"widget.js source {len(source)} B, gzip {gzipped(source)} B (unminified baseline)")
    print(
        f"widget.js served gzip {len(served)} B = {len(served) / LOADER_BUDGET:.2f} of the "
        f"{LOADER_BUDGET} B budget; {len(served) / gzipped(source):.2f} of the unminified "
        f"size; brotli {len(squeezed)} B"
    )
    config = client.get(f"/v1/widgets/{widget_id}/config", headers={"Origin": HOST}).get_data()
    print(f"config JSON the loader fetches on each page view: gzip {gzipped(config)} B")
    refused = client.get(
        f"/v1/widgets/{widget_id}/config", headers={**BROWSER, "Origin": "https://else.example"}
    )
    print(f"config answer on an origin not allowed (no configuration): {wire_size(refused)} B")
    picker = [path for path in assets if b"/picker." in path]
    if picker:
        plain = client.get(picker[0].decode(), headers={"Accept-Encoding": "identity"})
        brotli_size = len(client.get(picker[0].decode(), headers=BROWSER).get_data())
        print(
            f"picker.js (only when the widget offers more than one country): "
            f"{len(plain.get_data())} B minified, gzip {gzipped(plain.get_data())} B, "
            f"brotli {brotli_size} B, one request on opening"
        )
    print(
        f"form page + {len(assets)} assets gzip {form_total} B = "
        f"{form_total / FORM_PAGE_BUDGET:.2f} of the {FORM_PAGE_BUDGET} B budget"
    )
    print()
    browser = Browser(client)
    report("first visit, closed widget", closed(browser, widget_id))
    report("first visit, after opening", opened(browser, widget_id))
    report("repeat visit (within 5 min), closed widget", closed(browser, widget_id))
    report("repeat visit, after opening", opened(browser, widget_id))


if __name__ == "__main__":
    main()
