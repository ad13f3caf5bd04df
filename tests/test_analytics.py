"""Funnel analytics: the beacon, the tally, the rollups and the report they feed."""

from __future__ import annotations

import random
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from tests.helpers import (
    ORIGIN,
    VALID_US,
    add_widget,
    callbacks,
    form_token,
    migrated_copy,
    run_jobs,
    scrape,
    submit_json,
)
from widget_server.calls.status_machine import apply_status
from widget_server.core import db
from widget_server.core.models import AnalyticsDay, AnalyticsMonth, Callback, utcnow
from widget_server.owners import analytics
from widget_server.owners.analytics import rollup, steps
from widget_server.owners.analytics.report import (
    BREAKDOWN_STEPS,
    BREAKDOWNS,
    MAX_RANGE_DAYS,
    percentile,
)
from widget_server.owners.analytics.tally import Key, MemoryTally

LANDING = f"{ORIGIN}/offer?utm_source=newsletter&utm_medium=email&utm_campaign=spring&email=a@b.c"


@pytest.fixture
def analytics_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(ANALYTICS_SETTLE_SECONDS=0)


def beacon(app: Flask, widget_id: str, event_name: str = "shown", **options: Any) -> Any:
    origin = options.pop("origin", ORIGIN)
    address = options.pop("address", "203.0.113.9")
    return app.test_client().post(
        f"/v1/widgets/{widget_id}/beacon",
        data={"event": event_name, "page_url": options.pop("page_url", LANDING)},
        headers={"Origin": origin},
        environ_base={"REMOTE_ADDR": address},
    )


def roll_up(app: Flask) -> dict[str, int]:
    return dict(app.extensions["jobs"].roll_up_analytics())


def account_of(app: Flask, widget_id: str) -> str:
    with app.app_context():
        from widget_server.core.models import Widget

        return db.session().get(Widget, widget_id).account_id  # type: ignore[union-attr]


def today_report(app: Flask, widget_id: str) -> analytics.Report:
    with app.app_context():
        day = steps.local_day(utcnow(), "UTC")
        return analytics.report(
            db.session(), account_of(app, widget_id), widget_id, day - timedelta(days=1), day
        )


# The beacon ----------------------------------------------------------------------------


def test_beacons_are_counted_with_the_page_path_and_campaign_only(analytics_app: Flask) -> None:
    widget_id = add_widget(analytics_app)
    for name in ("shown", "shown", "opened"):
        response = beacon(analytics_app, widget_id, name)
        assert response.status_code == 204 and response.get_data() == b""
        assert "Set-Cookie" not in response.headers
    assert roll_up(analytics_app)["flushed"] == 3
    found = today_report(analytics_app, widget_id)
    assert found.totals["shown"] == 2 and found.totals["opened"] == 1
    assert found.daily[-1][1] == {"shown": 2, "opened": 1, "submitted": 0, "connected": 0}
    paths = {row.value: row.counts for row in found.breakdowns["path"]}
    assert paths == {"/offer": {"shown": 2, "opened": 1, "accepted": 0, "connected": 0}}
    assert [row.value for row in found.breakdowns["utm_source"]] == ["newsletter"]
    assert [row.value for row in found.breakdowns["utm_campaign"]] == ["spring"]
    with analytics_app.app_context():
        stored = {row.value for row in db.session().query(AnalyticsDay)}
    # Nothing else of the URL (its host, the email in its query) is kept anywhere.
    assert not any("@" in value or "example.com" in value for value in stored)


def test_a_foreign_origin_is_refused_and_counts_nothing(
    analytics_app: Flask, originates: list[Any]
) -> None:
    widget_id = add_widget(analytics_app)
    response = beacon(analytics_app, widget_id, origin="https://evil.example")
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"
    missing = analytics_app.test_client().post(
        f"/v1/widgets/{widget_id}/beacon", data={"event": "shown"}
    )
    assert missing.status_code == 403
    assert roll_up(analytics_app)["flushed"] == 0
    assert callbacks(analytics_app) == [] and originates == []


