"""Server time of the analytics page with 1,000,000 callbacks and 10,000,000 beacons.

Fills a migrated SQLite database (and a fresh PostgreSQL one when
WIDGET_SERVER_TEST_POSTGRES is set) with one account's 1,000,000 callbacks on three
widgets over a year, and the daily rows (and their monthly sums) their steps and
10,000,000 beacon events make (raw beacons are not stored: they are only counted, so the
rows are what they would leave), then times the page through the app in process, signed
in as the owner: the account's last 30 days (the default), 90 days, 365 days, one
widget, and a CSV export.

    .venv/bin/python benchmarks/analytics_page.py [--callbacks 1000000] [--beacons 10000000]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from collections import Counter
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
from widget_server.core.models import (  # noqa: E402
    AnalyticsDay,
    AnalyticsMonth,
    Callback,
    Widget,
    new_id,
    utcnow,
)
from widget_server.owners.analytics import steps  # noqa: E402
from widget_server.owners.analytics.rollup import month_of  # noqa: E402

GOAL_MS = 200.0
DAYS = 365
BATCH = 10_000
PATHS = [f"/landing/{n}" for n in range(20)]
SOURCES = [f"source-{n}" for n in range(10)]
MEDIUMS = ["email", "cpc", "social", "display", "referral"]
CAMPAIGNS = [f"campaign-{n}" for n in range(15)]
REASONS = [
    "invalid",
    "region_not_allowed",
    "token_expired",
    "honeypot",
    "throttle",
    "number_rate_limited",
    "outside_hours",
    "origin_not_allowed",
]
ENDINGS = ["no_answer", "busy", "failed", "canceled", "visitor_voicemail"]


def fill_callbacks(app: Flask, widget_ids: list[str], count: int) -> None:
    now = utcnow()
    with app.app_context():
        session = db.session()
        for start in range(0, count, BATCH):
            rows: list[dict[str, Any]] = []
            for i in range(start, min(count, start + BATCH)):
                created = now - timedelta(seconds=(i * 31) % (DAYS * 86400))
                rows.append(
                    {
                        "id": new_id(),
                        "widget_id": widget_ids[i % 3],
                        "visitor_number": f"+1201{i % 9_000_000:07d}",
                        "status": "completed" if i % 3 else "no_answer",
                        "page_url": f"https://shop.example.com{PATHS[i % 20]}",
                        "provider_details": {},
                        "extra": {},
                        "utm": {"utm_source": SOURCES[i % 10]},
                        "created_at": created,
                        "updated_at": created,
                    }
                )
            session.execute(insert(Callback), rows)
            session.commit()


def _spread(total: int, values: list[str], pick: random.Random) -> Counter[str]:
    weights = [pick.random() + 0.1 for _ in values]
    scale = total / sum(weights)
    return Counter(
        {value: int(weight * scale) for value, weight in zip(values, weights, strict=True)}
    )


def day_rows(
    widget_id: str, day: Any, beacons: int, accepted: int, pick: random.Random
) -> list[dict[str, Any]]:
    """The daily rows one widget's day of beacons and callbacks leaves."""
    counts: Counter[tuple[str, str, str]] = Counter()
    shown, opened = beacons * 3 // 4, beacons // 4
    connected = accepted * 2 // 3
    completed = connected * 9 // 10
    for step, total in (
        ("shown", shown),
        ("opened", opened),
        ("accepted", accepted),
        ("connected", connected),
        ("completed", completed),
    ):
        counts[(step, "", "")] += total
        for dimension, values in (
            (steps.PATH, PATHS),
            ("utm_source", SOURCES),
            ("utm_medium", MEDIUMS),
            ("utm_campaign", CAMPAIGNS),
        ):
            for value, count in _spread(total, values, pick).items():
                counts[(step, dimension, value)] += count
    refused = accepted // 5
    counts[("refused", "", "")] += refused
    for value, count in _spread(refused, REASONS, pick).items():
        counts[("refused", steps.REASON, value)] += count
    counts[("answered", "", "")] += connected
    counts[("failed", "", "")] += accepted - completed
    for value, count in _spread(accepted - completed, ENDINGS, pick).items():
        counts[("failed", steps.REASON, value)] += count
    for value, count in _spread(connected, [str(s) for s in range(3, 90)], pick).items():
        counts[("connected", steps.SECONDS, value)] += count
    hours = [f"{day.weekday()}-{hour}" for hour in range(24)]
    for value, count in _spread(connected, hours, pick).items():
        counts[("answered", steps.HOUR, value)] += count
    for value, count in _spread(accepted - connected, hours, pick).items():
        counts[("missed", steps.HOUR, value)] += count
    return [
        {
            "widget_id": widget_id,
            "day": day,
            "step": step,
            "dimension": dimension,
            "value": value,
            "count": count,
        }
        for (step, dimension, value), count in counts.items()
        if count
    ]


