"""Bookings kept by the provider's own scheduler (Voiptech): handed over once, when booked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import update

from tests.fakes.voiptech import Fake as VoiptechFake
from tests.helpers import add_account, add_widget, admin_auth, run_jobs, submit_json
from widget_server.calls import provider_booking
from widget_server.core import db
from widget_server.core.clock import Clock
from widget_server.core.models import Callback, CallEvent
from widget_server.core.statuses import Status

ZONE = "Asia/Jerusalem"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock(app: Flask) -> Clock:
    return app.extensions["clock"]  # type: ignore[no-any-return]


def _first_slot(app: Flask, widget_id: str) -> str:
    answer = app.test_client().get(f"/v1/widgets/{widget_id}/slots?count=1")
    assert answer.status_code == 200, answer.get_json()
    return str(answer.get_json()["slots"][0]["start"])


def _booked_widget(app: Flask, fake: VoiptechFake, **properties: Any) -> str:
    # The adapter refuses a time in the past by the real clock: the server's clock is now.
    _clock(app).set(datetime.now(UTC).replace(microsecond=0))
    values: dict[str, Any] = {
        "provider": "voiptech",
        "provider_settings": {**fake.provider_settings(), "time_zone": ZONE},
        "time_zone": ZONE,
        "max_retries": 3,
        "retry_delay": 120,
        "business_hours": {"windows": {day: [["00:00", "24:00"]] for day in DAYS}},
    }
    values.update(properties)
    return add_widget(app, **values)


def _book(app: Flask, widget_id: str) -> tuple[str, str, datetime]:
    slot = _first_slot(app, widget_id)
    accepted = submit_json(app.test_client(), widget_id, scheduled_for=slot)
    assert accepted.status_code == 202, accepted.get_json()
    body = accepted.get_json()
    status_url = str(body["status_url"]).removeprefix("http://localhost")
    return str(body["id"]), status_url, datetime.fromisoformat(slot.replace("Z", "+00:00"))


def _callback(app: Flask, callback_id: str) -> Callback:
    with app.app_context():
        callback = db.session().get(Callback, callback_id)
        assert callback is not None
        db.session().expunge(callback)
        return callback


def test_a_booking_is_handed_to_voiptechs_scheduler_once_with_its_parameters(
    app: Flask,
) -> None:
    with VoiptechFake() as fake:
        widget_id = _booked_widget(app, fake)
        callback_id, status_url, slot = _book(app, widget_id)
        run_jobs(app)
        run_jobs(app)  # a redelivered or swept job books nothing more
        assert _clock(app).now() < slot  # handed over at booking time, not at its time
        [booked] = fake.calls
    params = booked["params"]
    assert params["Date"] == slot.astimezone(ZoneInfo(ZONE)).strftime("%Y%m%d%H%M")
    assert (params["Maxretry"], params["Retrytime"], params["ident"]) == ("3", "120", callback_id)
    assert params["dial2"] == "+12015550123" and params["dial1"] == "1001"
    callback = _callback(app, callback_id)
    assert (callback.status, callback.cause, callback.attempts) == (
        Status.HANDED_OFF,
        "provider_reports_no_outcome",
        1,
    )
    assert callback.scheduled_for == slot
    shown = app.test_client().get(status_url).get_json()
    # Still a booking to the visitor, at its time; never "call finished".
    assert shown["status"] == "handed_off" and shown["scheduled_for"] == slot.isoformat().replace(
        "+00:00", "Z"
    )
    assert shown["text"].startswith("Your callback is booked for")


def test_a_widget_that_books_on_the_server_dials_at_the_time_instead(app: Flask) -> None:
    with VoiptechFake() as fake:
        widget_id = _booked_widget(app, fake, scheduling="server")
        callback_id, _status_url, slot = _book(app, widget_id)
        app.extensions["jobs"].run_pending(now=_clock(app).now().timestamp())
        assert fake.calls == []  # nothing before its time
        assert _callback(app, callback_id).status == Status.SCHEDULED
        _clock(app).set(slot)
        app.extensions["jobs"].run_pending(now=slot.timestamp() + 1)
        [dialled] = fake.calls
    assert "Date" not in dialled["params"]  # an immediate call, at the booked time


def test_a_booking_for_several_agents_is_dialled_here_to_try_them_in_turn(app: Flask) -> None:
    """The provider's scheduler rings one agent: agents in rounds are this server's to try."""
    agents = [{"extension": "1001"}, {"extension": "1002"}]
    with VoiptechFake() as fake:
        widget_id = _booked_widget(app, fake, agents=agents)
        callback_id, _status_url, slot = _book(app, widget_id)
        app.extensions["jobs"].run_pending(now=_clock(app).now().timestamp())
        assert fake.calls == []  # not handed to the provider when booked
        assert _callback(app, callback_id).status == Status.SCHEDULED
        _clock(app).set(slot)
        app.extensions["jobs"].run_pending(now=slot.timestamp() + 1)
        [dialled] = fake.calls
    assert "Date" not in dialled["params"] and dialled["params"]["dial1"] == "1001"


def test_a_booking_whose_answer_was_lost_is_never_booked_again(app: Flask) -> None:
    with VoiptechFake() as fake:
        widget_id = _booked_widget(app, fake)
        callback_id, _status_url, _slot = _book(app, widget_id)
        with app.app_context():  # a worker killed right after committing the booking
            session = db.session()
            callback = session.get(Callback, callback_id)
            assert callback is not None
            provider_booking.mark_sent(session, callback, 1)
        run_jobs(app)
        assert fake.calls == []
        with app.app_context():  # its time has passed, and then some
            past = datetime.now(UTC) - timedelta(hours=1)
            db.session().execute(
                update(Callback)
                .where(Callback.id == callback_id)
                .values(scheduled_for=past, updated_at=past)
            )
            db.session().execute(
                update(CallEvent)
                .where(CallEvent.callback_id == callback_id)
                .values(occurred_at=past)
            )
            db.session().commit()
        assert app.extensions["jobs"].reconcile() == {"lost": 1}
        assert fake.calls == []
    callback = _callback(app, callback_id)
    assert (callback.status, callback.cause) == (Status.FAILED, "lost")


def test_booking_with_the_provider_needs_the_scheduling_capability(app: Flask) -> None:
    account_id, key = add_account(app)
    client = app.test_client()
    base = {"name": "Sales", "extension": "1001", "scheduling": "provider"}
    refused = client.put(
        f"/v1/accounts/{account_id}/clicktocall",
        json={"data": {**base, "provider": "simulator", "provider_settings": {}}},
        headers=admin_auth(key),
    )
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["data"] == {
        "scheduling": {
            "unsupported": {
                "message": "needs the scheduling capability, which the provider "
                "'simulator' does not have"
            }
        }
    }
    with VoiptechFake() as fake:
        created = client.put(
            f"/v1/accounts/{account_id}/clicktocall",
            json={
                "data": {
                    **base,
                    "provider": "voiptech",
                    "provider_settings": fake.provider_settings(),
                }
            },
            headers=admin_auth(key),
        )
        assert created.status_code == 200, created.get_json()
        widget_id = created.get_json()["data"]["id"]
        # Moving the widget to a provider that cannot book is refused the same way.
        moved = client.patch(
            f"/v1/accounts/{account_id}/clicktocall/{widget_id}",
            json={"data": {"provider": "simulator", "provider_settings": {}}},
            headers=admin_auth(key),
        )
        assert moved.status_code == 422 and set(moved.get_json()["data"]) == {"scheduling"}