def test_a_page_of_another_origin_counts_without_its_path(analytics_app: Flask) -> None:
    widget_id = add_widget(analytics_app)
    page_url = "https://elsewhere.example/secret-path?utm_source=x"
    assert beacon(analytics_app, widget_id, page_url=page_url).status_code == 204
    roll_up(analytics_app)
    found = today_report(analytics_app, widget_id)
    assert found.totals["shown"] == 1 and found.breakdowns["path"] == []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"event": "clicked"}, "event"),
        ({}, "event"),
        ({"event": "shown", "page_url": "x" * 3000}, "page_url"),
    ],
)
def test_a_bad_beacon_names_the_field(
    analytics_app: Flask, data: dict[str, str], field: str
) -> None:
    widget_id = add_widget(analytics_app)
    response = analytics_app.test_client().post(
        f"/v1/widgets/{widget_id}/beacon", data=data, headers={"Origin": ORIGIN}
    )
    assert response.status_code == 400
    assert field in response.get_json()["fields"]


def test_beacons_never_create_a_callback_nor_place_a_call(
    analytics_app: Flask, originates: list[Any]
) -> None:
    widget_id = add_widget(analytics_app)
    for index in range(20):
        assert (
            beacon(analytics_app, widget_id, "opened", address=f"198.51.100.{index}").status_code
            == 204
        )
    run_jobs(analytics_app)
    roll_up(analytics_app)
    assert callbacks(analytics_app) == [] and originates == []
    found = today_report(analytics_app, widget_id)
    assert found.totals.get("accepted", 0) == 0 and found.totals["opened"] == 20


def test_a_flood_from_one_address_is_limited(make_app: Callable[..., Flask]) -> None:
    app = make_app(BEACON_LIMIT_PER_IP="5 per minute")
    widget_id = add_widget(app)
    answers = Counter(beacon(app, widget_id).status_code for _ in range(12))
    assert answers == {204: 5, 429: 7}
    assert beacon(app, widget_id, address="192.0.2.77").status_code == 204  # someone else


