"""The reconciler: callbacks a crash left behind are settled, never dialled twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import update

from tests.fakes.asterisk import Fake as AsteriskFake
from tests.fakes.click2dial import Fake as Click2DialFake
from tests.fakes.freeswitch import Fake as FreeswitchFake
from tests.fakes.kazoo import Fake as KazooFake
from tests.fakes.ledger import serve_ledger
from tests.fakes.voiptech import Fake as VoiptechFake
from tests.helpers import add_widget, run_jobs, submit_json
from widget_server import providers
from widget_server.calls.status_machine import apply_status
from widget_server.core import db
from widget_server.core.models import Callback, CallEvent, Lease, Widget, utcnow
from widget_server.core.statuses import Status

NUMBER = "+1 201 555 0123"


def _accept(app: Flask, widget_id: str, phone: str = NUMBER) -> str:
    response = submit_json(app.test_client(), widget_id, phone)
    assert response.status_code == 202, response.get_json()
    return str(response.get_json()["id"])


def _crash_after_dialing(app: Flask, callback_id: str, attempt: int = 1) -> None:
    """Do what the dial job commits before asking the provider, then 'die'."""
    with app.app_context():
        session = db.session()
        callback = session.get(Callback, callback_id)
        assert callback is not None
        callback.attempts = attempt
        callback.status = Status.DIALING
        session.add(CallEvent(callback_id=callback_id, status=Status.DIALING, source="server"))
        session.commit()


def _age(app: Flask, callback_id: str, seconds: float = 3600) -> None:
    """Move a callback's history into the past, as if it had been quiet that long."""
    with app.app_context():
        session = db.session()
        earlier = utcnow() - timedelta(seconds=seconds)
        session.execute(
            update(Callback).where(Callback.id == callback_id).values(updated_at=earlier)
        )
        session.execute(
            update(CallEvent)
            .where(CallEvent.callback_id == callback_id)
            .values(occurred_at=earlier)
        )
        session.commit()


def _drop_queue(app: Flask) -> None:
    app.extensions["jobs"].huey.flush()  # the jobs a crashed worker had taken


def _lose_attempt(app: Flask, callback_id: str, attempt: int = 1) -> None:
    """A worker took the job, committed the attempt, died; the callback has been quiet since."""
    _drop_queue(app)
    _crash_after_dialing(app, callback_id, attempt)
    _age(app, callback_id)


def _callback(app: Flask, callback_id: str) -> Callback:
    with app.app_context():
        callback = db.session().get(Callback, callback_id)
        assert callback is not None
        db.session().expunge(callback)
        return callback


def _reconcile(app: Flask) -> dict[str, int]:
    return dict(app.extensions["jobs"].reconcile())


def _server_dials(app: Flask, callback_id: str) -> int:
    """How many attempts the server itself started (DIALING events it wrote)."""
    with app.app_context():
        dialing = (
            db.session()
            .query(CallEvent)
            .filter_by(callback_id=callback_id, status=Status.DIALING, source="server")
        )
        return dialing.count()


def test_a_lost_attempt_the_simulator_never_placed_is_dialled_once_more(app: Flask) -> None:
    widget_id = add_widget(app)
    callback_id = _accept(app, widget_id)
    _lose_attempt(app, callback_id)

    assert _reconcile(app) == {"redialled": 1}
    run_jobs(app)
    callback = _callback(app, callback_id)
    assert (callback.status, callback.attempts) == (Status.COMPLETED, 2)


def test_an_attempt_lost_twice_fails_as_lost(app: Flask) -> None:
    widget_id = add_widget(app)
    callback_id = _accept(app, widget_id)
    _lose_attempt(app, callback_id)
    assert _reconcile(app) == {"redialled": 1}
    _lose_attempt(app, callback_id, attempt=2)

    assert _reconcile(app) == {"lost": 1}
    callback = _callback(app, callback_id)
    assert (callback.status, callback.cause) == (Status.FAILED, "lost")


