"""Outbound webhooks: signed events, retries, dead letters, SSRF refusals, test and log.

The signature scheme itself is tested in tests/test_signing.py.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from tests.fakes.server import serve_wsgi
from tests.helpers import add_account, add_widget, admin_auth, put_widget, run_jobs, submit_json
from widget_server.core import db, egress, signing
from widget_server.core.models import Callback, WebhookDelivery, Widget
from widget_server.notify import webhooks

SECRET = "whsec-test-0123456789abcdef"
PAGE = "https://shop.example.com/offer?utm_source=news&utm_medium=email&utm_campaign=spring&x=1"
LOCAL = {"WEBHOOK_ALLOW_HTTP": True, "WEBHOOK_ALLOW_PRIVATE": True}


@dataclass
class Receiver:
    """A site owner's webhook endpoint: records requests, answers from a script of codes."""

    codes: list[int] = field(default_factory=list)
    by_event: dict[str, list[int]] = field(default_factory=dict)  # scripted per event type
    delay: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        with self.lock:
            self.received.append(
                {
                    "body": body,
                    "signature": environ.get("HTTP_X_WIDGET_SERVER_SIGNATURE"),
                    "event": environ.get("HTTP_X_WIDGET_SERVER_EVENT"),
                    "event_id": environ.get("HTTP_X_WIDGET_SERVER_EVENT_ID"),
                    "content_type": environ.get("CONTENT_TYPE"),
                }
            )
            scripted = self.by_event.get(environ.get("HTTP_X_WIDGET_SERVER_EVENT", ""))
            if scripted:
                code = scripted.pop(0)
            else:
                code = self.codes.pop(0) if self.codes else 200
        if self.delay:
            time.sleep(self.delay)
        start_response(f"{code} X", [("Content-Type", "text/plain")])
        return [b"ok"]

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(item["body"]) for item in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    with serve_wsgi(found) as base:
        found.url = base + "/hooks/callback"
        yield found


@pytest.fixture
def local_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(**LOCAL)


def _hooked_widget(app: Flask, url: str, **properties: Any) -> str:
    with app.app_context():
        return add_widget(app, webhook_url=url, webhook_secret=SECRET, **properties)


def _recorded_delivery(app: Flask, widget_id: str) -> int:
    """A queued callback of the widget and its `callback.created` delivery, not yet sent."""
    with app.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None
        callback = Callback(widget_id=widget_id, visitor_number="+12015550123", status="queued")
        db.session().add(callback)
        db.session().flush()
        delivery = webhooks.record(db.session(), callback, webhooks.CREATED)
        db.session().commit()
        assert delivery is not None
        return delivery.id