def fill_rollups(app: Flask, widget_ids: list[str], callbacks: int, beacons: int) -> int:
    pick = random.Random(7)
    today = steps.local_day(utcnow(), "UTC")
    per_day_beacons = beacons // (DAYS * len(widget_ids))
    per_day_accepted = callbacks // (DAYS * len(widget_ids))
    stored = 0
    # The monthly sums the rollup keeps beside the days: their rows summed per month.
    months: Counter[tuple[str, Any, str, str, str]] = Counter()
    with app.app_context():
        session = db.session()
        for offset in range(DAYS):
            rows: list[dict[str, Any]] = []
            for widget_id in widget_ids:
                day = today - timedelta(days=offset)
                rows += day_rows(widget_id, day, per_day_beacons, per_day_accepted, pick)
            session.execute(insert(AnalyticsDay), rows)
            stored += len(rows)
            for row in rows:
                key = (row["widget_id"], month_of(row["day"]), row["step"], row["dimension"])
                months[(*key, row["value"])] += row["count"]
        names = ("widget_id", "month", "step", "dimension", "value", "count")
        month_rows = [dict(zip(names, (*key, count), strict=True)) for key, count in months.items()]
        for start in range(0, len(month_rows), BATCH):
            session.execute(insert(AnalyticsMonth), month_rows[start : start + BATCH])
        session.commit()
        if session.get_bind().dialect.name == "sqlite":
            session.execute(text("ANALYZE"))
            session.commit()
        else:
            with (
                session.get_bind()
                .connect()
                .execution_options(isolation_level="AUTOCOMMIT") as connection
            ):
                connection.execute(text("ANALYZE"))
    return stored


def run(engine: str, database_url: str | None, callbacks: int, beacons: int, requests: int) -> bool:
    folder = Path(tempfile.mkdtemp(prefix="widget-server-bench-"))
    overrides: dict[str, Any] = {}
    if database_url:
        overrides["DATABASE_URL"] = database_url
    else:
        migrated_copy(folder)
    app = create_app(base_config(folder, **overrides))
    client = app.test_client()
    member = sign_in(client)
    with app.app_context():
        session = db.session()
        widgets = [
            Widget(account_id=member.account_id, name=name, extension="1001")
            for name in ("Sales", "Support", "Billing")
        ]
        session.add_all(widgets)
        session.commit()
        widget_ids = [widget.id for widget in widgets]
    started = time.monotonic()
    fill_callbacks(app, widget_ids, callbacks)
    print(f"{engine}: {callbacks:,} callbacks stored in {time.monotonic() - started:.1f} s")
    started = time.monotonic()
    rows = fill_rollups(app, widget_ids, callbacks, beacons)
    print(
        f"{engine}: {rows:,} daily rows for {beacons:,} beacons and the callbacks' steps "
        f"stored in {time.monotonic() - started:.1f} s"
    )
    page = client.get("/dashboard/analytics").get_data(as_text=True)
    assert re.search(r"Button shown", page)
    cases = {
        "account, last 30 days": "/dashboard/analytics",
        "account, 90 days": "/dashboard/analytics?from="
        + (steps.local_day(utcnow(), "UTC") - timedelta(days=89)).isoformat(),
        "account, 365 days": "/dashboard/analytics?from="
        + (steps.local_day(utcnow(), "UTC") - timedelta(days=364)).isoformat(),
        "one widget, 30 days": f"/dashboard/analytics?widget={widget_ids[0]}",
        "CSV of page paths": "/dashboard/analytics/path.csv",
    }
    pages = {label: lambda p=path: p for label, path in cases.items()}
    met = time_pages(engine, client, pages, requests, GOAL_MS)
    app.extensions["db_engine"].dispose()
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callbacks", type=int, default=1_000_000)
    parser.add_argument("--beacons", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    met = run("sqlite", None, args.callbacks, args.beacons, args.requests)
    if postgres.enabled():
        url = postgres.database_for_test()
        try:
            met = run("postgresql", url, args.callbacks, args.beacons, args.requests) and met
        finally:
            postgres.drop(url)
    print("all goals met" if met else "some goals MISSED")


if __name__ == "__main__":
    main()