def test_a_callback_not_yet_stale_is_left_alone(app: Flask) -> None:
    widget_id = add_widget(app)
    callback_id = _accept(app, widget_id)
    _drop_queue(app)
    _crash_after_dialing(app, callback_id)
    assert _reconcile(app) == {}
    assert _callback(app, callback_id).status == Status.DIALING


def test_a_queued_callback_whose_job_was_lost_is_queued_again(app: Flask) -> None:
    widget_id = add_widget(app)
    callback_id = _accept(app, widget_id)
    _drop_queue(app)
    _age(app, callback_id)

    assert _reconcile(app) == {"requeued": 1}
    run_jobs(app)
    callback = _callback(app, callback_id)
    assert (callback.status, callback.attempts) == (Status.COMPLETED, 1)


def test_a_requeued_callback_whose_first_job_survived_dials_once(app: Flask) -> None:
    widget_id = add_widget(app)
    callback_id = _accept(app, widget_id)  # its job stays in the queue: only slow
    _age(app, callback_id)
    assert _reconcile(app) == {"requeued": 1}
    run_jobs(app)
    assert _server_dials(app, callback_id) == 1
    assert _callback(app, callback_id).status == Status.COMPLETED


def test_a_retry_wait_whose_next_job_was_lost_dials_its_next_attempt_once(app: Flask) -> None:
    widget_id = add_widget(app, max_retries=2)
    callback_id = _accept(app, widget_id)
    _drop_queue(app)
    with app.app_context():  # attempt 1 ended unanswered; the job for attempt 2 is lost
        session = db.session()
        callback = session.get(Callback, callback_id)
        assert callback is not None
        callback.attempts, callback.status = 1, Status.RETRY_WAIT
        session.add(
            CallEvent(
                callback_id=callback_id,
                status=Status.RETRY_WAIT,
                cause="agent_no_answer",
                source="server",
                details={"attempt": 1, "retry_in": 60},
            )
        )
        session.commit()
    _age(app, callback_id, seconds=30)
    assert _reconcile(app) == {}  # still inside its retry delay

    _age(app, callback_id)
    assert _reconcile(app) == {"retry_requeued": 1}
    assert _reconcile(app) == {"retry_requeued": 1}  # a second pass before the job runs
    run_jobs(app)
    callback = _callback(app, callback_id)
    assert (callback.status, callback.attempts) == (Status.COMPLETED, 2)
    assert _server_dials(app, callback_id) == 1  # two queued jobs, one originate


def test_without_a_status_query_a_lost_attempt_fails_and_nothing_is_sent(app: Flask) -> None:
    with serve_ledger() as ledger:
        settings = ledger.settings()
        del settings["status_url"]
        widget_id = add_widget(app, provider="webhook", provider_settings=settings)
        callback_id = _accept(app, widget_id)
        _lose_attempt(app, callback_id)

        assert _reconcile(app) == {"lost": 1}
        assert ledger.originates == [] and ledger.status_queries == []
    callback = _callback(app, callback_id)
    assert (callback.status, callback.cause) == (Status.FAILED, "lost")


def test_a_placed_call_found_by_its_key_takes_the_providers_state(app: Flask) -> None:
    with serve_ledger() as ledger:
        widget_id = add_widget(app, provider="webhook", provider_settings=ledger.settings())
        callback_id = _accept(app, widget_id)
        _drop_queue(app)
        _crash_after_dialing(app, callback_id)
        ledger.calls[f"{callback_id}-1"] = "ledger-call-7"  # it reached the receiver
        _age(app, callback_id)

        assert _reconcile(app) == {"resolved": 1}
        assert ledger.status_queries == [f"{callback_id}-1"]
        assert ledger.originates == []
    callback = _callback(app, callback_id)
    assert (callback.status, callback.provider_call_id) == (Status.COMPLETED, "ledger-call-7")