def test_a_flood_on_one_widget_is_limited_whatever_the_address(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(BEACON_LIMIT_PER_WIDGET="8 per minute")
    widget_id, other = add_widget(app), add_widget(app)
    answers = Counter(
        beacon(app, widget_id, address=f"198.51.100.{index}").status_code for index in range(12)
    )
    assert answers == {204: 8, 429: 4}
    limited = beacon(app, widget_id, address="192.0.2.1")
    assert limited.status_code == 429 and limited.get_json()["error"] == "rate_limited"
    assert beacon(app, other, address="192.0.2.1").status_code == 204


def test_a_beacon_answers_while_another_writer_holds_the_lock(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    migrated_copy(tmp_path)
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'test.db'}")
    widget_id = add_widget(app)
    other = sqlite3.connect(tmp_path / "test.db", isolation_level=None, timeout=15)
    other.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        response = beacon(app, widget_id)
        waited = time.monotonic() - started
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert response.status_code == 204
    assert waited < 5, "the beacon waited for the write lock"  # busy_timeout is 15 s


# Refusals: counted by reason, with no database write -----------------------------------


def test_refusals_are_counted_by_reason_without_a_database_write(analytics_app: Flask) -> None:
    widget_id = add_widget(analytics_app)
    token = form_token(analytics_app.test_client(), widget_id)
    writes: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip()[:6].upper() not in ("SELECT", "PRAGMA", "BEGIN", "COMMIT", "ROLLBA"):
            writes.append(statement)

    engine = analytics_app.extensions["db_engine"]
    event.listen(engine, "before_cursor_execute", note)
    try:
        assert (
            submit_json(analytics_app.test_client(), widget_id, phone="12", token=token).status_code
            == 422
        )
        assert (
            submit_json(analytics_app.test_client(), widget_id, phone="12", token=token).status_code
            == 422
        )
        forged = submit_json(analytics_app.test_client(), widget_id, token="forged")
        assert forged.status_code == 422
        foreign = submit_json(
            analytics_app.test_client(), widget_id, origin="https://evil.example", token="x"
        )
        assert foreign.status_code == 403
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert writes == []
    roll_up(analytics_app)
    found = today_report(analytics_app, widget_id)
    assert dict(found.refused) == {"invalid": 2, "token_invalid": 1, "origin_not_allowed": 1}
    assert found.totals["submitted"] == 4 and found.totals.get("accepted", 0) == 0


def test_an_address_over_its_submission_limit_is_counted(make_app: Callable[..., Flask]) -> None:
    app = make_app(ANALYTICS_SETTLE_SECONDS=0, SUBMIT_LIMIT_PER_IP="1 per minute")
    widget_id = add_widget(app)
    client = app.test_client()
    # Refused by its number first: that uses up none of the address's allowance.
    assert submit_json(client, widget_id, phone="12").status_code == 422
    assert submit_json(client, widget_id, phone="+1 201 555 0123").status_code == 202
    assert submit_json(client, widget_id, phone="+1 201 555 0124").status_code == 429
    roll_up(app)
    assert dict(today_report(app, widget_id).refused) == {"invalid": 1, "ip_rate_limited": 1}
    # The limiter names its refusal for the operator's metrics too.
    assert 'widget_server_refusals_total{reason="ip_rate_limited"}' in scrape(client)


# The call's steps, from the call events -----------------------------------------------


def test_an_answered_call_walks_the_funnel_and_is_timed(
    analytics_app: Flask, originates: list[Any]
) -> None:
    widget_id = add_widget(analytics_app)
    response = submit_json(analytics_app.test_client(), widget_id, page_url=LANDING)
    assert response.status_code == 202
    run_jobs(analytics_app)
    assert [c.status for c in callbacks(analytics_app)] == ["completed"]
    assert roll_up(analytics_app)["events"] > 0
    assert roll_up(analytics_app)["events"] == 0  # counted once, however often it runs
    found = today_report(analytics_app, widget_id)
    funnel = {step.step: step.count for step in found.funnel}
    assert funnel == {
        "shown": 0,
        "opened": 0,
        "submitted": 1,
        "accepted": 1,
        "connected": 1,
        "completed": 1,
    }
    assert found.totals["answered"] == 1 and found.connects_timed == 1
    assert found.connect_median is not None and found.connect_median == found.connect_p90
    assert sum(answered for row in found.hours for answered, _ in row) == 1
    assert sum(missed for row in found.hours for _, missed in row) == 0
    assert [row.value for row in found.breakdowns["utm_medium"]] == ["email"]
    assert len(originates) == 1


def test_a_call_whose_connect_is_reported_after_its_end_still_counts_as_connected(
    analytics_app: Flask,
) -> None:
    widget_id = add_widget(analytics_app)
    response = submit_json(analytics_app.test_client(), widget_id, page_url=LANDING)
    assert response.status_code == 202
    with analytics_app.app_context():
        session = db.session()
        callback = session.get(Callback, response.get_json()["id"])
        assert callback is not None
        # The provider's events arrive out of order: "completed" before "connected".
        for status in ("dialing", "agent_answered", "visitor_ringing", "completed"):
            assert apply_status(session, callback, status, source="provider")
        assert not apply_status(session, callback, "connected", source="provider")
        session.commit()
    roll_up(analytics_app)
    found = today_report(analytics_app, widget_id)
    funnel = {step.step: step.count for step in found.funnel}
    assert funnel["connected"] == funnel["completed"] == 1
    assert found.connects_timed == 0  # no time to connect is known for it
    assert found.breakdowns["path"][0].counts["connected"] == 1


def test_an_unanswered_call_is_missed_in_its_hour(
    analytics_app: Flask, originates: list[Any]
) -> None:
    widget_id = add_widget(
        analytics_app,
        time_zone="Asia/Jerusalem",
        provider_settings={"step_delay": 0, "talk_time": 0, "fail": "agent_no_answer"},
    )
    submit_json(analytics_app.test_client(), widget_id)
    run_jobs(analytics_app)
    roll_up(analytics_app)
    [callback] = callbacks(analytics_app)
    with analytics_app.app_context():
        day = steps.local_day(callback.created_at, "Asia/Jerusalem")
        found = analytics.report(db.session(), account_of(analytics_app, widget_id), None, day, day)
    local = callback.created_at.astimezone(steps.zone("Asia/Jerusalem"))
    assert found.hours[local.weekday()][local.hour] == (0, 1)
    assert found.totals["failed"] == 1 and dict(found.failed) == {callback.status: 1}
    assert found.totals.get("connected", 0) == 0


def test_a_silent_refusal_counts_as_refused_never_accepted(analytics_app: Flask) -> None:
    widget_id = add_widget(analytics_app)
    client = analytics_app.test_client()
    response = client.post(
        f"/v1/widgets/{widget_id}/callbacks",
        json={"phone": VALID_US, "token": form_token(client, widget_id), "website": "x"},
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 202
    roll_up(analytics_app)
    found = today_report(analytics_app, widget_id)
    assert dict(found.refused) == {"honeypot": 1}
    assert found.totals.get("accepted", 0) == 0 and found.totals["submitted"] == 1


def test_events_newer_than_the_settling_time_wait_for_the_next_run(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(ANALYTICS_SETTLE_SECONDS=3600)
    widget_id = add_widget(app)
    submit_json(app.test_client(), widget_id)
    assert roll_up(app)["events"] == 0
    app.config["ANALYTICS_SETTLE_SECONDS"] = 0
    assert roll_up(app)["events"] == 1


# The tally and its flush: exact --------------------------------------------------------


EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["shown", "opened"]),
        st.sampled_from(["/", "/a", "/b"]),
        st.integers(min_value=0, max_value=3 * 24 * 3600),
        st.integers(min_value=0, max_value=2),  # which of three processes counts it
        st.booleans(),  # flushed right after it
    ),
    max_size=40,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=EVENTS)
