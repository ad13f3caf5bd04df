"""Retries: an unanswered agent leg is called again up to max_retries, one call at a time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from tests.fakes.webhook import Fake as WebhookFake
from tests.helpers import add_widget, callbacks, run_jobs, submit_json
from tests.lifecycle import EVENT_BASE, post_webhook_event, state, webhook_widget
from widget_server.core import db
from widget_server.core.models import CallEvent, Lease, utcnow
from widget_server.jobs import Jobs
from widget_server.providers import CallRequest


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(EVENT_BASE_URL=EVENT_BASE)


@pytest.fixture(scope="module")
def webhook_fake() -> Iterator[WebhookFake]:
    with WebhookFake() as running:
        yield running


def jobs(app: Flask) -> Jobs:
    return app.extensions["jobs"]  # type: ignore[no-any-return]


def retry_events(app: Flask, callback_id: str) -> list[dict[str, Any]]:
    with app.app_context():
        rows = db.session().query(CallEvent).filter_by(callback_id=callback_id, status="retry_wait")
        return [dict(row.details) for row in rows.order_by(CallEvent.id)]


def test_agent_no_answer_is_retried_up_to_max_retries_with_backoff(
    app: Flask, originates: list[CallRequest]
) -> None:
    widget_id = add_widget(
        app,
        max_retries=2,
        retry_delay=30,
        provider_settings={"step_delay": 0, "fail": "agent_no_answer"},
    )
    submit_json(app.test_client(), widget_id)
    run_jobs(app)
    [callback] = callbacks(app)
    assert (callback.status, callback.cause, callback.attempts) == (
        "no_answer",
        "agent_no_answer",
        3,
    )
    assert [call.attempt for call in originates] == [1, 2, 3]
    assert [(e["attempt"], e["retry_in"]) for e in retry_events(app, callback.id)] == [
        (1, 30),
        (2, 60),
    ]
    # Each attempt gets its own signed event URL.
    urls = [call.event_url for call in originates]
    assert all(url and url.startswith(EVENT_BASE + "/v1/events/simulator/") for url in urls)
    assert len(set(urls)) == 3


def test_a_visitor_who_does_not_answer_is_not_called_again(
    app: Flask, originates: list[CallRequest]
) -> None:
    widget_id = add_widget(
        app, max_retries=3, provider_settings={"step_delay": 0, "fail": "visitor_no_answer"}
    )
    submit_json(app.test_client(), widget_id)
    run_jobs(app)
    [callback] = callbacks(app)
    assert (callback.status, callback.cause, callback.attempts) == (
        "no_answer",
        "visitor_no_answer",
        1,
    )
    assert len(originates) == 1


def test_no_answer_then_answered_through_a_fake_provider(
    app: Flask, webhook_fake: WebhookFake
) -> None:
    webhook_fake.reset()
    widget_id = webhook_widget(
        app, url=webhook_fake.provider_settings()["url"], max_retries=2, retry_delay=5
    )
    client = app.test_client()
    assert submit_json(client, widget_id).status_code == 202
    run_jobs(app)
    assert webhook_fake.originate_count() == 1
    first = webhook_fake.received[-1]["json"]
    [callback] = callbacks(app)
    assert first["attempt"] == 1 and callback.status == "agent_ringing"

    answer = post_webhook_event(
        client, first["event_url"], {"status": "no_answer", "cause": "agent_no_answer"}
    )
    assert answer.status_code == 200 and answer.get_json()["applied"] is True
    assert state(app, callback.id)[:2] == ("retry_wait", 1)

    run_jobs(app)
    assert webhook_fake.originate_count() == 2
    second = webhook_fake.received[-1]["json"]
    assert second["attempt"] == 2 and second["event_url"] != first["event_url"]
    assert second["idempotency_key"] == f"{callback.id}-2"
    assert state(app, callback.id)[:2] == ("agent_ringing", 2)

    # The first attempt's late hang-up is kept but moves nothing.
    late = post_webhook_event(client, first["event_url"], {"status": "completed"})
    assert late.status_code == 200 and late.get_json()["applied"] is False
    for step in ("agent_answered", "visitor_ringing", "connected", "completed"):
        reply = post_webhook_event(client, second["event_url"], {"status": step})
        assert reply.get_json()["applied"] is True, step
    run_jobs(app)
    assert webhook_fake.originate_count() == 2
    status, attempts, events = state(app, callback.id)
    assert (status, attempts) == ("completed", 2)
    assert [s for s, applied in events if applied] == [
        "queued",
        "dialing",
        "agent_ringing",
        "retry_wait",
        "dialing",
        "agent_ringing",
        "agent_answered",
        "visitor_ringing",
        "connected",
        "completed",
    ]
    assert ("no_answer", False) in events and ("completed", False) in events


def test_cancel_during_the_retry_wait_stops_every_further_call(
    app: Flask, originates: list[CallRequest]
) -> None:
    widget_id = add_widget(
        app,
        max_retries=3,
        retry_delay=60,
        provider_settings={"step_delay": 0, "fail": "agent_no_answer"},
    )
    client = app.test_client()
    status_url = submit_json(client, widget_id).get_json()["status_url"]
    jobs(app).run_pending(now=time.time())  # the first attempt; the retry is a minute away
    assert client.get(status_url).get_json()["status"] == "retry_wait"
    assert len(originates) == 1

    canceled = client.post(status_url + "/cancel", json={})
    assert canceled.status_code == 200
    assert canceled.get_json()["status"] == "canceled"
    run_jobs(app)  # the queued retry comes due, and finds the callback canceled
    assert len(originates) == 1
    [callback] = callbacks(app)
    assert (callback.status, callback.cause, callback.attempts) == (
        "canceled",
        "visitor_canceled",
        1,
    )


def test_a_dial_job_never_starts_a_second_live_call(
    app: Flask, originates: list[CallRequest]
) -> None:
    widget_id = add_widget(app, provider_settings={"step_delay": 5, "talk_time": 5})
    submit_json(app.test_client(), widget_id)
    jobs(app).run_pending(now=time.time())  # originated; its events are seconds away
    [callback] = callbacks(app)
    assert callback.status == "dialing" and len(originates) == 1
    with app.app_context():
        jobs(app).enqueue_dial(callback.id, 2)  # a stray job for a next attempt
    jobs(app).run_pending(now=time.time())
    assert len(originates) == 1
    assert callbacks(app)[0].attempts == 1


def test_retryable_originate_errors_wait_in_retry_wait(app: Flask) -> None:
    widget_id = add_widget(
        app,
        max_retries=1,
        retry_delay=30,
        provider_settings={"step_delay": 0, "fail": "provider_unavailable"},
    )
    client = app.test_client()
    status_url = submit_json(client, widget_id).get_json()["status_url"]
    jobs(app).run_pending(now=time.time())
    body = client.get(status_url).get_json()
    assert (body["status"], body["cancelable"], body["terminal"]) == ("retry_wait", True, False)
    run_jobs(app)
    body = client.get(status_url).get_json()
    assert (body["status"], body["attempts"]) == ("failed", 2)
    assert body["reason"]  # a plain reason for the visitor


def test_a_long_retry_wait_keeps_the_callbacks_leases(
    app: Flask, originates: list[CallRequest]
) -> None:
    # A one-hour backoff outlasts the 15-minute lease: without an extension, the number's
    # slot would lapse mid-wait and another request could take it.
    widget_id = add_widget(
        app,
        max_retries=1,
        retry_delay=3600,
        provider_settings={"step_delay": 0, "fail": "agent_no_answer"},
    )
    submit_json(app.test_client(), widget_id)
    jobs(app).run_pending(now=time.time() + 60)  # attempt 1 only: attempt 2 is an hour away
    [callback] = callbacks(app)
    assert (callback.status, len(originates)) == ("retry_wait", 1)
    with app.app_context():
        held = db.session().query(Lease).filter_by(holder=callback.id).all()
        assert {lease.key for lease in held} == {"number:+12015550123"}
        wait_and_lease = timedelta(seconds=3600 + app.config["LEASE_SECONDS"])
        for lease in held:
            assert lease.expires_at >= utcnow() + wait_and_lease - timedelta(seconds=60)