def test_an_attempt_the_receiver_never_saw_is_dialled_with_a_new_key(app: Flask) -> None:
    with serve_ledger() as ledger:
        widget_id = add_widget(app, provider="webhook", provider_settings=ledger.settings())
        callback_id = _accept(app, widget_id)
        _lose_attempt(app, callback_id)

        assert _reconcile(app) == {"redialled": 1}
        run_jobs(app)
        assert ledger.originates == [f"{callback_id}-2"]
    assert _callback(app, callback_id).status == Status.AGENT_RINGING


def test_a_quiet_call_with_a_result_asks_by_call_id(app: Flask) -> None:
    with serve_ledger() as ledger:
        widget_id = add_widget(app, provider="webhook", provider_settings=ledger.settings())
        callback_id = _accept(app, widget_id)
        run_jobs(app)
        assert _callback(app, callback_id).status == Status.AGENT_RINGING
        ledger.state = "no_answer"
        _age(app, callback_id)

        assert _reconcile(app) == {"resolved": 1}
        assert ledger.originates == [f"{callback_id}-1"]
    assert _callback(app, callback_id).status == Status.NO_ANSWER


def test_an_unreachable_provider_leaves_the_callback_for_the_next_pass(app: Flask) -> None:
    with serve_ledger() as ledger:
        settings = ledger.settings()
    widget_id = add_widget(app, provider="webhook", provider_settings=settings)  # now closed
    callback_id = _accept(app, widget_id)
    _lose_attempt(app, callback_id)

    assert _reconcile(app) == {"provider_unreachable": 1}
    assert _callback(app, callback_id).status == Status.DIALING


def test_a_quiet_kazoo_call_is_settled_from_its_cdr(app: Flask) -> None:
    with KazooFake() as kazoo:
        widget_id = add_widget(app, provider="kazoo", provider_settings=kazoo.provider_settings())
        callback_id = _accept(app, widget_id)
        run_jobs(app)
        placed = _callback(app, callback_id)
        assert placed.status == Status.DIALING  # Kazoo posts no events: it stays there
        assert placed.provider_call_id
        kazoo.end_call(placed.provider_call_id, "NORMAL_CLEARING", billing_seconds=95)
        assert _reconcile(app) == {}  # not quiet for long enough yet

        _age(app, callback_id)
        assert _reconcile(app) == {"resolved": 1}
        assert kazoo.originate_count() == 1
    callback = _callback(app, callback_id)
    assert (callback.status, callback.cause) == (Status.COMPLETED, None)
    with app.app_context():
        last = db.session().query(CallEvent).filter_by(callback_id=callback_id)
        event = last.order_by(CallEvent.id.desc()).first()
        assert event is not None
        assert (event.status, event.source, event.applied) == (Status.COMPLETED, "kazoo", True)
        assert event.provider_call_id == placed.provider_call_id


def test_a_kazoo_call_still_in_its_history_without_a_cdr_waits_for_its_lease(
    app: Flask,
) -> None:
    with KazooFake() as kazoo:
        widget_id = add_widget(app, provider="kazoo", provider_settings=kazoo.provider_settings())
        callback_id = _accept(app, widget_id)
        run_jobs(app)
        assert _callback(app, callback_id).status == Status.DIALING

        _age(app, callback_id, seconds=INSIDE_THE_LEASE)  # stale, but within the lease
        assert _reconcile(app) == {"in_progress": 1}
        assert _callback(app, callback_id).status == Status.DIALING
        assert _reconciler_events(app, callback_id) == []

        _age(app, callback_id, seconds=PAST_THE_LEASE)  # still no CDR
        assert _reconcile(app) == {"unreported": 1}
        assert _reconcile(app) == {}
        assert kazoo.originate_count() == 1
    callback = _callback(app, callback_id)
    assert (callback.status, callback.cause) == (Status.COMPLETED, "unreported")
    assert _leases_held(app, callback_id) == 0


