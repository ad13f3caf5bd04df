"""The reconciler: callbacks a crash left behind are settled, never dialled twice."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import update

from tests.fakes.kazoo import Fake as KazooFake
from tests.fakes.ledger import serve_ledger
from tests.helpers import add_widget, run_jobs, submit_json
from widget_server import db
from widget_server.models import Callback, CallEvent, utcnow
from widget_server.statuses import Status


def _accept(app: Flask, widget_id: str, phone: str = "+1 201 555 0123") -> str:
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
