"""The audit log page: who may see it, filters, pages, the CSV, and that it changes nothing."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.dates import format_datetime
from flask import Flask
from flask.testing import FlaskClient

from tests.audit_data import entries
from tests.dashboard import csrf_token, sign_in
from widget_server.core import db
from widget_server.core.models import AuditEntry
from widget_server.owners import audit, retention
from widget_server.owners.people import Role

PAGE = "/dashboard/audit"
ROOT = Path(__file__).resolve().parents[1]


def store(
    app: Flask, account_id: str, count: int, action: str = audit.WIDGET_CHANGED, **fields: object
) -> None:
    """Record `count` entries as a member of `account_id` would make them."""
    actor = audit.member_actor(
        account_id,
        str(fields.pop("user_id", "u" * 32)),
        str(fields.pop("email", "someone@example.com")),
        "192.0.2.10",
    )
    with app.app_context():
        session = db.session()
        for number in range(count):
            entry = audit.record(
                session, actor, action, object_type="widget", object_id=f"{number:032x}"
            )
            for name, value in fields.items():
                setattr(entry, name, value)
        session.commit()


def shown_objects(html: str) -> list[str]:
    return re.findall(r'<code dir="ltr" title="([0-9a-f]{32})">', html)


def test_owners_and_admins_see_the_page_and_viewers_are_refused(app: Flask) -> None:
    owner_client = app.test_client()
    owner = sign_in(owner_client, Role.OWNER)
    admin_client = app.test_client()
    sign_in(admin_client, Role.ADMIN, account_id=owner.account_id)
    viewer_client = app.test_client()
    sign_in(viewer_client, Role.VIEWER, account_id=owner.account_id)
    for client in (owner_client, admin_client):
        page = client.get(PAGE)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "<h1>Audit log</h1>" in html and 'href="/dashboard/audit"' in html
    assert viewer_client.get(PAGE).status_code == 403
    assert viewer_client.get(f"{PAGE}/export.csv").status_code == 403
    assert 'href="/dashboard/audit"' not in viewer_client.get("/dashboard/").get_data(as_text=True)
    assert app.test_client().get(PAGE).status_code == 302  # signed out: to the sign-in page


def test_the_page_shows_who_what_when_and_where(app: Flask, client: FlaskClient) -> None:
    owner = sign_in(client)
    html = client.get(PAGE).get_data(as_text=True)
    (entry,) = entries(app, owner.account_id)
    assert owner.email in html and "Signed in" in html and "127.0.0.1" in html
    assert format_datetime(entry.at, "medium", tzinfo=UTC, locale="en") in html
    # In the viewer's language: the Hebrew page writes the same time the Hebrew way.
    hebrew = client.get(PAGE, headers={"Accept-Language": "he"}).get_data(as_text=True)
    assert format_datetime(entry.at, "medium", tzinfo=UTC, locale="he") in hebrew
    assert 'dir="rtl"' in hebrew


def test_no_route_changes_an_entry(app: Flask, client: FlaskClient) -> None:
    owner = sign_in(client)
    store(app, owner.account_id, 3)
    before = [(e.id, e.action, e.details) for e in entries(app)]
    token = csrf_token(client, PAGE)
    for path in (PAGE, f"{PAGE}/export.csv", f"{PAGE}/1"):
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            answer = client.open(path, method=method, data={"csrf_token": token})
            assert answer.status_code in (404, 405), (method, path, answer.status_code)
    after = [(e.id, e.action, e.details) for e in entries(app)]
    assert after == before
    # The page offers nothing that could: no form that posts, no delete or edit control.
    html = client.get(PAGE).get_data(as_text=True)
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    assert 'method="post"' not in main.lower()
    # Every audit route answers reads only.
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("dashboard.audit"):
            assert set(rule.methods or ()) <= {"GET", "HEAD", "OPTIONS"}, rule


def test_only_recording_and_retention_write_the_table() -> None:
    """Entries are added by audit.record, deleted by retention, and changed by nothing."""
    writers = {}
    for path in (ROOT / "widget_server").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        text = path.read_text()
        if "AuditEntry" in text:
            writers[path.relative_to(ROOT).as_posix()] = text
    assert set(writers) == {
        "widget_server/core/models.py",
        "widget_server/owners/audit.py",
        "widget_server/owners/audit_log.py",
        "widget_server/owners/retention.py",
    }
    assert "update(AuditEntry" not in "".join(writers.values())
    assert "delete(AuditEntry" in writers["widget_server/owners/retention.py"]
    assert not re.search(
        r"\b(delete|update|insert)\(", writers["widget_server/owners/audit_log.py"]
    )
    assert "delete(" not in writers["widget_server/owners/audit.py"]


def test_an_accounts_log_never_shows_another_accounts_entries(app: Flask) -> None:
    ours_client, theirs_client = app.test_client(), app.test_client()
    ours = sign_in(ours_client, email="ours@example.com")
    theirs = sign_in(theirs_client, email="theirs@example.com")
    store(app, theirs.account_id, 5, email="theirs@example.com")
    store(app, ours.account_id, 2, email="ours@example.com", object_id="a" * 32)
    html = ours_client.get(PAGE).get_data(as_text=True)
    assert "theirs@example.com" not in html
    assert set(shown_objects(html)) == {"a" * 32}
    # Their person, as a filter, is not one of ours: refused, nothing shown.
    refused = ours_client.get(PAGE, query_string={"person": "theirs@example.com"})
    assert refused.status_code == 400 and "theirs@example.com" not in refused.get_data(as_text=True)
    # A page token past their entries still reads ours only.
    last = max(e.id for e in entries(app)) + 1
    paged = ours_client.get(PAGE, query_string={"before": last}).get_data(as_text=True)
    assert "theirs@example.com" not in paged
    exported = ours_client.get(f"{PAGE}/export.csv").get_data(as_text=True)
    assert "theirs@example.com" not in exported and "ours@example.com" in exported
    # Theirs shows theirs, and a refused sign-in with an unknown email shows in neither.
    assert "ours@example.com" not in theirs_client.get(PAGE).get_data(as_text=True)


def test_pages_are_keyset_newest_first_without_gaps_or_repeats(
    app: Flask, client: FlaskClient
) -> None:
    owner = sign_in(client)
    store(app, owner.account_id, 120)
    first = client.get(PAGE).get_data(as_text=True)
    seen = shown_objects(first)
    assert len(seen) == 50 and seen[0] == f"{119:032x}"
    older = re.search(r'href="(/dashboard/audit\?before=\d+)"', first)
    assert older
    # Entries arriving meanwhile do not shift the next page.
    store(app, owner.account_id, 3, object_id="f" * 32)
    second = client.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    seen += shown_objects(second)
    third_link = re.search(r'href="(/dashboard/audit\?before=\d+)"', second)
    assert third_link
    third = client.get(third_link.group(1)).get_data(as_text=True)
    seen += shown_objects(third)
    assert seen == [f"{n:032x}" for n in range(119, -1, -1)]
    assert "Older entries" not in third and "Newest" in third
    # A page token that is not one reads from the newest.
    assert client.get(PAGE, query_string={"before": "x'; --"}).status_code == 200


def test_filters_by_action_person_and_days(app: Flask, client: FlaskClient) -> None:
    owner = sign_in(client)
    old = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    store(app, owner.account_id, 2, audit.KEY_CREATED, email="ann@example.com", at=old)
    store(app, owner.account_id, 3, audit.WIDGET_DELETED, email="bob@example.com", at=old)
    store(app, owner.account_id, 4, audit.WIDGET_DELETED, email="ann@example.com")

    def count(**args: str) -> int:
        answer = client.get(PAGE, query_string=args)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return len(shown_objects(answer.get_data(as_text=True)))

    assert count(action=audit.WIDGET_DELETED) == 7
    assert count(person="ann@example.com") == 6
    assert count(action=audit.WIDGET_DELETED, person="ann@example.com") == 4
    assert count(**{"from": "2026-03-04", "to": "2026-03-04"}) == 5
    assert count(**{"from": "2026-03-05"}) == 4  # the sign-in has no object
    for args, field in (
        ({"action": "dropped_tables"}, "action"),
        ({"from": "04/03/2026"}, "from"),
        ({"from": "2026-03-05", "to": "2026-03-04"}, "to"),
    ):
        refused = client.get(PAGE, query_string=args)
        assert refused.status_code == 400
        html = refused.get_data(as_text=True)
        assert f'id="f-{field}-error"' in html and 'aria-invalid="true"' in html


def test_the_csv_export_is_filtered_safe_and_recorded(app: Flask, client: FlaskClient) -> None:
    owner = sign_in(client)
    store(app, owner.account_id, 2, audit.KEY_REVOKED, email="=HYPERLINK(evil)")
    answer = client.get(f"{PAGE}/export.csv", query_string={"action": audit.KEY_REVOKED})
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert rows[0] == list(("id", "at", "action", "actor", "address"))[:5] + [
        "object_type",
        "object_id",
        "details",
    ]
    assert [row[2] for row in rows[1:]] == [audit.KEY_REVOKED] * 2
    assert all(row[3] == "'=HYPERLINK(evil)" for row in rows[1:])  # never a formula
    exported = entries(app, owner.account_id, audit.AUDIT_EXPORTED)
    assert [e.details for e in exported] == [{"filter": {"action": audit.KEY_REVOKED}}]


def test_retention_purges_entries_older_than_the_setting(make_app: pytest.FixtureRequest) -> None:
    app = make_app(AUDIT_RETENTION_DAYS=30)  # type: ignore[operator]
    client = app.test_client()
    owner = sign_in(client)
    store(app, owner.account_id, 3, at=datetime.now(UTC) - timedelta(days=31))
    store(app, owner.account_id, 2, at=datetime.now(UTC) - timedelta(days=29))
    app.extensions["jobs"].run_retention()
    left = entries(app, owner.account_id)
    assert len(left) == 3  # the two recent ones and the sign-in
    with app.app_context():
        # 0 days keeps everything.
        assert retention.purge_audit_entries(db.session(), 0) == 0
        assert db.session().query(AuditEntry).count() == 3