def test_the_reconcile_command_reports_its_outcomes(app: Flask) -> None:
    widget_id = add_widget(app)
    callback_id = _accept(app, widget_id)
    _drop_queue(app)
    _age(app, callback_id)
    result = app.test_cli_runner().invoke(args=["reconcile"])
    assert result.exit_code == 0, result.output
    assert "requeued: 1" in result.output
    result = app.test_cli_runner().invoke(args=["reconcile"])
    assert "nothing stale" in result.output


def test_a_webhook_status_url_must_be_an_http_url() -> None:
    import pytest

    from widget_server import providers

    settings = {"url": "https://crm.example/hook", "secret": "whsec-0123456789abcdef"}
    assert not providers.build("webhook", settings).reports_call_status()
    with pytest.raises(providers.ProviderConfigError) as refused:
        providers.validate("webhook", {**settings, "status_url": "ftp://crm.example/status"})
    assert set(refused.value.fields) == {"status_url"}


# Providers that cannot report a call's outcome: no status query, no events after the
# originate's answer. The default lease is 15 minutes; a widget's ring timeout of 20 s makes
# a "dialing" callback stale after 2 * 20 + 120 s.
INSIDE_THE_LEASE = 600
PAST_THE_LEASE = 3600


def _reconciler_events(app: Flask, callback_id: str) -> list[CallEvent]:
    with app.app_context():
        events = (
            db.session()
            .query(CallEvent)
            .filter_by(callback_id=callback_id, source="reconciler")
            .order_by(CallEvent.id)
            .all()
        )
        for event in events:
            db.session().expunge(event)
        return events


def _leases_held(app: Flask, callback_id: str) -> int:
    with app.app_context():
        return db.session().query(Lease).filter_by(holder=callback_id).count()


def _click2dial_call(app: Flask, pbx: Click2DialFake, **properties: object) -> tuple[str, str, str]:
    """Accept a callback and let the dial job place it: the PBX accepts, and says no more.

    Returns the widget id, the callback id and the visitor's status URL (its path).
    """
    widget_id = add_widget(
        app, provider="click2dial", provider_settings=pbx.provider_settings(), **properties
    )
    accepted = submit_json(app.test_client(), widget_id, NUMBER)
    assert accepted.status_code == 202, accepted.get_json()
    callback_id = str(accepted.get_json()["id"])
    run_jobs(app)
    assert pbx.originate_count() == 1
    callback = _callback(app, callback_id)
    assert (callback.status, callback.provider_call_id) == (Status.HANDED_OFF, f"{callback_id}-1")
    status_url = str(accepted.get_json()["status_url"]).removeprefix("http://localhost")
    return widget_id, callback_id, status_url


def _lease_ends(app: Flask, callback_id: str) -> list[float]:
    """Seconds from the callback's end to each of its leases' expiry."""
    with app.app_context():
        session = db.session()
        callback = session.get(Callback, callback_id)
        assert callback is not None and callback.finished_at is not None
        return [
            (lease.expires_at - callback.finished_at).total_seconds()
            for lease in session.query(Lease).filter_by(holder=callback_id)
        ]


def _pass_time_for_leases(app: Flask, callback_id: str, seconds: float) -> None:
    with app.app_context():
        session = db.session()
        for lease in session.query(Lease).filter_by(holder=callback_id):
            lease.expires_at -= timedelta(seconds=seconds)
        session.commit()


def test_click2dial_and_voiptech_cannot_report_a_calls_outcome() -> None:
    assert not providers.provider_class("click2dial").can(providers.Capability.REPORTS_STATUS)
    assert not providers.provider_class("voiptech").can(providers.Capability.REPORTS_STATUS)