def _deliveries(app: Flask) -> list[WebhookDelivery]:
    with app.app_context():
        return list(db.session().scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


# Events of a callback's life ------------------------------------------------------------


def test_a_callback_life_is_delivered_signed_with_number_page_utm_and_extra(
    local_app: Flask, receiver: Receiver
) -> None:
    widget_id = _hooked_widget(local_app, receiver.url)
    client = local_app.test_client()
    response = submit_json(client, widget_id, page_url=PAGE, extra={"crm_id": "42"}, name="Ada")
    assert response.status_code == 202
    # Nothing is sent from the request itself: the submit path only queues.
    assert receiver.received == []
    run_jobs(local_app)

    for item in receiver.received:
        assert signing.verify(SECRET, item["signature"], item["body"])
        assert item["content_type"] == "application/json"
    events = receiver.events()
    kinds = [event["type"] for event in events]
    assert kinds[0] == "callback.created" and kinds[-1] == "callback.completed"
    assert set(kinds[1:-1]) == {"callback.status_changed"}
    statuses = [event["status"] for event in events]
    assert statuses[0] == "queued" and statuses[-1] == "completed"
    assert "dialing" in statuses and "connected" in statuses
    created = events[0]
    assert created["widget_id"] == widget_id
    assert created["callback_id"] == response.get_json()["id"]
    assert created["number"] == "+12015550123" and created["name"] == "Ada"
    assert created["page_url"] == PAGE and created["extra"] == {"crm_id": "42"}
    assert created["utm"] == {"utm_source": "news", "utm_medium": "email", "utm_campaign": "spring"}
    assert events[-1]["terminal"] is True and created["terminal"] is False
    assert len({event["id"] for event in events}) == len(events)
    assert [item["event_id"] for item in receiver.received] == [event["id"] for event in events]
    assert [item["event"] for item in receiver.received] == kinds

    deliveries = _deliveries(local_app)
    assert [d.status for d in deliveries] == ["delivered"] * len(events)
    assert all(d.attempts == 1 and d.last_status_code == 200 for d in deliveries)
    with local_app.app_context():
        stored = db.session().get(Callback, response.get_json()["id"])
        assert stored is not None and stored.utm == created["utm"]


def test_utm_parameters_are_captured_from_the_form_page_too(local_app: Flask) -> None:
    widget_id = add_widget(local_app)
    client = local_app.test_client()
    page = (
        "https://shop.example.com/?utm_term=call+me&utm_content=%3Cb%3E&utm_source=a&utm_source=b"
    )
    assert submit_json(client, widget_id, page_url=page).status_code == 202
    with local_app.app_context():
        stored = db.session().scalars(select(Callback)).one()
        assert stored.utm == {"utm_term": "call me", "utm_content": "<b>", "utm_source": "a"}


def test_a_missed_call_is_sent_as_callback_failed(local_app: Flask, receiver: Receiver) -> None:
    widget_id = _hooked_widget(
        local_app,
        receiver.url,
        provider_settings={"step_delay": 0, "talk_time": 0, "fail": "visitor_no_answer"},
    )
    assert submit_json(local_app.test_client(), widget_id).status_code == 202
    run_jobs(local_app)
    last = receiver.events()[-1]
    assert last["type"] == "callback.failed" and last["status"] == "no_answer"
    assert last["terminal"] is True


def test_widgets_without_a_webhook_queue_nothing(local_app: Flask, receiver: Receiver) -> None:
    widget_id = add_widget(local_app)
    assert submit_json(local_app.test_client(), widget_id).status_code == 202
    run_jobs(local_app)
    assert receiver.received == [] and _deliveries(local_app) == []


# Retries and dead letters -------------------------------------------------------------


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(
    make_app: Callable[..., Flask], receiver: Receiver
) -> None:
    app = make_app(**LOCAL, WEBHOOK_RETRY_BASE_DELAY=7)
    widget_id = _hooked_widget(app, receiver.url, provider_settings={"fail": "provider_error"})
    receiver.by_event = {"callback.created": [500, 502]}  # its first two attempts fail
    scheduled: list[float] = []
    jobs = app.extensions["jobs"]
    original = jobs.enqueue_webhook

    def spy(delivery_id: int, attempt: int, delay: float = 0) -> None:
        if delay:
            scheduled.append(delay)
        original(delivery_id, attempt, delay)

    jobs.enqueue_webhook = spy
    assert submit_json(app.test_client(), widget_id).status_code == 202
    run_jobs(app)

    first = _deliveries(app)[0]
    assert first.event == "callback.created"
    assert first.status == "delivered" and first.attempts == 3 and first.last_status_code == 200
    assert scheduled == [7.0, 14.0]  # doubling from WEBHOOK_RETRY_BASE_DELAY
    created_ids = [
        item["event_id"] for item in receiver.received if item["event"] == "callback.created"
    ]
    assert len(created_ids) == 3 and len(set(created_ids)) == 1  # the same event, retried
    # Every retry is signed afresh.
    assert all(signing.verify(SECRET, r["signature"], r["body"]) for r in receiver.received)


def test_after_the_last_attempt_the_delivery_is_dead_and_the_call_unaffected(
    make_app: Callable[..., Flask], receiver: Receiver
) -> None:
    app = make_app(**LOCAL, WEBHOOK_MAX_ATTEMPTS=3)
    widget_id = _hooked_widget(app, receiver.url)
    receiver.codes = [503] * 1000
    response = submit_json(app.test_client(), widget_id)
    run_jobs(app)
    deliveries = _deliveries(app)
    assert deliveries and all(d.status == "dead" for d in deliveries)
    assert all(d.attempts == 3 and d.last_status_code == 503 for d in deliveries)
    assert deliveries[0].last_error == "answered HTTP 503"
    assert len(receiver.received) == 3 * len(deliveries)
    with app.app_context():
        callback = db.session().get(Callback, response.get_json()["id"])
        assert callback is not None and callback.status == "completed"


def test_a_slow_receiver_times_out_and_is_retried(
    make_app: Callable[..., Flask], receiver: Receiver
) -> None:
    app = make_app(**LOCAL, WEBHOOK_TIMEOUT=1, WEBHOOK_MAX_ATTEMPTS=2)
    widget_id = _hooked_widget(app, receiver.url)
    receiver.delay = 1.5
    delivery_id = _recorded_delivery(app, widget_id)
    with app.app_context():
        app.extensions["jobs"].enqueue_webhook(delivery_id, 1)
    run_jobs(app)
    [stored] = _deliveries(app)
    assert stored.status == "dead" and stored.attempts == 2 and stored.last_error == "timeout"


def test_a_redelivered_job_never_sends_twice(local_app: Flask, receiver: Receiver) -> None:
    widget_id = _hooked_widget(local_app, receiver.url)
    assert submit_json(local_app.test_client(), widget_id).status_code == 202
    run_jobs(local_app)
    sent = len(receiver.received)
    first = _deliveries(local_app)[0]
    with local_app.app_context():
        local_app.extensions["jobs"].enqueue_webhook(first.id, 1)  # the same attempt again
    run_jobs(local_app)
    assert len(receiver.received) == sent


def test_events_the_queue_could_not_take_are_swept_up_later(
    local_app: Flask, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    widget_id = _hooked_widget(local_app, receiver.url)
    jobs = local_app.extensions["jobs"]
    working = jobs.enqueue_webhook

    def queue_down(*_args: Any) -> None:
        raise ConnectionError("queue unreachable")

    jobs.enqueue_webhook = queue_down
    response = submit_json(local_app.test_client(), widget_id)
    assert response.status_code == 202  # the callback does not depend on its webhook
    run_jobs(local_app)
    assert "after-commit action failed" in caplog.text
    assert receiver.received == []
    jobs.enqueue_webhook = working
    deliveries = _deliveries(local_app)
    assert deliveries and all(d.status == "pending" and d.attempts == 0 for d in deliveries)
    assert jobs.sweep_webhooks() == 0  # not overdue yet
    with local_app.app_context():
        for delivery in db.session().scalars(select(WebhookDelivery)):
            delivery.next_attempt_at = delivery.next_attempt_at - timedelta(minutes=10)
        db.session().commit()
    assert jobs.sweep_webhooks() == len(deliveries)
    run_jobs(local_app)
    assert [d.status for d in _deliveries(local_app)] == ["delivered"] * len(deliveries)
    assert [event["type"] for event in receiver.events()][0] == "callback.created"
    assert jobs.sweep_webhooks() == 0
    with local_app.app_context():
        callback = db.session().get(Callback, response.get_json()["id"])
        assert callback is not None and callback.status == "completed"


def test_a_forged_webhook_job_sends_nothing(
    local_app: Flask, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    widget_id = _hooked_widget(local_app, receiver.url)
    delivery_id = _recorded_delivery(local_app, widget_id)
    jobs = local_app.extensions["jobs"]
    jobs._webhook(json.dumps({"wd": delivery_id, "a": 1}))  # unsigned
    with local_app.app_context():
        from widget_server.core.job_payloads import WebhookJob
        from widget_server.core.tokens import tokens

        forged = tokens().sign_job(WebhookJob(delivery_id, 1))[:-2] + "xx"
    jobs._webhook(forged)
    run_jobs(local_app)
    assert receiver.received == []
    assert "refused a webhook job" in caplog.text
    assert _deliveries(local_app)[0].status == "pending"


# SSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allow_http", "allow_private", "problem"),
    [
        ("https://crm.example.com/hook", False, False, None),
        ("http://crm.example.com/hook", False, False, "must be an https:// URL"),
        ("http://crm.example.com/hook", True, False, None),
        ("ftp://crm.example.com/hook", True, True, "must be an http(s):// URL"),
        ("https://127.0.0.1/hook", False, False, "must be a public address"),
        ("https://10.1.2.3/hook", False, False, "must be a public address"),
        ("https://169.254.169.254/latest/meta-data", False, False, "must be a public address"),
        ("https://[::1]/hook", False, False, "must be a public address"),
        ("https://[::ffff:192.168.0.1]/hook", False, False, "must be a public address"),
        ("https://100.64.0.1/hook", False, False, "must be a public address"),
        ("https://localhost/hook", False, False, "must be a public host"),
        ("https://db.internal/hook", False, False, "must be a public host"),
        ("https://127.0.0.1/hook", False, True, None),
        ("https://user:pw@crm.example.com/hook", False, False, "must not contain a user name"),
        ("https://crm.example.com:99999/", False, False, "is not a valid URL"),
        ("https://crm.example.com/a b", False, False, "must not contain spaces"),
        ("https:///nohost", False, False, "must name a host"),
    ],
)
def test_url_checks(url: str, allow_http: bool, allow_private: bool, problem: str | None) -> None:
    found = egress.url_problem(url, allow_http=allow_http, allow_private=allow_private)
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem), found


def test_a_name_resolving_to_loopback_is_refused_before_connecting(
    make_app: Callable[..., Flask], receiver: Receiver, loopback_resolver: dict[str, list[str]]
) -> None:
    # Plain http allowed (as in development), private addresses not. The name passes the
    # URL's own check, but resolves to 127.0.0.1 (only later, say: it is stored directly),
    # and the address it resolves to is refused before anything connects to it.
    app = make_app(WEBHOOK_ALLOW_HTTP=True)
    loopback_resolver["crm.rebound.test"] = ["127.0.0.1"]
    url = receiver.url.replace("127.0.0.1", "crm.rebound.test")
    with app.app_context():
        assert egress.url_problem(url, allow_http=True, allow_private=False) is None
    widget_id = add_widget(app)
    with app.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None
        widget.webhook_url, widget.webhook_secret = url, SECRET
        db.session().commit()
    assert submit_json(app.test_client(), widget_id).status_code == 202
    run_jobs(app)
    assert receiver.received == []
    deliveries = _deliveries(app)
    assert deliveries and all(d.status == "dead" and d.attempts == 1 for d in deliveries)
    assert deliveries[0].last_error == "destination not allowed: non-public address"


def test_the_guarded_session_refuses_private_peers_and_allows_them_when_told(
    receiver: Receiver,
) -> None:
    with pytest.raises(egress.DestinationRefused):
        egress.guarded_session(allow_private=False).post(receiver.url, data=b"{}", timeout=5)
    assert receiver.received == []
    response = egress.guarded_session(allow_private=True).post(receiver.url, data=b"{}", timeout=5)
    assert response.status_code == 200 and len(receiver.received) == 1


# Admin API and CLI --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"webhook_url": "http://crm.example.com/h", "webhook_secret": SECRET},
            "webhook_url",
            "must be an https:// URL",
        ),
        (
            {"webhook_url": "https://10.0.0.5/h", "webhook_secret": SECRET},
            "webhook_url",
            "must be a public address, not a private, loopback or link-local one",
        ),
        (
            {"webhook_url": "https://crm.example.com/h"},
            "webhook_secret",
            "is required when webhook_url is set",
        ),
        (
            {"webhook_url": "https://crm.example.com/h", "webhook_secret": "short"},
            "webhook_secret",
            "must be 16 to 256 characters",
        ),
        ({"webhook_secret": 12345678901234567}, "webhook_secret", "must be a string"),
        (
            {"notify_emails": ["owner@example.com", "no-at-sign"]},
            "notify_emails",
            "not an email address such as owner@example.com: 'no-at-sign'",
        ),
        (
            {"notify_emails": ["a@example.com\r\nBcc: x@evil.example"]},
            "notify_emails",
            "not an email address such as owner@example.com: "
            "'a@example.com\\r\\nBcc: x@evil.example'",
        ),
        (
            {"notify_emails": "owner@example.com"},
            "notify_emails",
            "must be a list of at most 10 email addresses",
        ),
    ],
)
def test_owner_properties_are_validated_per_field(
    app: Flask, data: dict[str, Any], field: str, message: str
) -> None:
    account, key = add_account(app)
    response = put_widget(app.test_client(), account, key, **data)
    assert response.status_code == 400
    [rule] = response.get_json()["data"][field]
    assert response.get_json()["data"][field][rule]["message"] == message


