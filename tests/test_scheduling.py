"""Booked callbacks: slots outside business hours, re-validation, the queue, restarts, DST."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.helpers import (
    ORIGIN,
    SERVER,
    VALID_US,
    add_account,
    add_widget,
    admin_auth,
    callbacks,
    form_token,
    submit_json,
)
from tests.test_jobs import RecordingProvider
from widget_server import providers
from widget_server.calls import blocklist
from widget_server.calls.status_machine import apply_status
from widget_server.core import db
from widget_server.core.clock import Clock
from widget_server.core.models import BlockedEntry, Callback, CallEvent, Widget
from widget_server.jobs import Jobs
from widget_server.providers import CallRequest

BERLIN_HOURS = {
    "windows": {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "slot_minutes": 30,
    "lead_minutes": 15,
}
SATURDAY_NOON = datetime(2026, 3, 28, 11, 0, tzinfo=UTC)  # 12:00 CET, the eve of DST
MONDAY_NINE = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST, after the change
MONDAY_NINE_ISO = "2026-03-30T07:00:00Z"


@pytest.fixture(autouse=True)
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[CallRequest]]:
    monkeypatch.setitem(providers.REGISTRY, "recording", RecordingProvider)
    RecordingProvider.calls = []
    yield RecordingProvider.calls


def clock(app: Flask) -> Clock:
    return app.extensions["clock"]  # type: ignore[no-any-return]


def jobs(app: Flask) -> Jobs:
    return app.extensions["jobs"]  # type: ignore[no-any-return]


def berlin_widget(app: Flask, **properties: Any) -> str:
    values: dict[str, Any] = {
        "provider": "recording",
        "provider_settings": {},
        "time_zone": "Europe/Berlin",
        "business_hours": BERLIN_HOURS,
    }
    values.update(properties)
    clock(app).set(SATURDAY_NOON)
    return add_widget(app, **values)


def run_until(app: Flask, moment: datetime) -> None:
    """Run the queue as a consumer would at `moment` (a job not yet due goes back to wait)."""
    jobs(app).run_pending(now=moment.timestamp())


def only_callback(app: Flask) -> Callback:
    [callback] = callbacks(app)
    return callback


# What the visitor is offered -------------------------------------------------------------


def test_config_hours_key_says_open_closed_and_next_open(app: Flask, client: FlaskClient) -> None:
    widget_id = berlin_widget(app)

    def hours_key() -> Any:
        response = client.get(f"/v1/widgets/{widget_id}/config", headers={"Origin": ORIGIN})
        return response.get_json()["widget"]["hours"]

    assert hours_key() == {"open": False, "closed": False, "next_open": MONDAY_NINE_ISO}
    clock(app).set(MONDAY_NINE + timedelta(hours=1))
    assert hours_key() == {"open": True, "closed": False, "next_open": None}
    with app.app_context():
        db.session().get(Widget, widget_id).closed = True  # type: ignore[union-attr]
        db.session().commit()
    assert hours_key() == {"open": False, "closed": True, "next_open": None}


def test_slots_endpoint_lists_local_labels_and_checks_its_input(
    app: Flask, client: FlaskClient
) -> None:
    widget_id = berlin_widget(app)
    response = client.get(f"/v1/widgets/{widget_id}/slots?count=3", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    body = response.get_json()
    assert body["hours"]["open"] is False and body["time_zone"] == "Europe/Berlin"
    assert body["slots"] == [
        {"start": "2026-03-30T07:00:00Z", "label": "Mon 30 Mar, 09:00"},
        {"start": "2026-03-30T07:30:00Z", "label": "Mon 30 Mar, 09:30"},
        {"start": "2026-03-30T08:00:00Z", "label": "Mon 30 Mar, 10:00"},
    ]
    german = client.get(f"/v1/widgets/{widget_id}/slots?count=1&locale=de")
    assert german.get_json()["slots"][0]["label"] == "Mo. 30 März, 09:00"
    for count in ("0", "51", "x"):
        refused = client.get(f"/v1/widgets/{widget_id}/slots?count={count}")
        assert refused.status_code == 400 and "count" in refused.get_json()["fields"]
    other = client.get(f"/v1/widgets/{widget_id}/slots", headers={"Origin": "https://evil.test"})
    assert other.status_code == 403


def test_form_page_offers_slots_only_outside_hours_within_the_size_budget(
    app: Flask, client: FlaskClient
) -> None:
    widget_id = berlin_widget(app)
    page = client.get(f"/w/{widget_id}").get_data(as_text=True)
    options = re.findall(r'<option value="([^"]+)"', page)
    assert MONDAY_NINE_ISO in options and 'name="scheduled_for"' in page
    assert re.search(r"/assets/slots\.[0-9a-f]{16}\.js", page) and "Mon 30 Mar, 09:00" in page
    total = len(gzip.compress(page.encode(), 9))
    for asset in ("form.css", "form.js", "slots.js"):
        total += len(gzip.compress((Path(app.static_folder or "") / asset).read_bytes(), 9))
    print(f"\nform page outside hours with its assets: {total} bytes gzipped")
    assert total <= 12 * 1024, total
    clock(app).set(MONDAY_NINE + timedelta(hours=1))
    open_page = client.get(f"/w/{widget_id}").get_data(as_text=True)
    assert "scheduled_for" not in open_page and "slots.js" not in open_page


# Submissions -------------------------------------------------------------------------------


def test_outside_hours_a_submission_without_a_slot_is_refused_and_keeps_its_token(
    app: Flask, client: FlaskClient, recording: list[CallRequest]
) -> None:
    widget_id = berlin_widget(app)
    token = form_token(client, widget_id)
    refused = submit_json(client, widget_id, token=token)
    assert refused.status_code == 422
    assert "choose a time" in refused.get_json()["fields"]["scheduled_for"]
    assert callbacks(app) == []
    # The same token still works once a slot is chosen.
    booked = submit_json(client, widget_id, token=token, scheduled_for=MONDAY_NINE_ISO)
    assert booked.status_code == 202, booked.get_json()
    assert booked.get_json()["status"] == "scheduled"
    assert booked.get_json()["scheduled_for"] == MONDAY_NINE_ISO


@pytest.mark.parametrize(
    "forged",
    [
        "2026-03-30T07:07:00Z",  # not on the slot grid
        "2026-03-30T16:00:00Z",  # 18:00 CEST, after closing
        "2026-03-29T08:00:00Z",  # Sunday
        "2026-03-28T11:30:00Z",  # Saturday, and inside the lead time anyway
        "2026-03-30T09:00:00",  # no UTC offset
        "2027-03-30T07:00:00Z",  # beyond the booking horizon
        "tomorrow morning",
    ],
)
def test_a_slot_that_was_not_offered_is_refused_naming_the_field(
    app: Flask, client: FlaskClient, recording: list[CallRequest], forged: str
) -> None:
    widget_id = berlin_widget(app)
    response = submit_json(client, widget_id, scheduled_for=forged)
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"scheduled_for"}
    assert callbacks(app) == []
    run_until(app, MONDAY_NINE + timedelta(days=30))
    assert recording == []


def test_a_slot_that_slipped_into_the_lead_time_is_no_longer_offered(
    app: Flask, client: FlaskClient, recording: list[CallRequest]
) -> None:
    widget_id = berlin_widget(app)
    clock(app).set(MONDAY_NINE - timedelta(minutes=14))  # 08:46 CEST, lead time 15 minutes
    response = submit_json(client, widget_id, scheduled_for=MONDAY_NINE_ISO)
    assert response.status_code == 422
    assert "no longer available" in response.get_json()["fields"]["scheduled_for"]


def test_a_booking_the_queue_cannot_store_answers_503_and_ends_failed(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    widget_id = berlin_widget(app)

    def broken(*_args: object) -> None:
        raise ConnectionError("queue store unreachable")

    monkeypatch.setattr(jobs(app).huey.storage, "enqueue", broken)
    response = submit_json(client, widget_id, scheduled_for=MONDAY_NINE_ISO)
    assert response.status_code == 503
    callback = only_callback(app)
    assert (callback.status, callback.cause) == ("failed", "queue_unavailable")


def test_a_booked_callback_is_dialled_once_at_its_time_across_the_dst_change(
    app: Flask, client: FlaskClient, recording: list[CallRequest]
) -> None:
    widget_id = berlin_widget(app)
    response = submit_json(client, widget_id, phone="(201) 555-0123", scheduled_for=MONDAY_NINE_ISO)
    assert response.status_code == 202
    callback = only_callback(app)
    assert callback.status == "scheduled" and callback.scheduled_for == MONDAY_NINE
    # Sunday's clock change moves 09:00 CEST to 07:00 UTC; one second early, nothing happens.
    run_until(app, MONDAY_NINE - timedelta(seconds=1))
    assert recording == [] and only_callback(app).status == "scheduled"
    clock(app).set(MONDAY_NINE)
    run_until(app, MONDAY_NINE + timedelta(seconds=1))
    [call] = recording
    assert call.visitor_e164 == "+12015550123" and call.attempt == 1
    assert only_callback(app).status == "agent_ringing"
    # Later sweeps and runs never dial it again.
    clock(app).set(MONDAY_NINE + timedelta(hours=1))
    assert jobs(app).sweep_scheduled() == 0
    run_until(app, MONDAY_NINE + timedelta(days=1))
    assert len(recording) == 1


def test_status_page_and_api_say_when_the_call_is_booked(
    app: Flask, client: FlaskClient, recording: list[CallRequest]
) -> None:
    widget_id = berlin_widget(app)
    token = form_token(client, widget_id, SERVER)
    response = client.post(
        f"/w/{widget_id}",
        data={"phone": VALID_US, "region": "US", "token": token, "scheduled_for": MONDAY_NINE_ISO},
        headers={"Origin": SERVER},
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "booked for Mon 30 Mar, 09:00 (Europe/Berlin)" in page
    status_url = re.search(r'data-status-url="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    status = client.get(status_url).get_json()
    assert status["status"] == "scheduled" and status["scheduled_for"] == MONDAY_NINE_ISO
    assert "booked for Mon 30 Mar, 09:00" in status["text"]


def test_the_form_without_javascript_shows_the_slot_error_next_to_the_slots(
    app: Flask, client: FlaskClient
) -> None:
    widget_id = berlin_widget(app)
    token = form_token(client, widget_id, SERVER)
    fields = {"phone": VALID_US, "region": "US", "token": token}
    response = client.post(f"/w/{widget_id}", data=fields, headers={"Origin": SERVER})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(r'<p class="error" id="scheduled_for-error"[^>]*>([^<]*)</p>', page)
    assert error is not None and "choose a time" in error.group(1)
    as_json = client.post(
        f"/w/{widget_id}",
        data={**fields, "scheduled_for": "2026-03-30T07:10:00Z"},
        headers={"Origin": SERVER, "Accept": "application/json"},
    )
    assert as_json.status_code == 422 and "scheduled_for" in as_json.get_json()["fields"]


def test_bookings_pass_the_abuse_checks_at_submission(
    make_app: Callable[..., Flask], recording: list[CallRequest]
) -> None:
    app = make_app(SUBMIT_LIMIT_PER_NUMBER="1 per day")
    widget_id = berlin_widget(app)
    client = app.test_client()
    first = submit_json(client, widget_id, scheduled_for=MONDAY_NINE_ISO)
    assert first.status_code == 202
    again = submit_json(client, widget_id, scheduled_for="2026-03-30T08:00:00Z")
    assert again.status_code == 429
    with app.app_context():
        db.session().add(BlockedEntry(kind="optout", value="+12025550199"))
        db.session().commit()
    # An opted-out number's booking looks booked; it is stored rejected and never dialled.
    silenced = submit_json(
        client, widget_id, phone="+1 202 555 0199", scheduled_for=MONDAY_NINE_ISO
    )
    assert silenced.status_code == 202 and silenced.get_json()["status"] == "scheduled"
    assert client.get(silenced.get_json()["status_url"]).get_json()["status"] == "scheduled"
    stored = [(c.status, c.cause, c.scheduled_for is not None) for c in callbacks(app)]
    assert stored == [("scheduled", None, True), ("rejected", "opted_out", True)]
    run_until(app, MONDAY_NINE)
    assert len(recording) == 1  # the first booking only


def test_when_a_booking_is_due_an_opt_out_stops_it(
    app: Flask, client: FlaskClient, recording: list[CallRequest]
) -> None:
    widget_id = berlin_widget(app)
    assert submit_json(client, widget_id, scheduled_for=MONDAY_NINE_ISO).status_code == 202
    with app.app_context():
        db.session().add(BlockedEntry(kind="optout", value="+12015550123"))
        db.session().commit()
    clock(app).set(MONDAY_NINE)
    run_until(app, MONDAY_NINE)
    assert recording == []
    callback = only_callback(app)
    assert callback.status == "rejected" and callback.cause == "opted_out"
    with app.app_context():
        assert blocklist.number_blocked(db.session(), "+12015550123") == "opted_out"


def test_when_a_booking_is_due_a_busy_number_waits_then_dials(
    app: Flask, client: FlaskClient, recording: list[CallRequest]
) -> None:
    widget_id = berlin_widget(app)
    assert submit_json(client, widget_id, scheduled_for=MONDAY_NINE_ISO).status_code == 202
    # Another widget's call to the same number is in progress at 09:00.
    clock(app).set(MONDAY_NINE + timedelta(hours=1))
    other = add_widget(app, provider="recording", provider_settings={})
    assert submit_json(client, other).status_code == 202
    clock(app).set(MONDAY_NINE)
    run_until(app, MONDAY_NINE)
    assert [call.callback_id for call in recording] == [callbacks(app)[1].id]
    booked, in_progress = callbacks(app)
    assert booked.status == "scheduled" and booked.attempts == 0
    with app.app_context():
        session = db.session()
        finished = session.get(Callback, in_progress.id)
        assert finished is not None
        apply_status(session, finished, "completed", source="recording")  # frees its leases
        session.commit()
    clock(app).set(MONDAY_NINE + timedelta(minutes=1))
    run_until(app, MONDAY_NINE + timedelta(minutes=1, seconds=1))
    assert [call.callback_id for call in recording][-1] == booked.id
    assert callbacks(app)[0].status == "agent_ringing"


def test_the_closed_switch_stops_call_now_and_a_due_booking(
    app: Flask, client: FlaskClient, recording: list[CallRequest]
) -> None:
    widget_id = berlin_widget(app, closed=True)
    clock(app).set(MONDAY_NINE + timedelta(hours=1))  # inside the hours, but closed
    refused = submit_json(client, widget_id)
    assert refused.status_code == 422 and "scheduled_for" in refused.get_json()["fields"]
    booked = submit_json(client, widget_id, scheduled_for="2026-03-30T09:00:00Z")
    assert booked.status_code == 202
    clock(app).set(MONDAY_NINE + timedelta(hours=2))
    run_until(app, MONDAY_NINE + timedelta(hours=2))
    assert recording == []
    callback = only_callback(app)
    assert callback.status == "failed" and callback.cause == "widget_closed"


def test_an_always_open_widget_still_calls_now(
    app: Flask, client: FlaskClient, recording: list[CallRequest]
) -> None:
    widget_id = add_widget(app, provider="recording", provider_settings={})
    response = submit_json(client, widget_id)
    assert response.status_code == 202 and response.get_json()["status"] == "queued"
    assert only_callback(app).scheduled_for is None


# Restarts and lost jobs ----------------------------------------------------------------------


def test_a_worker_restart_with_bookings_pending_dials_each_once_at_its_time(
    make_app: Callable[..., Flask], tmp_path: Path, recording: list[CallRequest]
) -> None:
    queue = {"QUEUE_BACKEND": "sqlite", "QUEUE_PATH": str(tmp_path / "queue.db")}
    web = make_app(**queue)
    widget_id = berlin_widget(web)
    client = web.test_client()
    later = "2026-03-30T08:30:00Z"
    for slot, phone in ((MONDAY_NINE_ISO, VALID_US), (later, "+1 202 555 0147")):
        assert submit_json(client, widget_id, phone=phone, scheduled_for=slot).status_code == 202
    # The first worker runs before anything is due, then stops.
    run_until(web, SATURDAY_NOON + timedelta(hours=1))
    assert recording == [] and jobs(web).huey.scheduled_count() == 2
    web.extensions["db_engine"].dispose()
    del web

    # A new process (web and worker alike) finds the bookings in the queue file and database.
    worker = make_app(**queue)
    clock(worker).set(MONDAY_NINE)
    run_until(worker, MONDAY_NINE)
    assert [call.visitor_e164 for call in recording] == ["+12015550123"]
    clock(worker).set(MONDAY_NINE + timedelta(hours=2))
    run_until(worker, MONDAY_NINE + timedelta(hours=2))
    assert len(recording) == 2
    assert jobs(worker).sweep_scheduled() == 0
    run_until(worker, MONDAY_NINE + timedelta(days=2))
    assert sorted(call.visitor_e164 for call in recording) == ["+12015550123", "+12025550147"]
    assert {c.status for c in callbacks(worker)} == {"agent_ringing"}


def test_the_sweeper_replaces_a_lost_job_and_a_duplicate_never_redials(
    make_app: Callable[..., Flask], tmp_path: Path, recording: list[CallRequest]
) -> None:
    app = make_app(QUEUE_BACKEND="sqlite", QUEUE_PATH=str(tmp_path / "queue.db"))
    widget_id = berlin_widget(app)
    assert (
        submit_json(app.test_client(), widget_id, scheduled_for=MONDAY_NINE_ISO).status_code == 202
    )
    jobs(app).huey.flush()  # the queue file was lost or restored from an old backup
    clock(app).set(MONDAY_NINE + timedelta(seconds=30))
    assert jobs(app).sweep_scheduled() == 0  # its own job still has the grace period
    clock(app).set(MONDAY_NINE + timedelta(minutes=2))
    assert jobs(app).sweep_scheduled() == 1
    assert jobs(app).sweep_scheduled() == 1  # a second consumer's sweep, before any dial
    run_until(app, MONDAY_NINE + timedelta(minutes=2))
    assert len(recording) == 1
    assert jobs(app).sweep_scheduled() == 0
    with app.app_context():
        dialing = db.session().scalars(
            select(CallEvent).where(CallEvent.status == "dialing", CallEvent.applied)
        )
        assert len(list(dialing)) == 1


def test_the_sweeper_is_a_periodic_huey_task(app: Flask) -> None:
    periodic = [task.name for task in jobs(app).huey._registry.periodic_tasks]
    assert "sweep_scheduled" in periodic


# The clock ---------------------------------------------------------------------------------


def test_only_a_testing_configuration_accepts_an_injected_time(
    make_app: Callable[..., Flask],
) -> None:
    production = make_app(TESTING=False)
    with pytest.raises(RuntimeError):
        clock(production).set(SATURDAY_NOON)
    assert abs(clock(production).now() - datetime.now(UTC)) < timedelta(seconds=5)
    testing = make_app()
    clock(testing).set(SATURDAY_NOON, running=True)
    assert SATURDAY_NOON <= clock(testing).now() < SATURDAY_NOON + timedelta(seconds=5)


# Validation through the admin API and the CLI ----------------------------------------------


def test_admin_api_and_cli_refuse_bad_business_hours_per_field(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    account, key = add_account(app)
    document = {
        "name": "Sales",
        "extension": "1001",
        "business_hours": {
            "windows": {"mon": [["17:00", "09:00"]], "someday": []},
            "holidays": ["2026-13-01"],
        },
    }
    response = client.put(
        f"/v1/accounts/{account}/clicktocall", json={"data": document}, headers=admin_auth(key)
    )
    assert response.status_code == 400
    data = response.get_json()["data"]
    assert "not after" in data["business_hours.windows.mon"]["invalid"]["message"]
    assert "not a day" in data["business_hours.windows.someday"]["invalid"]["message"]
    assert "2026-13-01" in data["business_hours.holidays"]["invalid"]["message"]

    spec = tmp_path / "widget.json"
    spec.write_text(json.dumps(document))
    result = app.test_cli_runner().invoke(
        args=["widgets", "create", "--account", account, "--json", str(spec)]
    )
    assert result.exit_code != 0
    assert "business_hours.windows.mon" in result.output and "not after" in result.output
    assert "business_hours.holidays" in result.output


def test_a_schedule_stored_before_it_was_checked_reads_as_always_open(
    app: Flask, client: FlaskClient
) -> None:
    widget_id = berlin_widget(app)
    with app.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None
        widget.business_hours = {"holidays": "christmas", "mon": "9-5"}
        db.session().commit()
    response = client.get(f"/v1/widgets/{widget_id}/config", headers={"Origin": ORIGIN})
    assert response.get_json()["widget"]["hours"] == {
        "open": True,
        "closed": False,
        "next_open": None,
    }