def test_a_call_its_provider_cannot_report_is_handed_off_with_a_short_lease(
    app: Flask,
) -> None:
    bound = providers.provider_class("click2dial").handoff_lease_seconds
    with Click2DialFake() as pbx:
        widget_id, callback_id, status_url = _click2dial_call(app, pbx, throttle=1)
        _age(app, callback_id, seconds=PAST_THE_LEASE)
        assert _reconcile(app) == {}  # ended: nothing for the reconciler
        assert pbx.originate_count() == 1
    callback = _callback(app, callback_id)
    assert (callback.status, callback.cause) == (Status.HANDED_OFF, "provider_reports_no_outcome")
    assert callback.finished_at is not None
    with app.app_context():
        [event] = (
            db.session()
            .query(CallEvent)
            .filter_by(callback_id=callback_id, status=Status.HANDED_OFF)
            .all()
        )
        assert (event.source, event.applied) == ("click2dial", True)
        assert event.details == {
            "provider": "click2dial",
            "reports_outcome": False,
            "confirmed": Status.DIALING,
        }
    # The visitor is told the call is under way, never that it finished.
    shown = app.test_client().get(status_url).get_json()
    assert (shown["status"], shown["terminal"], shown["reason"]) == ("handed_off", True, None)
    assert shown["text"] == "Our team is calling you now."
    # The number and the widget's slot stay taken for the provider's bound, and no longer.
    assert [round(end) for end in _lease_ends(app, callback_id)] == [bound, bound]
    refused = submit_json(app.test_client(), widget_id, NUMBER)
    assert refused.status_code == 429
    _pass_time_for_leases(app, callback_id, bound + 1)
    assert submit_json(app.test_client(), widget_id, NUMBER).status_code == 202


def test_an_agent_answered_call_its_provider_cannot_report_is_handed_off(
    app: Flask,
) -> None:
    # Voiptech answers once the agent picked up, then is silent.
    bound = providers.provider_class("voiptech").handoff_lease_seconds
    with VoiptechFake() as pbx:
        widget_id = add_widget(app, provider="voiptech", provider_settings=pbx.provider_settings())
        callback_id = _accept(app, widget_id)
        run_jobs(app)
        assert len(pbx.calls) == 1
    callback = _callback(app, callback_id)
    assert (callback.status, callback.cause) == (Status.HANDED_OFF, "provider_reports_no_outcome")
    assert [round(end) for end in _lease_ends(app, callback_id)] == [bound]
    _age(app, callback_id, seconds=PAST_THE_LEASE)
    assert _reconcile(app) == {}


def test_a_placed_call_whose_answer_named_no_call_is_handed_off(app: Flask) -> None:
    with VoiptechFake() as pbx:
        pbx.answer_next(200, '{"status": "ok"}')  # accepted, with no leg ids
        widget_id = add_widget(app, provider="voiptech", provider_settings=pbx.provider_settings())
        callback_id = _accept(app, widget_id)
        run_jobs(app)
    callback = _callback(app, callback_id)
    assert (callback.status, callback.provider_call_id) == (Status.HANDED_OFF, None)


def _back_to(app: Flask, callback_id: str, status: Status) -> None:
    """Leave a callback in `status`, as a version that did not hand calls off stored it."""
    with app.app_context():
        session = db.session()
        session.execute(
            update(Callback)
            .where(Callback.id == callback_id)
            .values(status=status, cause=None, finished_at=None)
        )
        session.execute(
            CallEvent.__table__.delete().where(
                CallEvent.callback_id == callback_id, CallEvent.status == Status.HANDED_OFF
            )
        )
        session.commit()


def test_a_call_left_dialing_on_a_provider_that_cannot_report_is_handed_off(app: Flask) -> None:
    with Click2DialFake() as pbx:
        _widget_id, callback_id, _status_url = _click2dial_call(app, pbx)
        _back_to(app, callback_id, Status.DIALING)
        _age(app, callback_id, seconds=INSIDE_THE_LEASE)

        assert _reconcile(app) == {"handed_off": 1}
        assert _reconcile(app) == {}
        assert pbx.originate_count() == 1
    callback = _callback(app, callback_id)
    assert (callback.status, callback.cause) == (Status.HANDED_OFF, "provider_reports_no_outcome")
    with app.app_context():
        [event] = (
            db.session()
            .query(CallEvent)
            .filter_by(callback_id=callback_id, status=Status.HANDED_OFF)
            .all()
        )
        assert event.details["last_confirmed"] == Status.DIALING
        assert event.details["reconciled"] is True