def test_the_secret_is_write_only_encrypted_and_never_logged(
    local_app: Flask, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    account, key = add_account(local_app)
    client = local_app.test_client()
    created = put_widget(
        client,
        account,
        key,
        webhook_url=receiver.url,
        webhook_secret=SECRET,
        notify_emails=["owner@example.com"],
        allowed_origins=["https://shop.example.com", "http://localhost"],
        auth_required=False,
        provider_settings={"step_delay": 0, "talk_time": 0},
    )
    assert created.status_code == 200, created.get_json()
    document = created.get_json()["data"]
    assert document["webhook_secret"] == "••••" and document["webhook_url"] == receiver.url
    assert document["notify_emails"] == ["owner@example.com"]
    widget_id = document["id"]
    url = f"/v1/accounts/{account}/clicktocall/{widget_id}"
    headers = admin_auth(key)
    # Sending the read document back (mask included) keeps the secret; so does a replace.
    # (provider settings are masked too; the client leaves them out to keep them)
    sent_back = {k: v for k, v in document.items() if k != "provider_settings"}
    back = client.post(url, json={"data": sent_back}, headers=headers)
    assert back.status_code == 200, back.get_json()
    answers = [created, back, client.get(url, headers=headers)]

    assert submit_json(client, widget_id).status_code == 202
    run_jobs(local_app)
    answers.append(client.post(url + "/webhook/test", headers=headers))
    answers.append(client.get(url + "/webhook/deliveries", headers=headers))
    for answer in answers:
        assert answer.status_code == 200
        assert SECRET not in answer.get_data(as_text=True)
    assert SECRET not in caplog.text
    assert all(signing.verify(SECRET, r["signature"], r["body"]) for r in receiver.received)
    with local_app.app_context():
        raw = (
            db.session()
            .execute(text("SELECT webhook_secret FROM widgets WHERE id = :id"), {"id": widget_id})
            .scalar_one()
        )
        assert SECRET not in json.dumps(raw) and "fernet" in json.dumps(raw)
    runner = local_app.test_cli_runner()
    shown = runner.invoke(args=["widgets", "show", widget_id])
    assert shown.exit_code == 0 and SECRET not in shown.output
    assert json.loads(shown.output)["webhook_secret"] == "••••"


def test_the_test_endpoint_sends_a_sample_and_answers_the_result(
    local_app: Flask, receiver: Receiver
) -> None:
    account, key = add_account(local_app)
    client = local_app.test_client()
    headers = admin_auth(key)
    plain = put_widget(client, account, key).get_json()["data"]["id"]
    missing = client.post(
        f"/v1/accounts/{account}/clicktocall/{plain}/webhook/test", headers=headers
    )
    assert missing.status_code == 400
    assert missing.get_json()["data"]["webhook_url"]["invalid"]["message"].startswith("is not set")

    widget_id = put_widget(
        client, account, key, webhook_url=receiver.url, webhook_secret=SECRET
    ).get_json()["data"]["id"]
    url = f"/v1/accounts/{account}/clicktocall/{widget_id}/webhook/test"
    answer = client.post(url, headers=headers)
    assert answer.status_code == 200
    result = answer.get_json()["data"]
    assert result["event"] == "webhook.test" and result["status"] == "delivered"
    assert result["last_status_code"] == 200 and result["attempts"] == 1
    [sent] = receiver.received
    assert signing.verify(SECRET, sent["signature"], sent["body"])
    sample = json.loads(sent["body"])
    assert sample["type"] == "webhook.test" and sample["widget_id"] == widget_id
    assert sample["id"] == result["event_id"]

    receiver.codes = [500]
    failed = client.post(url, headers=headers).get_json()["data"]
    assert failed["status"] == "dead" and failed["last_status_code"] == 500
    assert client.post(url).status_code == 401
    other_account, other_key = add_account(local_app)
    assert client.post(url, headers=admin_auth(other_key)).status_code == 404


def test_the_delivery_log_lists_newest_first_and_filters(
    local_app: Flask, receiver: Receiver
) -> None:
    account, key = add_account(local_app)
    client = local_app.test_client()
    headers = admin_auth(key)
    widget_id = put_widget(
        client, account, key, webhook_url=receiver.url, webhook_secret=SECRET
    ).get_json()["data"]["id"]
    base = f"/v1/accounts/{account}/clicktocall/{widget_id}/webhook"
    client.post(base + "/test", headers=headers)
    receiver.codes = [500]
    client.post(base + "/test", headers=headers)

    listed = client.get(base + "/deliveries", headers=headers)
    assert listed.status_code == 200
    items = listed.get_json()["data"]
    assert [item["status"] for item in items] == ["dead", "delivered"]
    assert items[0]["id"] > items[1]["id"] and items[0]["payload"]["type"] == "webhook.test"
    dead = client.get(base + "/deliveries?status=dead", headers=headers).get_json()["data"]
    assert [item["status"] for item in dead] == ["dead"]
    one = client.get(base + "/deliveries?page_size=1", headers=headers).get_json()["data"]
    assert len(one) == 1
    bad = client.get(base + "/deliveries?page_size=0&status=lost", headers=headers)
    assert bad.status_code == 400
    assert set(bad.get_json()["data"]) == {"page_size", "status"}
    assert client.get(base + "/deliveries").status_code == 401


def test_cli_sends_a_test_event_and_lists_deliveries(local_app: Flask, receiver: Receiver) -> None:
    widget_id = _hooked_widget(local_app, receiver.url)
    runner = local_app.test_cli_runner()
    sent = runner.invoke(args=["widgets", "webhook-test", widget_id])
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.output)["status"] == "delivered" and len(receiver.received) == 1
    receiver.codes = [500]
    failed = runner.invoke(args=["widgets", "webhook-test", widget_id])
    assert failed.exit_code == 1 and '"answered HTTP 500"' in failed.output
    listed = runner.invoke(args=["widgets", "webhook-deliveries", widget_id, "--status", "dead"])
    assert listed.exit_code == 0
    lines = listed.output.strip().splitlines()
    assert len(lines) == 1 and "webhook.test" in lines[0] and "HTTP 500" in lines[0]
    plain = add_widget(local_app)
    refused = runner.invoke(args=["widgets", "webhook-test", plain])
    assert refused.exit_code != 0 and "no webhook_url" in refused.output
