"""The inbox's domain: filters, keyset pages, account scoping, changes, CSV cells."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask

from tests.helpers import add_account
from tests.inbox_data import T0, store_callback, widget_of_account
from widget_server.core import db
from widget_server.core.models import Callback, Widget
from widget_server.owners import inbox
from widget_server.owners.callback_view import page_path, redacted, shown_number, status_name
from widget_server.owners.inbox_export import cell, stream
from widget_server.owners.retention import erase_callback


@pytest.fixture
def account(app: Flask) -> str:
    account_id, _key = add_account(app)
    return account_id


def _widgets(account_id: str) -> list[Widget]:
    return list(db.session().query(Widget).filter_by(account_id=account_id))


def _ids(found: inbox.InboxPage) -> list[str]:
    return [callback.id for callback in found.callbacks]


def test_keyset_pages_walk_equal_timestamps_both_ways_without_gaps(
    app: Flask, account: str
) -> None:
    widget = widget_of_account(app, account)
    same = [store_callback(app, widget, minutes=5) for _ in range(7)]
    older = store_callback(app, widget, minutes=1)
    newest = store_callback(app, widget, minutes=9)
    expected = [newest, *sorted(same, reverse=True), older]
    with app.app_context():
        session = db.session()
        pages = [inbox.page(session, account, inbox.InboxFilter(), size=3)]
        while pages[-1].older:
            cursor = inbox.Cursor.decode(pages[-1].older)
            pages.append(inbox.page(session, account, inbox.InboxFilter(), cursor, size=3))
        assert [cb for found in pages for cb in _ids(found)] == expected
        assert [len(found.callbacks) for found in pages] == [3, 3, 3]
        assert pages[0].newer is None
        # "Previous" from the last page gives back exactly the page before it.
        assert pages[2].newer is not None
        back = inbox.page(
            session,
            account,
            inbox.InboxFilter(),
            inbox.Cursor.decode(pages[2].newer, backwards=True),
            size=3,
        )
        assert _ids(back) == _ids(pages[1])
        assert back.newer is not None and back.older is not None


def test_cursor_that_is_not_one_is_refused() -> None:
    for value in ("", "not-base64!", "WyJ4Il0", "WzEsMl0"):
        with pytest.raises(ValueError):
            inbox.Cursor.decode(value)


def test_filters_by_status_widget_dates_and_number(app: Flask, account: str) -> None:
    sales = widget_of_account(app, account, name="Sales")
    support = widget_of_account(app, account, name="Support", default_region="ZA")
    done = store_callback(app, sales, "+12015550123", minutes=0)
    failed = store_callback(app, sales, "+12015550999", minutes=60 * 24, status="failed")
    za = store_callback(app, support, "+27821234567", minutes=60 * 48)
    with app.app_context():
        session = db.session()
        widgets = _widgets(account)

        def matching(**args: str) -> list[str]:
            wanted = inbox.parse_filter(args, widgets)
            return _ids(inbox.page(session, account, wanted))

        assert matching() == [za, failed, done]
        assert matching(status="failed") == [failed]
        assert matching(widget=support) == [za]
        day = T0.date()
        assert matching(**{"from": str(day + timedelta(days=1))}) == [za, failed]
        assert matching(**{"to": str(day)}) == [done]
        assert matching(**{"from": str(day), "to": str(day + timedelta(days=1))}) == [
            failed,
            done,
        ]
        assert matching(number="0999") == [failed]
        assert matching(number="555") == [failed, done]
        # A whole number in the widget's own national format, and in international format.
        assert matching(number="082 123 4567", widget=support) == [za]
        assert matching(number="+1 (201) 555-0123") == [done]
        assert matching(number="(201) 555-0123") == [done]


def test_an_erased_callback_is_found_by_its_whole_number_only(app: Flask, account: str) -> None:
    widget = widget_of_account(app, account)
    erased = store_callback(app, widget, "+12015550123")
    with app.app_context():
        session = db.session()
        erase_callback(session, session.get(Callback, erased))
        session.commit()
        widgets = _widgets(account)
        whole = inbox.parse_filter({"number": "201-555-0123"}, widgets)
        assert _ids(inbox.page(session, account, whole)) == [erased]
        fragment = inbox.parse_filter({"number": "5550123"}, widgets)
        assert _ids(inbox.page(session, account, fragment)) == []
        assert shown_number(session.get(Callback, erased), masked=False) == ""


def test_bad_filters_name_the_field(app: Flask, account: str) -> None:
    other_account, _ = add_account(app, "Other")
    foreign = widget_of_account(app, other_account)
    widget_of_account(app, account)
    with app.app_context():
        widgets = _widgets(account)
        cases = {
            "status": {"status": "exploded"},
            "widget": {"widget": foreign},
            "from": {"from": "2026-13-45"},
            "to": {"from": "2026-11-03", "to": "2026-11-01"},
            "number": {"number": "12"},
        }
        for field, args in cases.items():
            with pytest.raises(inbox.FilterInvalid) as refused:
                inbox.parse_filter(args, widgets)
            assert list(refused.value.fields) == [field]
            assert refused.value.fields[field]


def test_another_accounts_callbacks_are_never_found(app: Flask, account: str) -> None:
    other_account, _ = add_account(app, "Other")
    mine = store_callback(app, widget_of_account(app, account))
    theirs = store_callback(app, widget_of_account(app, other_account))
    with app.app_context():
        session = db.session()
        assert inbox.find(session, account, mine) is not None
        assert inbox.find(session, account, theirs) is None
        assert inbox.find(session, account, "../" + theirs) is None
        assert _ids(inbox.page(session, account, inbox.InboxFilter())) == [mine]
        everything = "".join(stream(session, account, inbox.InboxFilter(), masked=False))
        assert mine in everything and theirs not in everything


def test_changes_return_what_moved_since_the_cursor(app: Flask, account: str) -> None:
    widget = widget_of_account(app, account)
    early = store_callback(app, widget, minutes=0)
    late = store_callback(app, widget, minutes=10)
    everything = inbox.InboxFilter()
    with app.app_context():
        session = db.session()
        since = inbox.Since(T0 + timedelta(minutes=5))
        found = inbox.changes(session, account, everything, since, T0 + timedelta(hours=1))
        assert [cb.id for cb in found.callbacks] == [late]
        assert inbox.read_since(found.cursor) == inbox.Since(T0 + timedelta(minutes=10))
        again = inbox.changes(session, account, everything, inbox.read_since(found.cursor), T0)
        assert [cb.id for cb in again.callbacks] == [late]  # within the overlap; same row
        assert early not in [cb.id for cb in again.callbacks]
    with pytest.raises(ValueError):
        inbox.read_since("2026-11-02T09:30:00")  # no offset


def test_a_burst_of_changes_is_read_on_and_never_repeats_forever(
    app: Flask, account: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox, "MAX_CHANGES", 3)
    widget = widget_of_account(app, account)
    ids = [store_callback(app, widget, minutes=i / 100) for i in range(7)]
    seen: list[str] = []
    with app.app_context():
        session = db.session()
        since = inbox.Since(T0 - timedelta(minutes=1))
        for _ in range(4):
            found = inbox.changes(session, account, inbox.InboxFilter(), since, T0)
            seen += [cb.id for cb in found.callbacks if cb.id not in seen]
            since = inbox.read_since(found.cursor)
    assert seen == ids


def test_csv_cells_never_start_a_formula() -> None:
    for dangerous in ("=1+1", "+1-2", "-3", "@SUM(A1)", "\tx", "\rx"):
        assert cell(dangerous) == "'" + dangerous
    assert cell("Ann") == "Ann"
    assert cell(None) == ""


def test_csv_export_escapes_visitor_text_and_masks_for_viewers(app: Flask, account: str) -> None:
    widget = widget_of_account(app, account)
    store_callback(
        app,
        widget,
        visitor_name='=HYPERLINK("http://evil.example")',
        page_url="https://shop.example.com/p?email=a@b.c",
        utm={"utm_source": "@news"},
    )
    with app.app_context():
        session = db.session()
        full = "".join(stream(session, account, inbox.InboxFilter(), masked=False))
        masked = "".join(stream(session, account, inbox.InboxFilter(), masked=True))
    header, line, _ = full.split("\r\n")
    assert header.startswith("id,created_at,finished_at,widget,number")
    assert "'=HYPERLINK" in line and "'@news" in line
    assert "'+1 201-555-0123" in line and ",/p," in line and "email" not in line
    assert "555-0123" not in masked and "+1 20 ••• ••23" in masked


def test_owner_view_helpers() -> None:
    assert status_name("rejected") == "Rejected"
    assert page_path("https://shop.example.com/pricing?utm_source=x") == "/pricing"
    assert page_path(None) == ""
    assert redacted({"call_id": "1", "auth_token": "s", "nested": [{"api_key": "k"}]}) == {
        "call_id": "1",
        "auth_token": "••••••",
        "nested": [{"api_key": "••••••"}],
    }


def test_filter_dates_are_days() -> None:
    assert inbox.InboxFilter(created_from=date(2026, 1, 1)).is_empty() is False
    assert inbox.InboxFilter().is_empty()


def test_every_status_has_a_name_for_owners() -> None:
    from widget_server.core.statuses import Status
    from widget_server.owners.callback_view import STATUS_NAMES

    assert set(STATUS_NAMES) == set(Status)