def test_a_placed_call_whose_provider_settings_no_longer_build_is_handed_off(
    app: Flask,
) -> None:
    with Click2DialFake() as pbx:
        widget_id, callback_id, _status_url = _click2dial_call(app, pbx)
    _back_to(app, callback_id, Status.DIALING)
    with app.app_context():  # the widget's provider settings can no longer be used
        session = db.session()
        widget = session.get(Widget, widget_id)
        assert widget is not None
        widget.provider_settings = {"outbound_id": "not a number"}
        session.commit()
    _age(app, callback_id, seconds=INSIDE_THE_LEASE)
    assert _reconcile(app) == {"handed_off": 1}
    callback = _callback(app, callback_id)
    assert (callback.status, callback.cause) == (Status.HANDED_OFF, "provider_reports_no_outcome")


def test_an_attempt_a_provider_that_cannot_report_never_answered_still_fails_as_lost(
    app: Flask,
) -> None:
    with Click2DialFake() as pbx:
        widget_id = add_widget(
            app, provider="click2dial", provider_settings=pbx.provider_settings()
        )
        callback_id = _accept(app, widget_id)
        _lose_attempt(app, callback_id)  # no answer recorded: maybe no call was placed

        assert _reconcile(app) == {"lost": 1}
        assert pbx.originate_count() == 0
    callback = _callback(app, callback_id)
    assert (callback.status, callback.cause) == (Status.FAILED, "lost")
    assert [e.cause for e in _reconciler_events(app, callback_id)] == ["lost"]
    assert _leases_held(app, callback_id) == 0


def test_a_late_report_of_an_earlier_attempt_is_no_answer_to_the_current_one(
    app: Flask,
) -> None:
    with Click2DialFake() as pbx:
        widget_id = add_widget(
            app, provider="click2dial", provider_settings=pbx.provider_settings()
        )
        callback_id = _accept(app, widget_id)
        _drop_queue(app)
        _crash_after_dialing(app, callback_id, attempt=2)
        with app.app_context():  # attempt 1's end arrives after attempt 2 started
            session = db.session()
            session.add(
                CallEvent(
                    callback_id=callback_id,
                    status=Status.NO_ANSWER,
                    source="click2dial",
                    details={"attempt": 1},
                    applied=False,
                )
            )
            session.commit()
        _age(app, callback_id, seconds=PAST_THE_LEASE)

        assert _reconcile(app) == {"lost": 1}
        assert pbx.originate_count() == 0
    assert _callback(app, callback_id).status == Status.FAILED


def test_a_provider_refusing_for_good_to_report_a_placed_call_completes_unreported(
    app: Flask,
) -> None:
    with serve_ledger() as ledger:
        widget_id = add_widget(app, provider="webhook", provider_settings=ledger.settings())
        callback_id = _accept(app, widget_id)
        run_jobs(app)
        assert _callback(app, callback_id).status == Status.AGENT_RINGING
        with app.app_context():  # the receiver's secret changed: it refuses every query
            session = db.session()
            widget = session.get(Widget, widget_id)
            assert widget is not None
            widget.provider_settings = ledger.settings(secret="whsec-another-secret-0000")
            session.commit()
        _age(app, callback_id, seconds=INSIDE_THE_LEASE)
        assert _reconcile(app) == {"provider_unreachable": 1}

        _age(app, callback_id, seconds=PAST_THE_LEASE)
        assert _reconcile(app) == {"unreported": 1}
        assert len(ledger.status_queries) == 0  # both refused before the ledger looked
    callback = _callback(app, callback_id)
    assert (callback.status, callback.cause) == (Status.COMPLETED, "unreported")