def test_flushes_from_several_processes_add_up_exactly(analytics_app: Flask, events: list) -> None:
    widget_id = add_widget(analytics_app, time_zone="America/New_York")
    start = datetime(2026, 3, 7, 12, tzinfo=UTC)  # across the spring clock change
    processes = [MemoryTally() for _ in range(3)]
    expected: Counter[tuple[date, str, str]] = Counter()
    with analytics_app.app_context():
        session = db.session()
        for step, path, offset, process, flush in events:
            at = start + timedelta(seconds=offset)
            processes[process].add(widget_id, at, step, {steps.PATH: path})
            day = steps.local_day(at, "America/New_York")
            expected[(day, step, "")] += 1
            expected[(day, step, path)] += 1
            if flush:
                analytics.flush_tally(session, processes[process])
        for tally in processes:
            analytics.flush_tally(session, tally)
        stored = Counter(
            {
                (row.day, row.step, row.value): row.count
                for row in session.query(AnalyticsDay).filter_by(widget_id=widget_id)
            }
        )
    assert +stored == +expected


def test_a_failed_flush_keeps_its_counts_for_the_next(analytics_app: Flask) -> None:
    widget_id = add_widget(analytics_app)
    tally = MemoryTally()
    tally.add(widget_id, utcnow(), "shown", {})

    class Broken:
        def get_bind(self) -> Any:
            raise RuntimeError("database gone")

        def rollback(self) -> None:
            pass

        def execute(self, *_args: Any) -> Any:
            raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        analytics.flush_tally(Broken(), tally)  # type: ignore[arg-type]
    with analytics_app.app_context():
        assert analytics.flush_tally(db.session(), tally) == 1


