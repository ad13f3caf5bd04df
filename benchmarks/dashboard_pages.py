"""Server time of the callbacks inbox and of a callback's page with 100,000 callbacks.

Fills a migrated SQLite database (and a fresh PostgreSQL one when
WIDGET_SERVER_TEST_POSTGRES is set) with one account's callbacks on three widgets, spread
over 90 days, two timeline events each, then times the pages through the app in process
(signed in as the owner): the first page, pages deep in the list (keyset cursors), the list
filtered by status, widget and a number fragment, and callbacks' detail pages.

    .venv/bin/python benchmarks/dashboard_pages.py [--rows 100000] [--requests 200]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from _pages import time_pages
from flask import Flask
from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import postgres  # noqa: E402
from tests.dashboard import sign_in  # noqa: E402
from tests.helpers import base_config, migrated_copy  # noqa: E402
from widget_server import create_app  # noqa: E402
from widget_server.core import db  # noqa: E402
from widget_server.core.models import Callback, CallEvent, Widget, new_id, utcnow  # noqa: E402
from widget_server.owners.people import Role  # noqa: E402

GOAL_MS = 100.0
STATUSES = ("completed", "no_answer", "busy", "failed", "canceled", "rejected")
BATCH = 5000


def fill(app: Flask, account_id: str, rows: int) -> list[str]:
    """Store `rows` callbacks in three widgets of the account; return their ids."""
    now = utcnow()
    with app.app_context():
        session = db.session()
        widgets = []
        for name in ("Sales", "Support", "Billing"):
            widget = Widget(account_id=account_id, name=name, extension="1001")
            session.add(widget)
            widgets.append(widget)
        session.commit()
        widget_ids = [widget.id for widget in widgets]
        ids: list[str] = []
        for start in range(0, rows, BATCH):
            callbacks: list[dict[str, Any]] = []
            events: list[dict[str, Any]] = []
            for i in range(start, min(rows, start + BATCH)):
                created = now - timedelta(seconds=(i * 77) % (90 * 86400))
                callback_id = new_id()
                ids.append(callback_id)
                status = STATUSES[i % len(STATUSES)]
                callbacks.append(
                    {
                        "id": callback_id,
                        "widget_id": widget_ids[i % 3],
                        "visitor_number": f"+1201{i % 9_000_000:07d}",
                        "visitor_name": f"Visitor {i}",
                        "status": status,
                        "attempts": 1,
                        "provider_details": {"call_id": f"sim-{i}"},
                        "page_url": "https://shop.example.com/pricing?utm_source=news",
                        "extra": {},
                        "utm": {"utm_source": "news"},
                        "created_at": created,
                        "updated_at": created + timedelta(minutes=2),
                        "finished_at": created + timedelta(minutes=2),
                    }
                )
                for step, event_status in enumerate(("dialing", status)):
                    events.append(
                        {
                            "callback_id": callback_id,
                            "status": event_status,
                            "source": "simulator",
                            "details": {},
                            "applied": True,
                            "occurred_at": created + timedelta(minutes=step * 2),
                        }
                    )
            session.execute(insert(Callback), callbacks)
            session.execute(insert(CallEvent), events)
            session.commit()
        if session.get_bind().dialect.name == "sqlite":
            session.execute(text("ANALYZE"))
        else:
            session.commit()
            with (
                session.get_bind()
                .connect()
                .execution_options(isolation_level="AUTOCOMMIT") as connection
            ):
                connection.execute(text("ANALYZE"))
        session.commit()
        return ids


def run(engine: str, database_url: str | None, rows: int, requests: int) -> bool:
    folder = Path(tempfile.mkdtemp(prefix="widget-server-bench-"))
    overrides: dict[str, Any] = {}
    if database_url:
        overrides["DATABASE_URL"] = database_url
    else:
        migrated_copy(folder)
    app = create_app(base_config(folder, **overrides))
    client = app.test_client()
    member = sign_in(client, Role.OWNER)
    started = time.monotonic()
    ids = fill(app, member.account_id, rows)
    print(f"{engine}: {rows:,} callbacks stored in {time.monotonic() - started:.1f} s")
    pages = client.get("/dashboard/callbacks").get_data(as_text=True)
    widget_id = re.findall(r'<option value="([0-9a-f]{32})"', pages)[0]
    # Cursors deep in the list: follow "older" links from the first page.
    cursors: list[str] = []
    path = "/dashboard/callbacks"
    for _ in range(40):
        body = client.get(path).get_data(as_text=True)
        found = re.search(r'href="(/dashboard/callbacks\?after=[^"]+)"', body)
        if not found:
            break
        path = found.group(1).replace("&amp;", "&")
        cursors.append(path)
    picks = random.Random(7)
    cases = {
        "inbox: first page": lambda: "/dashboard/callbacks",
        "inbox: later pages": lambda: picks.choice(cursors),
        "inbox: status filter": lambda: "/dashboard/callbacks?status=busy",
        "inbox: widget filter": lambda: f"/dashboard/callbacks?widget={widget_id}",
        "inbox: number fragment": lambda: "/dashboard/callbacks?number=5550",
        "inbox: whole number": lambda: "/dashboard/callbacks?number=%2B12010012345",
        "detail page": lambda: f"/dashboard/callbacks/{picks.choice(ids)}",
    }
    met = time_pages(engine, client, cases, requests, GOAL_MS, warm_ups=5)
    app.extensions["db_engine"].dispose()
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    met = run("sqlite", None, args.rows, args.requests)
    if postgres.enabled():
        url = postgres.database_for_test()
        try:
            met = run("postgresql", url, args.rows, args.requests) and met
        finally:
            postgres.drop(url)
    print("all goals met" if met else "some goals MISSED")


if __name__ == "__main__":
    main()