def test_a_call_its_provider_still_holds_is_left_alone(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider that knows the call and has no end for it yet: nothing is settled."""
    from widget_server.providers import base, webhook

    with serve_ledger() as ledger:
        widget_id = add_widget(app, provider="webhook", provider_settings=ledger.settings())
        callback_id = _accept(app, widget_id)
        run_jobs(app)
        _age(app, callback_id, seconds=INSIDE_THE_LEASE)  # stale, within the lease
        monkeypatch.setattr(
            webhook.WebhookProvider,
            "call_status",
            lambda self, call_id, key: base.CallState(placed=True, event=None),
        )

        assert _reconcile(app) == {"in_progress": 1}
    assert _callback(app, callback_id).status == Status.AGENT_RINGING
    assert _reconciler_events(app, callback_id) == []


def _move(app: Flask, callback_id: str, status: Status) -> None:
    """Record a provider's report that moved the callback on (as its events would)."""
    with app.app_context():
        session = db.session()
        callback = session.get(Callback, callback_id)
        assert callback is not None
        apply_status(session, callback, status, source="webhook")
        session.commit()


def _events(app: Flask, callback_id: str) -> int:
    with app.app_context():
        return db.session().query(CallEvent).filter_by(callback_id=callback_id).count()


def test_a_conversation_its_provider_can_report_is_asked_about_before_the_lease(
    app: Flask,
) -> None:
    with serve_ledger() as ledger:
        widget_id = add_widget(app, provider="webhook", provider_settings=ledger.settings())
        callback_id = _accept(app, widget_id)
        run_jobs(app)
        _move(app, callback_id, Status.CONNECTED)
        ledger.state = "connected"  # the conversation goes on
        _age(app, callback_id, seconds=INSIDE_THE_LEASE)
        recorded = _events(app, callback_id)

        assert _reconcile(app) == {"in_progress": 1}
        assert ledger.status_queries == [f"{callback_id}-1"]
        assert _events(app, callback_id) == recorded  # nothing new: nothing recorded
        assert _callback(app, callback_id).status == Status.CONNECTED

        ledger.state = "completed"  # it ended, and the report of it was lost
        assert _reconcile(app) == {"resolved": 1}
    assert _callback(app, callback_id).status == Status.COMPLETED
    assert _leases_held(app, callback_id) == 0


def test_a_conversation_still_reported_going_past_the_lease_completes_unreported(
    app: Flask,
) -> None:
    with serve_ledger() as ledger:
        widget_id = add_widget(app, provider="webhook", provider_settings=ledger.settings())
        callback_id = _accept(app, widget_id)
        run_jobs(app)
        _move(app, callback_id, Status.CONNECTED)
        ledger.state = "connected"
        _age(app, callback_id, seconds=PAST_THE_LEASE)

        assert _reconcile(app) == {"unreported": 1}
    callback = _callback(app, callback_id)
    assert (callback.status, callback.cause) == (Status.COMPLETED, "unreported")


@pytest.mark.parametrize("fake_class", [FreeswitchFake, AsteriskFake], ids=["esl", "ami"])
def test_a_pbx_conversation_ends_minutes_after_its_channels_are_gone(
    app: Flask, fake_class: type[FreeswitchFake] | type[AsteriskFake]
) -> None:
    provider = "freeswitch" if fake_class is FreeswitchFake else "asterisk"
    with fake_class() as pbx:
        widget_id = add_widget(app, provider=provider, provider_settings=pbx.provider_settings())
        callback_id = _accept(app, widget_id)
        run_jobs(app)
        placed = _callback(app, callback_id)
        assert placed.status == Status.AGENT_ANSWERED and placed.provider_call_id
        _age(app, callback_id, seconds=INSIDE_THE_LEASE)
        recorded = _events(app, callback_id)

        assert _reconcile(app) == {"in_progress": 1}  # still talking: nothing recorded
        assert _events(app, callback_id) == recorded
        pbx.hang_up(placed.provider_call_id)
        assert _reconcile(app) == {"resolved": 1}
        assert pbx.originate_count() == 1
    callback = _callback(app, callback_id)
    assert (callback.status, callback.cause) == (Status.COMPLETED, "unreported")
    assert _leases_held(app, callback_id) == 0