def test_made_up_paths_past_the_daily_cap_count_as_other(analytics_app: Flask) -> None:
    widget_id = add_widget(analytics_app)
    tally = MemoryTally()
    now = utcnow()
    for index in range(steps.MAX_VALUES_PER_DAY + 30):
        tally.add(widget_id, now, "shown", {steps.PATH: f"/p{index}"})
    with analytics_app.app_context():
        analytics.flush_tally(db.session(), tally)
        tally.add(widget_id, now, "shown", {steps.PATH: "/late"})
        analytics.flush_tally(db.session(), tally)
        paths = Counter(
            {
                row.value: row.count
                for row in db.session().query(AnalyticsDay).filter_by(dimension=steps.PATH)
            }
        )
    assert len(paths) == steps.MAX_VALUES_PER_DAY + 1
    assert paths[steps.OTHER] == 31


def test_a_day_is_the_widgets_day() -> None:
    late = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
    assert steps.local_day(late, "Asia/Jerusalem") == date(2026, 12, 7)
    assert steps.local_day(late, "America/New_York") == date(2026, 12, 6)
    assert steps.local_day(late, "Not/AZone") == date(2026, 12, 6)
    slot = Key("w", int(late.timestamp()) // 900, "shown", "", "")
    assert slot.moment() == late
    assert Key.decode(slot.encode()) == slot


# The monthly sums -------------------------------------------------------------------------

ZONES = ("Asia/Jerusalem", "America/New_York")
SPAN_FIRST, SPAN_LAST = date(2025, 11, 20), date(2027, 2, 10)  # across two year ends
STEPS = ("shown", "opened", "accepted", "refused", "connected", "failed", "answered", "missed")
DIMENSIONS = {
    steps.PATH: ["/", "/a", "/b", steps.OTHER],
    "utm_source": ["news", "ads"],
    steps.REASON: ["invalid", "throttle", "busy"],
    steps.SECONDS: ["5", "30", "60"],
    steps.HOUR: ["0-9", "4-23", "6-0"],
}


def random_rows(widget_ids: list[str], pick: random.Random) -> Counter[rollup.Row]:
    """Counts on most days of the span, for every step and a few values of each dimension."""
    rows: Counter[rollup.Row] = Counter()
    day = SPAN_FIRST
    while day <= SPAN_LAST:
        for widget_id in widget_ids:
            if pick.random() < 0.2:
                continue  # a day without anything
            for step in STEPS:
                rows[rollup.Row(widget_id, day, step, steps.TOTAL, "")] += pick.randint(0, 9)
                dimension = pick.choice(sorted(DIMENSIONS))
                value = pick.choice(DIMENSIONS[dimension])
                rows[rollup.Row(widget_id, day, step, dimension, value)] += pick.randint(1, 5)
        day += timedelta(days=1)
    return rows


def report_from_days(rows: list[AnalyticsDay], first: date, last: date) -> dict[str, Any]:
    """What the page shows for the range, summed from the daily rows alone."""
    per_day: dict[date, Counter[str]] = {}
    split: dict[tuple[str, str], Counter[str]] = {}
    for row in rows:
        if not first <= row.day <= last:
            continue
        if row.dimension == steps.TOTAL:
            per_day.setdefault(row.day, Counter())[row.step] += row.count
        else:
            split.setdefault((row.step, row.dimension), Counter())[row.value] += row.count
    totals: Counter[str] = Counter()
    for counts in per_day.values():
        totals.update(counts)
    totals["submitted"] = totals["accepted"] + totals["refused"]
    daily = {
        day: counts["shown"] + counts["opened"] + counts["connected"]
        for day, counts in per_day.items()
    }
    return {"totals": +totals, "daily": {day: n for day, n in daily.items() if n}, "split": split}


SHOWN_SPLITS = {(step, dimension) for step in BREAKDOWN_STEPS for dimension in BREAKDOWNS}
SHOWN_SPLITS |= {("answered", steps.HOUR), ("missed", steps.HOUR)}
SHOWN_SPLITS |= {("refused", steps.REASON), ("failed", steps.REASON)}


def shown(found: analytics.Report) -> dict[tuple[str, str], Counter[str]]:
    """The breakdowns, reasons and hours of a report, keyed like the rows they sum."""
    split: dict[tuple[str, str], Counter[str]] = {}

    def add(step: str, dimension: str, value: str, count: int) -> None:
        if count:
            split.setdefault((step, dimension), Counter())[value] += count

    for reason, count in found.refused:
        add("refused", steps.REASON, reason, count)
    for reason, count in found.failed:
        add("failed", steps.REASON, reason, count)
    for dimension, rows in found.breakdowns.items():
        for row in rows:
            for step, count in row.counts.items():
                add(step, dimension, row.value, count)
    for weekday, hours in enumerate(found.hours):
        for hour, (answered, missed) in enumerate(hours):
            add("answered", steps.HOUR, f"{weekday}-{hour}", answered)
            add("missed", steps.HOUR, f"{weekday}-{hour}", missed)
    return split


def comparable(expected: dict[str, Any], found: analytics.Report) -> None:
    """Assert the report shows exactly the figures summed from the daily rows."""
    assert +Counter(found.totals) == expected["totals"]
    daily = {
        day: counts["shown"] + counts["opened"] + counts["connected"] for day, counts in found.daily
    }
    assert {day: n for day, n in daily.items() if n} == expected["daily"]
    # The seconds show only as the percentiles and the number of calls timed.
    seconds = expected["split"].get(("connected", steps.SECONDS), Counter())
    assert found.connects_timed == sum(seconds.values())
    assert found.connect_median == percentile(seconds, 0.5)
    assert found.connect_p90 == percentile(seconds, 0.9)
    wanted = {key: +counts for key, counts in expected["split"].items() if key in SHOWN_SPLITS}
    assert shown(found) == {key: counts for key, counts in wanted.items() if counts}
    for dimension, rows in found.breakdowns.items():
        order = [(-sum(row.counts.values()), row.value) for row in rows]
        assert order == sorted(order), dimension


EDGE_RANGES = [
    (date(2026, 3, 1), date(2026, 3, 31)),  # one whole month
    (date(2026, 3, 5), date(2026, 3, 20)),  # inside one month
    (date(2026, 2, 28), date(2026, 3, 1)),  # two days, two months
    (date(2026, 3, 1), date(2026, 3, 1)),  # a month's first day alone
    (date(2026, 3, 31), date(2026, 5, 1)),  # a whole month between two edge days
    (date(2026, 12, 15), date(2027, 1, 20)),  # across a year end, no whole month
    (date(2026, 11, 10), date(2027, 2, 5)),  # across a year end with whole months
    (date(2025, 12, 1), date(2026, 11, 30)),  # twelve whole months
    (date(2026, 2, 9), date(2027, 2, 9)),  # the longest range: 366 days
    (date(2025, 11, 1), date(2025, 12, 31)),  # starts before the first row
]


@pytest.fixture
def counted(analytics_app: Flask) -> tuple[str, list[str], list[AnalyticsDay]]:
    """An account with two widgets in two time zones, and another account's widget, with
    counts on most days from November 2025 to February 2027 added by the rollup's upsert."""
    ours = [add_widget(analytics_app, time_zone=zone) for zone in ZONES]
    account_id = account_of(analytics_app, ours[0])
    with analytics_app.app_context():
        from widget_server.core.models import Widget

        session = db.session()
        session.get(Widget, ours[1]).account_id = account_id  # type: ignore[union-attr]
        session.commit()
    theirs = add_widget(analytics_app)
    pick = random.Random(18)
    with analytics_app.app_context():
        session = db.session()
        for _ in range(2):  # twice: the second run adds to every row the first made
            rollup.add_counts(session, random_rows([*ours, theirs], pick))
        session.commit()
        rows = list(session.query(AnalyticsDay).filter(AnalyticsDay.widget_id.in_(ours)))
        session.expunge_all()
    return account_id, ours, rows


def test_the_months_are_exactly_the_sums_of_their_days(
    analytics_app: Flask, counted: tuple[str, list[str], list[AnalyticsDay]]
) -> None:
    _, ours, rows = counted
    expected: Counter[tuple[str, date, str, str, str]] = Counter()
    for row in rows:
        key = (row.widget_id, row.day.replace(day=1), row.step, row.dimension, row.value)
        expected[key] += row.count
    with analytics_app.app_context():
        months = Counter(
            {
                (row.widget_id, row.month, row.step, row.dimension, row.value): row.count
                for row in db.session()
                .query(AnalyticsMonth)
                .filter(AnalyticsMonth.widget_id.in_(ours))
            }
        )
    assert months == expected
    assert {key[1] for key in months} == {
        date(year, month, 1)
        for year, month in [(2025, 11), (2025, 12)]
        + [(2026, m) for m in range(1, 13)]
        + [(2027, 1), (2027, 2)]
    }


@pytest.mark.parametrize(("first", "last"), EDGE_RANGES)
def test_the_report_at_month_edges_equals_the_sum_of_its_days(
    analytics_app: Flask,
    counted: tuple[str, list[str], list[AnalyticsDay]],
    first: date,
    last: date,
) -> None:
    account_id, ours, rows = counted
    with analytics_app.app_context():
        session = db.session()
        comparable(
            report_from_days(rows, first, last),
            analytics.report(session, account_id, None, first, last),
        )
        one = [row for row in rows if row.widget_id == ours[1]]
        comparable(
            report_from_days(one, first, last),
            analytics.report(session, account_id, ours[1], first, last),
        )


def test_the_report_for_any_range_equals_the_sum_of_its_days(
    analytics_app: Flask, counted: tuple[str, list[str], list[AnalyticsDay]]
) -> None:
    account_id, ours, rows = counted
    days = st.dates(min_value=SPAN_FIRST - timedelta(days=20), max_value=SPAN_LAST)

    @settings(max_examples=60, deadline=None)
    @given(first=days, length=st.integers(min_value=1, max_value=MAX_RANGE_DAYS))
    def check(first: date, length: int) -> None:
        last = first + timedelta(days=length - 1)
        with analytics_app.app_context():
            found = analytics.report(db.session(), account_id, None, first, last)
        comparable(report_from_days(rows, first, last), found)

    check()


def test_a_count_goes_to_the_month_of_the_widgets_day(analytics_app: Flask) -> None:
    widget_id = add_widget(analytics_app, time_zone="Asia/Jerusalem")
    account_id = account_of(analytics_app, widget_id)
    tally = MemoryTally()
    new_year = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)  # 00:30 on 1 January in Jerusalem
    tally.add(widget_id, new_year, "shown", {steps.PATH: "/sale"})
    tally.add(widget_id, new_year - timedelta(hours=1), "shown", {steps.PATH: "/eve"})
    with analytics_app.app_context():
        session = db.session()
        analytics.flush_tally(session, tally)
        months = {
            (row.month, row.dimension, row.value): row.count
            for row in session.query(AnalyticsMonth).filter_by(widget_id=widget_id)
        }
        january = analytics.report(session, account_id, None, date(2027, 1, 1), date(2027, 1, 31))
        december = analytics.report(
            session, account_id, None, date(2026, 12, 1), date(2026, 12, 31)
        )
    assert months == {
        (date(2027, 1, 1), steps.TOTAL, ""): 1,
        (date(2027, 1, 1), steps.PATH, "/sale"): 1,
        (date(2026, 12, 1), steps.TOTAL, ""): 1,
        (date(2026, 12, 1), steps.PATH, "/eve"): 1,
    }
    assert [row.value for row in january.breakdowns[steps.PATH]] == ["/sale"]
    assert [row.value for row in december.breakdowns[steps.PATH]] == ["/eve"]
    assert january.totals["shown"] == december.totals["shown"] == 1


