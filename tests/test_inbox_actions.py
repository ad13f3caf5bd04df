"""Inbox actions in the domain: call back now through the dialer, cancel, handled, notes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask

from tests.helpers import add_account, run_jobs
from tests.inbox_data import store_callback, widget_of_account
from widget_server.calls import blocklist, leases
from widget_server.core import db
from widget_server.core.models import Callback, CallbackNote, CallEvent, utcnow
from widget_server.jobs import jobs
from widget_server.owners import callback_actions as actions
from widget_server.owners import inbox
from widget_server.owners.callback_view import timeline
from widget_server.providers import CallRequest

LEASE = 900


@pytest.fixture
def widget(app: Flask) -> str:
    account_id, _ = add_account(app)
    return widget_of_account(app, account_id)


def _call_back(app: Flask, callback_id: str) -> Callback:
    with app.app_context():
        session = db.session()
        callback = session.get(Callback, callback_id)
        assert callback is not None
        return actions.call_back_now(session, callback, jobs(), LEASE)


def _refusal(app: Flask, callback_id: str) -> str:
    with pytest.raises(actions.ActionRefused) as refused:
        _call_back(app, callback_id)
    return refused.value.message


def test_call_back_now_dials_a_new_attempt_of_an_ended_callback(
    app: Flask, widget: str, originates: list[CallRequest]
) -> None:
    callback_id = store_callback(app, widget, status="no_answer", attempts=1)
    moved = _call_back(app, callback_id)
    assert moved.status == "retry_wait"
    run_jobs(app)
    assert [call.attempt for call in originates] == [2]
    assert originates[0].visitor_e164 == "+12015550123"
    with app.app_context():
        callback = db.session().get(Callback, callback_id)
        assert callback is not None and callback.attempts == 2
        assert callback.status == "completed" and callback.finished_at is not None
        sources = [(e.status, e.source, e.cause) for e in callback.events]
        assert ("retry_wait", "owner", "owner_call_back") in sources
    # Pressed twice (two members at once): the second job finds the attempt run, no call.
    _call_back(app, callback_id)
    _call_back(app, callback_id)
    run_jobs(app)
    assert [call.attempt for call in originates] == [2, 3]


def test_call_back_now_is_refused_while_a_call_is_live_or_queued(
    app: Flask, widget: str, originates: list[CallRequest]
) -> None:
    for status in ("dialing", "agent_ringing", "connected"):
        live = store_callback(app, widget, status=status, attempts=1)
        assert "in progress" in _refusal(app, live)
    queued = store_callback(app, widget, status="queued")
    assert "already waiting" in _refusal(app, queued)
    run_jobs(app)
    assert originates == []


def test_call_back_now_runs_the_block_list_opt_out_and_lease_checks(
    app: Flask, widget: str, originates: list[CallRequest]
) -> None:
    opted = store_callback(app, widget, "+12015550111", status="completed")
    blocked = store_callback(app, widget, "+12015550222", status="completed")
    busy = store_callback(app, widget, "+12015550333", status="completed")
    other = store_callback(app, widget, "+12015550333", status="dialing")
    erased = store_callback(app, widget, "", status="completed", erased_at=utcnow())
    with app.app_context():
        session = db.session()
        blocklist.add(session, "optout", "+12015550111")
        blocklist.add(session, "number", "+12015550222")
        assert leases.take_destination(session, "+12015550333", other, LEASE)
        session.commit()
    assert "opted out" in _refusal(app, opted)
    assert "block list" in _refusal(app, blocked)
    assert "being called" in _refusal(app, busy)
    assert "erased" in _refusal(app, erased)
    run_jobs(app)
    assert originates == []
    with app.app_context():
        statuses = {db.session().get(Callback, cid).status for cid in (opted, blocked, busy)}
        assert statuses == {"completed"}


def test_call_back_now_applies_the_widgets_number_rules_as_they_are_now(
    app: Flask, widget: str, originates: list[CallRequest]
) -> None:
    za = store_callback(app, widget, "+27821234567", status="completed")
    listed = store_callback(app, widget, "+12015550123", status="completed")
    with app.app_context():
        session = db.session()
        owned = session.get(Callback, za).widget
        owned.allowed_regions, owned.whitelist = ["US"], [r"\+1201555099\d"]
        session.commit()
    assert "no longer allows" in _refusal(app, za)
    assert "no longer allows" in _refusal(app, listed)
    run_jobs(app)
    assert originates == []


def test_call_back_now_of_a_booking_dials_it_now_once(
    app: Flask, widget: str, originates: list[CallRequest]
) -> None:
    later = utcnow() + timedelta(days=2)
    booked = store_callback(app, widget, status="scheduled", scheduled_for=later)
    with app.app_context():
        jobs().enqueue_dial_at(booked, 1, later)  # the booking's own job
    _call_back(app, booked)
    run_jobs(app)
    assert [call.attempt for call in originates] == [1]


def test_a_closed_widget_is_not_called_back(app: Flask, widget: str) -> None:
    callback_id = store_callback(app, widget, status="failed")
    with app.app_context():
        session = db.session()
        session.get(Callback, callback_id).widget.closed = True
        session.commit()
    assert "closed" in _refusal(app, callback_id)


def test_cancel_a_scheduled_callback_and_refuse_an_ended_one(app: Flask, widget: str) -> None:
    booked = store_callback(app, widget, status="scheduled", scheduled_for=utcnow())
    ended = store_callback(app, widget, status="completed")
    live = store_callback(app, widget, status="dialing")
    with app.app_context():
        session = db.session()
        canceled = actions.cancel(session, session.get(Callback, booked), utcnow())
        assert canceled.status == "canceled" and canceled.cause == "owner_canceled"
        event = session.query(CallEvent).filter_by(callback_id=booked).one()
        assert event.source == "owner"
        for callback_id, reason in ((ended, "already ended"), (live, "Too late")):
            with pytest.raises(actions.ActionRefused, match=reason):
                actions.cancel(session, session.get(Callback, callback_id), utcnow())


def test_mark_handled_and_notes_show_who_and_when(app: Flask, widget: str) -> None:
    callback_id = store_callback(app, widget)
    with app.app_context():
        session = db.session()
        callback = session.get(Callback, callback_id)
        actions.mark_handled(session, callback, "ann@example.com")
        assert callback.handled_by == "ann@example.com" and callback.handled_at is not None
        actions.add_note(session, callback, "u1", "ann@example.com", "  Called, wants a quote\r\n")
        entries = timeline(session, callback)
        assert [(e.kind, e.author, e.text) for e in entries] == [
            ("note", "ann@example.com", "Called, wants a quote")
        ]
        actions.mark_handled(session, callback, "ann@example.com", handled=False)
        assert callback.handled_by is None and callback.handled_at is None


def test_notes_refuse_empty_long_and_unstorable_text(app: Flask, widget: str) -> None:
    callback_id = store_callback(app, widget)
    with app.app_context():
        session = db.session()
        callback = session.get(Callback, callback_id)
        for text, reason in (
            ("   ", "Write the note"),
            ("x" * 2001, "at most 2000"),
            ("a\x00b", "cannot be stored"),
            ("a\ud800b", "cannot be stored"),
        ):
            with pytest.raises(actions.ActionRefused, match=reason) as refused:
                actions.add_note(session, callback, "u1", "ann@example.com", text)
            assert refused.value.field == "note"
        actions.add_note(session, callback, "u1", "ann@example.com", "y" * 2000)
        assert session.query(CallbackNote).count() == 1
        assert inbox.find(session, callback.widget.account_id, callback_id) is not None
