"""Dial jobs: signed, committed-before-enqueued, at most one originate per attempt."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import pytest
from flask import Flask
from itsdangerous import URLSafeSerializer

from tests.helpers import SECRET, add_widget, callbacks, run_jobs, submit_json
from widget_server import providers
from widget_server.calls.status_machine import apply_status
from widget_server.core import db
from widget_server.core.job_payloads import DialJob, EventJob, OwnerEmailJob, WebhookJob
from widget_server.core.models import Callback
from widget_server.core.tokens import JOB_SALT, JobMalformed
from widget_server.jobs import Jobs
from widget_server.providers import CallRequest, Capability, OriginateResult, Provider


class RecordingProvider(Provider):
    """The smallest provider: proves the plug-in contract and counts what it was asked."""

    name = "recording"
    capabilities = frozenset({Capability.REPORTS_STATUS})  # its events would say more
    calls: ClassVar[list[CallRequest]] = []

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        if set(settings) - {"result"}:
            raise providers.ProviderConfigError({"result": "only setting"})
        return dict(settings)

    def originate(self, call: CallRequest) -> OriginateResult:
        RecordingProvider.calls.append(call)
        return OriginateResult(provider_call_id=f"rec-{len(self.calls)}", status="agent_ringing")


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[CallRequest]]:
    monkeypatch.setitem(providers.REGISTRY, "recording", RecordingProvider)
    RecordingProvider.calls = []
    yield RecordingProvider.calls


def jobs(app: Flask) -> Jobs:
    return app.extensions["jobs"]  # type: ignore[no-any-return]


def test_provider_gets_only_the_regenerated_e164_number(app: Flask, recording: list) -> None:
    widget_id = add_widget(
        app, provider="recording", provider_settings={}, timeout=35, caller_id_number="+15555550100"
    )
    client = app.test_client()
    assert (
        submit_json(client, widget_id, phone="(201) 555-0123", extra={"k": "v"}).status_code == 202
    )
    run_jobs(app)
    [call] = recording
    assert call.visitor_e164 == "+12015550123"
    assert call.agent == "1001" and call.timeout == 35 and call.caller_id_number == "+15555550100"
    assert call.extra == {"k": "v"} and call.attempt == 1
    [callback] = callbacks(app)
    assert callback.status == "agent_ringing" and callback.provider_call_id == "rec-1"


def test_callback_is_committed_before_its_job_is_enqueued(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    widget_id = add_widget(app)
    seen: list[str | None] = []
    original = jobs(app).enqueue_dial

    def enqueue_and_look(callback_id: str, attempt: int, delay: float = 0) -> None:
        # A separate connection sees only committed rows, as a worker process would.
        with app.extensions["db_sessions"]() as other:
            row = other.get(Callback, callback_id)
            seen.append(row.status if row else None)
        original(callback_id, attempt, delay)

    monkeypatch.setattr(jobs(app), "enqueue_dial", enqueue_and_look)
    assert submit_json(app.test_client(), widget_id).status_code == 202
    assert seen == ["queued"]


def test_queue_down_answers_503_and_the_callback_is_not_left_hanging(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    widget_id = add_widget(app)

    def broken(*_args: object) -> None:
        raise ConnectionError("queue store unreachable")

    monkeypatch.setattr(jobs(app).huey.storage, "enqueue", broken)
    response = submit_json(app.test_client(), widget_id)
    assert response.status_code == 503
    [callback] = callbacks(app)
    assert (callback.status, callback.cause) == ("failed", "queue_unavailable")


def test_a_bug_in_the_queue_wiring_is_raised_as_itself_not_as_an_outage(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    widget_id = add_widget(app)

    def miswired(*_args: object) -> None:
        raise TypeError("enqueue_dial() takes 2 positional arguments but 3 were given")

    monkeypatch.setattr(jobs(app), "enqueue_dial", miswired)
    assert submit_json(app.test_client(), widget_id).status_code == 500
    assert "unhandled error" in caplog.text and "TypeError: enqueue_dial()" in caplog.text
    # Committed before the job, and not marked as a queue outage: the reconciler's next
    # pass queues its lost dial job again.
    [callback] = callbacks(app)
    assert (callback.status, callback.cause) == ("queued", None)


@pytest.mark.parametrize("forged", ["not-signed", "IjEyMyI.forged-signature", 12345, None])
def test_forged_jobs_never_dial(app: Flask, recording: list, forged: object) -> None:
    add_widget(app, provider="recording", provider_settings={})
    jobs(app)._dial(forged)
    run_jobs(app)
    assert recording == []
    assert callbacks(app) == []


def test_forged_job_naming_a_queued_callback_marks_it_failed(
    app: Flask, recording: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    widget_id = add_widget(app, provider="recording", provider_settings={})
    monkeypatch.setattr(jobs(app), "enqueue_dial", lambda *a: None)  # the real job never lands
    submit_json(app.test_client(), widget_id)
    [callback] = callbacks(app)
    with app.app_context():
        real = app.extensions["tokens"].sign_job(DialJob(callback.id, 1))
    payload, signature = real.rsplit(".", 1)
    jobs(app)._dial(f"{payload}.{'A' * len(signature)}")
    run_jobs(app)
    assert recording == []
    [callback] = callbacks(app)
    assert (callback.status, callback.cause) == ("failed", "job_forged")


THE_CALLBACK = "<the queued callback>"


@pytest.mark.parametrize(
    "payload",
    [
        {"c": THE_CALLBACK, "a": 1, "s": "agent_ringing", "cause": None, "pid": None, "src": "s"},
        {"email": THE_CALLBACK, "s": "queued"},
        {"wd": 1, "a": 1},
        {"c": THE_CALLBACK, "a": True},  # a bool is no attempt number
        {"c": THE_CALLBACK, "a": "1"},
        {"c": THE_CALLBACK},
    ],
)
def test_a_signed_job_of_another_shape_never_dials(
    app: Flask, recording: list, monkeypatch: pytest.MonkeyPatch, payload: dict[str, object]
) -> None:
    widget_id = add_widget(app, provider="recording", provider_settings={})
    monkeypatch.setattr(jobs(app), "enqueue_dial", lambda *a: None)  # the real job never lands
    submit_json(app.test_client(), widget_id)
    [callback] = callbacks(app)
    named = {key: callback.id if value == THE_CALLBACK else value for key, value in payload.items()}
    jobs(app)._dial(URLSafeSerializer(SECRET, salt=JOB_SALT).dumps(named))
    run_jobs(app)
    assert recording == []
    [callback] = callbacks(app)
    assert callback.status == "queued"  # signed by this server: dropped, not taken for a forgery


def test_job_payloads_read_back_as_signed(app: Flask) -> None:
    event = EventJob("c1", 2, "agent_ringing", cause=None, provider_call_id="p1", source="sim")
    with app.app_context():
        tokens = app.extensions["tokens"]
        for job in (DialJob("c1", 2), event, WebhookJob(7, 1), OwnerEmailJob("c1", "completed")):
            assert tokens.read_job(tokens.sign_job(job), type(job)) == job
        with pytest.raises(JobMalformed):
            tokens.read_job(tokens.sign_job(DialJob("c1", 2)), EventJob)


def test_a_redelivered_job_does_not_dial_twice(app: Flask, recording: list) -> None:
    widget_id = add_widget(app, provider="recording", provider_settings={})
    submit_json(app.test_client(), widget_id)
    [callback] = callbacks(app)
    with app.app_context():
        signed = app.extensions["tokens"].sign_job(DialJob(callback.id, 1))
    run_jobs(app)
    jobs(app)._dial(signed)  # the same job again, as after a worker crash
    run_jobs(app)
    assert len(recording) == 1


@pytest.mark.parametrize(
    ("fail", "status", "cause"),
    [
        ("none", "completed", None),
        ("agent_no_answer", "no_answer", "agent_no_answer"),
        ("visitor_busy", "busy", "visitor_busy"),
        ("visitor_no_answer", "no_answer", "visitor_no_answer"),
        ("provider_error", "failed", "provider_error"),
    ],
)
def test_simulator_scenarios_end_in_the_right_status(
    app: Flask, fail: str, status: str, cause: str | None
) -> None:
    widget_id = add_widget(app, provider_settings={"step_delay": 0, "talk_time": 0, "fail": fail})
    submit_json(app.test_client(), widget_id)
    run_jobs(app)
    [callback] = callbacks(app)
    assert (callback.status, callback.cause) == (status, cause)


def test_retryable_failures_are_retried_up_to_max_retries(app: Flask) -> None:
    widget_id = add_widget(
        app,
        max_retries=2,
        retry_delay=30,
        provider_settings={"step_delay": 0, "fail": "provider_unavailable"},
    )
    submit_json(app.test_client(), widget_id)
    run_jobs(app)
    [callback] = callbacks(app)
    assert (callback.status, callback.cause, callback.attempts) == (
        "failed",
        "provider_unavailable",
        3,
    )
    with app.app_context():
        events = db.session().get(Callback, callback.id).events
        assert [e.details.get("retry_in") for e in events if "retry_in" in e.details] == [30, 60]


def test_status_only_moves_forward(app: Flask) -> None:
    widget_id = add_widget(app)
    submit_json(app.test_client(), widget_id)
    run_jobs(app)
    with app.app_context():
        session = db.session()
        callback = session.query(Callback).one()
        assert callback.status == "completed"
        assert not apply_status(session, callback, "agent_ringing", source="simulator")
        assert not apply_status(session, callback, "failed", source="simulator")
        session.commit()
        assert callback.status == "completed"
        assert [e.applied for e in callback.events][-2:] == [False, False]


def test_a_widget_with_broken_provider_settings_fails_cleanly(
    app: Flask, make_app: Callable[..., Flask]
) -> None:
    widget_id = add_widget(app)
    with app.app_context():
        from widget_server.core.models import Widget

        session = db.session()
        session.get(Widget, widget_id).provider_settings = {"fail": "sometimes"}
        session.commit()
    submit_json(app.test_client(), widget_id)
    run_jobs(app)
    [callback] = callbacks(app)
    assert (callback.status, callback.cause) == ("failed", "provider_config")