def test_the_migration_sums_the_days_already_counted(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'months.db'}")
    db.upgrade(app)
    widget_id = add_widget(app)
    command.downgrade(db.alembic_config(app.config["DATABASE_URL"]), "0015")
    engine = db.make_engine(app.config["DATABASE_URL"])
    with engine.begin() as connection:
        for day, count in (("2026-01-31", 2), ("2026-02-01", 3), ("2026-02-28", 4)):
            connection.exec_driver_sql(
                "INSERT INTO analytics_days (widget_id, day, step, dimension, value, count) "
                f"VALUES ('{widget_id}', '{day}', 'shown', '', '', {count})"
            )
    db.upgrade(app)
    with engine.connect() as connection:
        found = connection.exec_driver_sql(
            "SELECT month, count FROM analytics_months ORDER BY month"
        ).all()
    engine.dispose()
    assert [tuple(row) for row in found] == [("2026-01-01", 2), ("2026-02-01", 7)]


def test_percentiles_read_from_the_buckets() -> None:
    buckets = Counter({"5": 5, "10": 4, "60": 1})
    assert percentile(buckets, 0.5) == 5 and percentile(buckets, 0.9) == 10
    assert percentile(Counter(), 0.5) is None
    assert steps.connect_bucket(42.7) == 42 and steps.connect_bucket(700) == 660
    assert steps.connect_bucket(99999) == 3600


