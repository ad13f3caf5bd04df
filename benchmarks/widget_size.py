"""Sizes the visitor pays for: widget.js and the form page, gzip, against their budgets.

.venv/bin/python benchmarks/widget_size.py
"""

from __future__ import annotations

import gzip
import re

from _app import bench_app

LOADER_BUDGET = 2048
FORM_PAGE_BUDGET = 12 * 1024


def gzipped(data: bytes) -> int:
    return len(gzip.compress(data, 9))


def main() -> None:
    app, widget_id, _ = bench_app()
    client = app.test_client()
    source = (app.static_folder and open(f"{app.static_folder}/widget.js", "rb").read()) or b""
    served = client.get("/widget.js", headers={"Accept-Encoding": "gzip"}).get_data()
    page = client.get(f"/w/{widget_id}?host=https://shop.example.com").get_data()
    # Its stylesheets and scripts: /static/ and the widget's own theme.css.
    assets = re.findall(rb'(?:href|src)="(/(?:static|w)/[^"]+\.(?:css|js))"', page)
    asset_bytes = [client.get(path.decode()).get_data() for path in assets]
    form_total = gzipped(page) + sum(gzipped(a) for a in asset_bytes)

    print(f"widget.js source {len(source)} B, gzip {gzipped(source)} B (unminified baseline)")
    print(
        f"widget.js served gzip {len(served)} B = {len(served) / LOADER_BUDGET:.2f} of the "
        f"{LOADER_BUDGET} B budget; {len(served) / gzipped(source):.2f} of the unminified size"
    )
    config = client.get(
        f"/v1/widgets/{widget_id}/config", headers={"Origin": "https://shop.example.com"}
    ).get_data()
    print(f"config JSON the loader fetches on each page view: gzip {gzipped(config)} B")
    print(
        f"form page + {len(assets)} assets gzip {form_total} B = "
        f"{form_total / FORM_PAGE_BUDGET:.2f} of the {FORM_PAGE_BUDGET} B budget"
    )


if __name__ == "__main__":
    main()
