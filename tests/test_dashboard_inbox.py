"""The callbacks inbox pages through the test client: roles, scoping, actions, CSV, changes."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.dashboard import csrf_token, sign_in
from tests.helpers import run_jobs
from tests.inbox_data import T0, store_callback, widget_of_account
from widget_server.core import db
from widget_server.core.models import Callback, utcnow
from widget_server.owners.people import Role
from widget_server.providers import CallRequest

INBOX = "/dashboard/callbacks"


def _client(app: Flask, role: Role, account_id: str | None = None) -> tuple[FlaskClient, str]:
    client = app.test_client()
    member = sign_in(client, role, account_id=account_id)
    return client, member.account_id


def _post(client: FlaskClient, path: str, **data: str) -> TestResponse:
    token = csrf_token(client, INBOX)
    return client.post(path, data={"csrf_token": token, **data})


def test_signed_out_goes_to_sign_in(app: Flask) -> None:
    response = app.test_client().get(INBOX)
    assert response.status_code == 302
    assert "/dashboard/sign-in" in response.headers["Location"]


def test_owner_sees_whole_numbers_viewer_masked_ones(app: Flask) -> None:
    owner, account = _client(app, Role.OWNER)
    viewer, _ = _client(app, Role.VIEWER, account)
    widget = widget_of_account(app, account, name="Sales", time_zone="Europe/Berlin")
    store_callback(
        app,
        widget,
        "+12015550123",
        visitor_name="Ann <b>",
        page_url="https://shop.example.com/pricing?email=ann@example.com",
        utm={"utm_source": "newsletter"},
    )
    store_callback(app, widget, "+12015550999", minutes=1, status="rejected", cause="opted_out")
    page = owner.get(INBOX).get_data(as_text=True)
    assert '<bdi dir="ltr" class="number">+1 201-555-0123</bdi>' in page
    assert "Ann &lt;b&gt;" in page and "/pricing" in page and "ann@example.com" not in page
    assert "newsletter" in page and "Sales" in page
    assert "Rejected" in page and "refused in silence: the number opted out" in page
    assert '<time datetime="2026-11-02T09:30:00.000000+00:00"' in page
    assert "10:30" in page  # shown in the widget's time zone (Berlin, UTC+1 in November)
    masked = viewer.get(INBOX).get_data(as_text=True)
    assert "555-0123" not in masked and "+1 20 ••• ••23" in masked


def test_another_account_sees_nothing_of_mine(app: Flask, originates: list[CallRequest]) -> None:
    mine, account = _client(app, Role.OWNER)
    theirs, _other = _client(app, Role.OWNER)
    callback_id = store_callback(app, widget_of_account(app, account), status="completed")
    assert callback_id in mine.get(INBOX).get_data(as_text=True)
    assert mine.get(f"{INBOX}/{callback_id}").status_code == 200
    assert callback_id not in theirs.get(INBOX).get_data(as_text=True)
    assert callback_id not in theirs.get(f"{INBOX}/export.csv").get_data(as_text=True)
    since = (T0 - timedelta(days=1)).isoformat()
    changes = theirs.get(f"{INBOX}/changes", query_string={"since": since}).get_json()
    assert changes["callbacks"] == []
    assert theirs.get(f"{INBOX}/{callback_id}").status_code == 404
    for action in ("call-back", "cancel", "handled", "notes"):
        response = _post(theirs, f"{INBOX}/{callback_id}/{action}", note="hi")
        assert response.status_code == 404, action
    run_jobs(app)
    assert originates == []
    with app.app_context():
        callback = db.session().get(Callback, callback_id)
        assert callback is not None and callback.handled_at is None


def test_unknown_and_malformed_ids_answer_404(app: Flask) -> None:
    owner, _ = _client(app, Role.OWNER)
    for callback_id in ("0" * 32, "nope", "%00"):
        assert owner.get(f"{INBOX}/{callback_id}").status_code == 404


def test_bad_filters_answer_400_naming_the_field(app: Flask) -> None:
    owner, _ = _client(app, Role.OWNER)
    response = owner.get(INBOX, query_string={"number": "1", "from": "yesterday"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="f-number-error"' in page and "at least 3 digits" in page
    assert 'id="f-from-error"' in page and "YYYY-MM-DD" in page
    changes = owner.get(f"{INBOX}/changes", query_string={"since": "soon"})
    assert changes.status_code == 400
    assert list(changes.get_json()["fields"]) == ["since"]


def test_hostile_query_strings_never_cause_a_500(app: Flask) -> None:
    owner, account = _client(app, Role.OWNER)
    store_callback(app, widget_of_account(app, account))
    # Already percent-encoded: %ED%A0%80 is a lone surrogate in UTF-8, %FF no UTF-8 at all.
    hostile = ["%00", "%25", "_", "%27%3B+DROP+TABLE+callbacks", "9" * 5000, "%ED%A0%80", "%FF"]
    for name in ("status", "widget", "from", "to", "number", "after", "before", "since"):
        for value in hostile:
            for path in (INBOX, f"{INBOX}/export.csv", f"{INBOX}/changes"):
                response = owner.get(f"{path}?{name}={value}")
                assert response.status_code in (200, 302, 400), (path, name, value)


def test_pages_link_older_and_newer_and_survive_a_stale_cursor(app: Flask) -> None:
    owner, account = _client(app, Role.OWNER)
    widget = widget_of_account(app, account)
    ids = [store_callback(app, widget, minutes=0) for _ in range(55)]
    first = owner.get(INBOX).get_data(as_text=True)
    assert 'rel="next"' in first and 'rel="prev"' not in first
    older = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = owner.get(older).get_data(as_text=True)
    shown = [cid for cid in ids if cid in second]
    assert len(shown) == 5 and 'rel="prev"' in second and 'rel="next"' not in second
    stale = owner.get(INBOX, query_string={"after": "garbage"})
    assert stale.status_code == 200 and "out of date" in stale.get_data(as_text=True)


def test_csv_export_is_filtered_escaped_and_masked_for_viewers(app: Flask) -> None:
    owner, account = _client(app, Role.OWNER)
    viewer, _ = _client(app, Role.VIEWER, account)
    widget = widget_of_account(app, account)
    store_callback(app, widget, visitor_name="=cmd|' /C calc'!A0", status="failed")
    store_callback(app, widget, "+12015550999", minutes=1, status="completed")
    response = owner.get(f"{INBOX}/export.csv", query_string={"status": "failed"})
    assert response.mimetype == "text/csv" and response.is_streamed
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1
    assert rows[0]["name"].startswith("'=") and rows[0]["number"] == "'+1 201-555-0123"
    masked = viewer.get(f"{INBOX}/export.csv").get_data(as_text=True)
    assert "555-0123" not in masked and "555-0999" not in masked and "••" in masked
    refused = owner.get(f"{INBOX}/export.csv", query_string={"status": "bogus"})
    assert refused.status_code == 302


def test_changes_report_new_and_moved_callbacks(app: Flask) -> None:
    owner, account = _client(app, Role.OWNER)
    viewer, _ = _client(app, Role.VIEWER, account)
    widget = widget_of_account(app, account)
    page = owner.get(INBOX).get_data(as_text=True)
    since = page.split('data-since="')[1].split('"')[0]
    assert (
        owner.get(f"{INBOX}/changes", query_string={"since": since}).get_json()["callbacks"] == []
    )
    now = utcnow()
    callback_id = store_callback(
        app, widget, status="dialing", created_at=now, updated_at=now, visitor_name="Bea"
    )
    answer = owner.get(f"{INBOX}/changes", query_string={"since": since}).get_json()
    [change] = answer["callbacks"]
    assert change["id"] == callback_id and change["status"] == "dialing"
    assert "Bea" in change["announce"] and "Dialing" in change["announce"]
    assert f'data-id="{callback_id}"' in change["html"] and "+1 201-555-0123" in change["html"]
    masked = viewer.get(f"{INBOX}/changes", query_string={"since": since}).get_json()
    assert "555-0123" not in masked["callbacks"][0]["html"]
    filtered = owner.get(f"{INBOX}/changes", query_string={"since": since, "status": "failed"})
    assert filtered.get_json()["callbacks"] == []


def test_viewer_sees_no_actions_and_is_refused_403(app: Flask) -> None:
    _owner, account = _client(app, Role.OWNER)
    viewer, _ = _client(app, Role.VIEWER, account)
    callback_id = store_callback(app, widget_of_account(app, account), status="scheduled")
    page = viewer.get(f"{INBOX}/{callback_id}").get_data(as_text=True)
    assert "Call back now" not in page and "Add a note" not in page and "Cancel" not in page
    for action in ("call-back", "cancel", "handled", "notes"):
        response = _post(viewer, f"{INBOX}/{callback_id}/{action}", note="hi")
        assert response.status_code == 403, action
    with app.app_context():
        callback = db.session().get(Callback, callback_id)
        assert callback is not None and callback.status == "scheduled"


def test_a_post_without_its_csrf_token_is_refused(app: Flask) -> None:
    owner, account = _client(app, Role.OWNER)
    callback_id = store_callback(app, widget_of_account(app, account))
    response = owner.post(f"{INBOX}/{callback_id}/handled")
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)


def test_admin_calls_back_through_the_dialer(app: Flask, originates: list[CallRequest]) -> None:
    admin, account = _client(app, Role.ADMIN)
    callback_id = store_callback(
        app, widget_of_account(app, account), status="no_answer", attempts=1
    )
    response = admin.post(
        f"{INBOX}/{callback_id}/call-back", data={"csrf_token": csrf_token(admin, INBOX)}
    )
    assert response.status_code == 303
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Calling back now" in page
    run_jobs(app)
    assert [call.attempt for call in originates] == [2]
    # A callback whose call is live cannot be started twice: the refusal shows in the form.
    live = store_callback(app, widget_of_account(app, account), status="connected")
    refused = _post(admin, f"{INBOX}/{live}/call-back")
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert 'id="call-back-error"' in text and "in progress" in text


def test_admin_cancels_a_booking_and_cannot_cancel_an_ended_call(app: Flask) -> None:
    admin, account = _client(app, Role.ADMIN)
    widget = widget_of_account(app, account)
    booked = store_callback(app, widget, status="scheduled", scheduled_for=utcnow())
    ended = store_callback(app, widget, status="completed")
    assert _post(admin, f"{INBOX}/{booked}/cancel").status_code == 303
    with app.app_context():
        callback = db.session().get(Callback, booked)
        assert callback is not None and callback.status == "canceled"
    refused = _post(admin, f"{INBOX}/{ended}/cancel")
    assert refused.status_code == 409
    assert "already ended" in refused.get_data(as_text=True)


def test_notes_and_handled_show_on_the_callback(app: Flask) -> None:
    owner, account = _client(app, Role.OWNER)
    callback_id = store_callback(
        app,
        widget_of_account(app, account),
        provider_details={"call_id": "sim-1", "auth_token": "s3cret-value"},
    )
    assert _post(owner, f"{INBOX}/{callback_id}/notes", note="Wants a <quote>").status_code == 303
    assert _post(owner, f"{INBOX}/{callback_id}/handled", handled="1").status_code == 303
    page = owner.get(f"{INBOX}/{callback_id}").get_data(as_text=True)
    assert "Wants a &lt;quote&gt;" in page and "Note by owner." in page
    assert "Mark as not handled" in page and "by owner." in page
    assert "sim-1" in page and "s3cret-value" not in page
    too_long = _post(owner, f"{INBOX}/{callback_id}/notes", note="x" * 2001)
    assert too_long.status_code == 422
    text = too_long.get_data(as_text=True)
    assert 'id="note-error"' in text and "at most 2000" in text
    assert _post(owner, f"{INBOX}/{callback_id}/handled", handled="0").status_code == 303
    assert "Mark as handled" in owner.get(f"{INBOX}/{callback_id}").get_data(as_text=True)