def test_reasons_are_grouped_for_the_chart() -> None:
    assert steps.reason_group("invalid") == steps.ReasonGroup.NUMBER_POLICY
    assert steps.reason_group("number_rate_limited") == steps.ReasonGroup.LIMITS
    assert steps.reason_group("account_budget") == steps.ReasonGroup.LIMITS
    assert steps.reason_group("human_check_failed") == steps.ReasonGroup.BOT_CHECKS
    assert steps.reason_group("outside_hours") == steps.ReasonGroup.OUTSIDE_HOURS
    assert steps.reason_group("origin_not_allowed") == steps.ReasonGroup.ORIGIN
    assert steps.reason_value("Robert'); DROP") == "other"


# The page --------------------------------------------------------------------------------


def test_the_page_shows_the_funnel_for_the_account_and_one_widget(analytics_app: Flask) -> None:
    from tests.dashboard import sign_in

    client = analytics_app.test_client()
    member = sign_in(client)
    widget_id = add_widget(analytics_app)
    with analytics_app.app_context():
        from widget_server.core.models import Widget

        db.session().get(Widget, widget_id).account_id = member.account_id  # type: ignore[union-attr]
        db.session().commit()
    for name in ("shown", "shown", "opened"):
        beacon(analytics_app, widget_id, name)
    roll_up(analytics_app)
    page = client.get("/dashboard/analytics")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html and "newsletter" in html and "/offer" in html
    one = client.get(f"/dashboard/analytics?widget={widget_id}")
    assert one.status_code == 200 and "newsletter" in one.get_data(as_text=True)
    csv_answer = client.get(f"/dashboard/analytics/funnel.csv?widget={widget_id}")
    assert csv_answer.status_code == 200 and csv_answer.mimetype == "text/csv"
    lines = csv_answer.get_data(as_text=True).splitlines()
    assert lines[1].split(",")[3:5] == ["shown", "2"]
    assert client.get("/dashboard/analytics/nothing.csv").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=yesterday", "from"),
        ("from=2026-02-01&to=2026-01-01", "to"),
        ("widget=abc", "widget"),
        ("from=2020-01-01&to=2026-01-01", "from"),
    ],
)
def test_bad_choices_get_a_friendly_message(analytics_app: Flask, query: str, field: str) -> None:
    from tests.dashboard import sign_in

    client = analytics_app.test_client()
    sign_in(client)
    page = client.get(f"/dashboard/analytics?{query}")
    assert page.status_code == 400
    assert f'id="a-{field}-error"' in page.get_data(as_text=True)
    assert client.get(f"/dashboard/analytics/funnel.csv?{query}").status_code == 400


def test_another_accounts_widget_is_not_shown(analytics_app: Flask) -> None:
    from tests.dashboard import sign_in

    client = analytics_app.test_client()
    sign_in(client)
    stranger = add_widget(analytics_app)
    beacon(analytics_app, stranger)
    roll_up(analytics_app)
    assert client.get(f"/dashboard/analytics?widget={stranger}").status_code == 400
    html = client.get("/dashboard/analytics").get_data(as_text=True)
    assert "newsletter" not in html
