"""The visitor's live status: the event stream, cancel as JSON and without JavaScript."""

from __future__ import annotations

import gzip
import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import (
    ORIGIN,
    SERVER,
    VALID_US,
    add_widget,
    callbacks,
    run_jobs,
    submit_json,
)
from widget_server.calls.live_status import StreamSettings, status_stream
from widget_server.calls.status_machine import apply_status
from widget_server.core import db
from widget_server.core.models import Callback, Lease
from widget_server.web.stream_slots import EXTENSION, StreamSlots

ROOT = Path(__file__).resolve().parent.parent
PAGE_BUDGET = 12 * 1024


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(LIVE_POLL_INTERVAL=0.05, LIVE_STREAM_SECONDS=1, LIVE_RETRY_MS=1500)


def queued(client: FlaskClient, widget_id: str, phone: str = VALID_US) -> str:
    """Submit a callback (its dial job waits in the queue); return its status URL path."""
    response = submit_json(client, widget_id, phone=phone)
    assert response.status_code == 202
    return str(response.get_json()["status_url"]).removeprefix("http://localhost")


def move(app: Flask, status: str, cause: str | None = None) -> None:
    with app.app_context():
        session = db.session()
        [callback] = session.query(Callback).all()
        apply_status(session, callback, status, source="simulator", cause=cause)
        session.commit()


def events(chunks: Iterator[bytes]) -> Iterator[dict[str, Any]]:
    """Parse Server-Sent Events from a streamed body, one event per yielded dict."""
    for chunk in chunks:
        text = chunk.decode()
        fields: dict[str, Any] = {}
        for line in text.strip("\n").split("\n"):
            if line.startswith(":") or not line:
                continue
            name, _, value = line.partition(": ")
            fields[name] = json.loads(value) if name == "data" else value
        if fields:
            yield fields


def test_stream_sends_the_status_at_once_then_each_change_then_ends(app: Flask) -> None:
    client = app.test_client()
    status_url = queued(client, add_widget(app))
    response = client.get(status_url + "/events", buffered=False)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-store"
    stream = events(iter(response.response))
    assert next(stream) == {"retry": "1500"}
    first = next(stream)
    assert first["event"] == "status" and first["id"] == "0.queued"
    assert first["data"]["status"] == "queued" and first["data"]["cancelable"] is True
    assert "2015550123" not in json.dumps(first)

    move(app, "dialing")
    move(app, "agent_ringing")
    ringing = next(stream)
    assert (ringing["id"], ringing["data"]["status"]) == ("0.agent_ringing", "agent_ringing")
    assert ringing["data"]["cancelable"] is False
    move(app, "busy", cause="visitor_busy")
    end = next(stream)
    assert end["data"]["status"] == "busy" and end["data"]["terminal"] is True
    assert end["data"]["reason"] == "Your line was busy."
    assert list(stream) == []  # the stream closes at a terminal status
    response.close()


def test_stream_ends_after_a_bounded_time_and_resumes_from_last_event_id(app: Flask) -> None:
    client = app.test_client()
    status_url = queued(client, add_widget(app))
    body = client.get(status_url + "/events").get_data(as_text=True)  # ends after 1 s
    assert body.count("event: status") == 1 and "id: 0.queued" in body
    again = client.get(status_url + "/events", headers={"Last-Event-ID": "0.queued"})
    assert "event: status" not in again.get_data(as_text=True)  # nothing new to say


def test_stream_generator_sends_keep_alives_while_nothing_changes() -> None:
    view = {"status": "queued", "attempts": 0, "terminal": False}
    now = [0.0]
    settings = StreamSettings(poll_seconds=5, max_seconds=40, retry_ms=1000)

    def sleep(seconds: float) -> None:
        now[0] += seconds

    chunks = list(status_stream(lambda: view, settings, clock=lambda: now[0], sleep=sleep))
    assert chunks[0] == "retry: 1000\n\n"
    assert chunks[1].startswith("id: 0.queued\nevent: status\n")
    assert chunks[2:] == [": keep-alive\n\n", ": keep-alive\n\n"]


def test_stream_answers_cors_only_for_allowed_origins(app: Flask) -> None:
    client = app.test_client()
    status_url = queued(client, add_widget(app))
    move(app, "failed", cause="agent_failed")
    allowed = client.get(status_url + "/events", headers={"Origin": ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    other = client.get(status_url + "/events", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "We couldn't reach our team." in other.get_data(as_text=True)


def test_forged_status_tokens_get_404_json(app: Flask) -> None:
    client = app.test_client()
    for path in ("/v1/callbacks/forged/events", "/v1/callbacks/forged/cancel"):
        response = client.post(path, json={}) if path.endswith("cancel") else client.get(path)
        assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def test_cancel_a_queued_callback_and_it_never_dials(app: Flask) -> None:
    client = app.test_client()
    status_url = queued(client, add_widget(app))
    response = client.post(status_url + "/cancel", json={}, headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    body = response.get_json()
    assert (body["status"], body["terminal"], body["cancelable"]) == ("canceled", True, False)
    with app.app_context():
        assert db.session().query(Lease).count() == 0  # the slots are free again
    again = client.post(status_url + "/cancel", json={})
    assert again.status_code == 200 and again.get_json()["status"] == "canceled"
    run_jobs(app)
    [callback] = callbacks(app)
    assert (callback.status, callback.cause, callback.attempts) == (
        "canceled",
        "visitor_canceled",
        0,
    )


@pytest.mark.parametrize("status", ["dialing", "connected", "completed", "failed"])
def test_cancel_once_a_call_is_under_way_or_over_answers_409(app: Flask, status: str) -> None:
    client = app.test_client()
    status_url = queued(client, add_widget(app))
    move(app, status)
    response = client.post(status_url + "/cancel", json={})
    assert response.status_code == 409
    message = response.get_json()["message"]
    assert "can't be canceled" in message
    assert ("already ended" in message) == (status in ("completed", "failed"))
    assert callbacks(app)[0].status == status


def test_cancel_needs_a_json_body(app: Flask) -> None:
    client = app.test_client()
    status_url = queued(client, add_widget(app))
    response = client.post(status_url + "/cancel", data="{}", content_type="text/plain")
    assert response.status_code == 415
    assert callbacks(app)[0].status == "queued"


def silenced_status_url(
    app: Flask, client: FlaskClient, widget_id: str, phone: str = VALID_US
) -> str:
    """Submit with the honeypot filled in, the clock held, so its visitor sees it queued."""
    app.extensions["clock"].set(datetime.now(UTC))  # a real call waiting for its dial job
    response = submit_json(client, widget_id, phone=phone, website="http://spam.example")
    assert response.status_code == 202
    return str(response.get_json()["status_url"]).removeprefix("http://localhost")


def test_a_honeypot_hit_streams_and_cancels_like_a_real_callback(app: Flask) -> None:
    client = app.test_client()
    widget_id = add_widget(app)
    status_url = silenced_status_url(app, client, widget_id)
    body = client.get(status_url + "/events").get_data(as_text=True)
    assert "event: status" in body and '"status": "queued"' in body
    response = client.post(status_url + "/cancel", json={})
    assert response.status_code == 200
    assert response.get_json()["status"] == "canceled"
    assert client.get(status_url).get_json()["status"] == "canceled"
    [callback] = callbacks(app)  # stored for the owner as it is, never dialled
    assert (callback.status, callback.cause, callback.attempts) == ("rejected", "honeypot", 0)


def _timed_stream(client: FlaskClient, path: str, **headers: str) -> tuple[float, str]:
    started = time.monotonic()
    with client.get(path, headers=headers) as response:  # closed, as a WSGI server does
        body = response.get_data(as_text=True)
    return time.monotonic() - started, body


def test_a_terminal_status_ends_the_stream_at_once(app: Flask) -> None:
    client = app.test_client()
    status_url = queued(client, add_widget(app))
    move(app, "completed")
    seconds, body = _timed_stream(client, status_url + "/events")
    assert body.count("event: status") == 1 and '"terminal": true' in body
    assert seconds < 0.5  # LIVE_STREAM_SECONDS is 1: the stream did not wait for it
    # A browser that already has the terminal event hears nothing and is let go at once.
    seconds, body = _timed_stream(
        client, status_url + "/events", **{"Last-Event-ID": "0.completed"}
    )
    assert "event: status" not in body and seconds < 0.5
    assert app.extensions[EXTENSION].open_count() == 0


def test_a_silenced_callback_streams_as_a_queued_one_does_and_ends_no_later(app: Flask) -> None:
    client = app.test_client()
    widget_id = add_widget(app)
    real_seconds, real = _timed_stream(client, queued(client, widget_id) + "/events")
    silenced_path = silenced_status_url(app, client, widget_id, "+1 201 555 0124") + "/events"
    silenced_seconds, silenced = _timed_stream(client, silenced_path)

    def shape(body: str) -> list[str]:
        return [line.split(":")[0] for line in body.splitlines() if line]

    assert shape(silenced) == shape(real) == ["retry", "id", "event", "data"]
    assert "id: 0.queued" in silenced and '"terminal": false' in silenced
    assert 1 <= silenced_seconds <= real_seconds + 0.3  # both end after LIVE_STREAM_SECONDS
    assert silenced_seconds < 1.5


@pytest.fixture
def capped(make_app: Callable[..., Flask]) -> Flask:
    return make_app(
        LIVE_POLL_INTERVAL=0.05,
        LIVE_STREAM_SECONDS=30,
        LIVE_STREAMS_PER_CLIENT=2,
        LIVE_STREAMS_PER_WORKER=3,
    )


def test_streams_past_a_clients_cap_get_429_and_past_the_workers_cap_503(capped: Flask) -> None:
    client = capped.test_client()
    widget_id = add_widget(capped)
    events_path = silenced_status_url(capped, client, widget_id) + "/events"

    def open_stream(address: str) -> Any:
        return client.get(
            events_path,
            headers={"Origin": ORIGIN},
            environ_base={"REMOTE_ADDR": address},
            buffered=False,
        )

    held = [open_stream("198.51.100.7"), open_stream("198.51.100.7")]
    assert [r.status_code for r in held] == [200, 200]
    refused = open_stream("198.51.100.7")
    assert refused.status_code == 429
    assert refused.get_json()["error"] == "rate_limited"
    assert "status URL" in refused.get_json()["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 30
    assert refused.headers["Access-Control-Allow-Origin"] == ORIGIN  # a custom UI reads it
    # IPv6 clients are one client per /64.
    held.append(open_stream("2001:db8::1"))
    assert held[-1].status_code == 200
    full = open_stream("203.0.113.9")
    assert full.status_code == 503 and full.get_json()["error"] == "unavailable"
    assert 1 <= int(full.headers["Retry-After"]) <= 30
    # The status URL itself still answers, which is what the page falls back to.
    assert client.get(events_path.removesuffix("/events")).status_code == 200

    # Visitors leave and their slots are free again. (The test client runs every stream in
    # this one thread, so they close in the reverse order of opening.)
    held.pop().close()
    other = open_stream("203.0.113.9")
    assert other.status_code == 200
    other.close()
    held.pop().close()
    again = open_stream("198.51.100.7")
    assert again.status_code == 200
    assert capped.extensions[EXTENSION].open_count() == 2
    again.close()
    held.pop().close()
    assert capped.extensions[EXTENSION].open_count() == 0


def test_a_slot_whose_stream_was_never_closed_stops_counting_after_the_stream_time() -> None:
    now = [100.0]
    slots = StreamSlots(per_client=1, per_worker=5, stream_seconds=30, clock=lambda: now[0])
    give_back = slots.take("ip:198.51.100.7")
    with pytest.raises(Exception, match="Too many live status streams") as refused:
        slots.take("ip:198.51.100.7")
    assert refused.value.retry_after == 30  # type: ignore[attr-defined]
    now[0] += 20
    with pytest.raises(Exception, match="Too many live status streams") as refused:
        slots.take("ip:198.51.100.7")
    assert refused.value.retry_after == 10  # type: ignore[attr-defined]
    now[0] += 25  # well past any stream's end: a lost close no longer counts
    slots.take("ip:198.51.100.7")
    give_back()
    give_back()  # twice is harmless
    assert slots.open_count() == 1


def status_page(client: FlaskClient, widget_id: str, status_url: str, **query: str) -> str:
    token = status_url.rsplit("/", 1)[1]
    response = client.get(f"/w/{widget_id}/status/{token}", query_string=query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def cancel_form(html: str) -> tuple[str, str]:
    action = re.search(r'<form class="cancel" method="post" action="([^"]+)"', html)
    token = re.search(r'name="cancel_token" value="([^"]+)"', html)
    assert action and token, html
    return action.group(1), token.group(1)


def test_cancel_without_javascript(app: Flask) -> None:
    client = app.test_client()
    widget_id = add_widget(app)
    status_url = queued(client, widget_id)
    html = status_page(client, widget_id, status_url)
    assert "Cancel my callback" in html and re.search(r'src="/assets/live\.[0-9a-f]{16}\.js"', html)
    action, token = cancel_form(html)

    cross_site = client.post(
        action, data={"cancel_token": token}, headers={"Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403
    for bad in ("", token[:-4] + "AAAA"):
        refused = client.post(action, data={"cancel_token": bad}, headers={"Origin": SERVER})
        assert refused.status_code == 403
    assert callbacks(app)[0].status == "queued"

    done = client.post(action, data={"cancel_token": token}, headers={"Origin": SERVER})
    assert done.status_code == 303 and done.headers["Location"].endswith(status_url.split("/")[-1])
    assert callbacks(app)[0].status == "canceled"
    after = status_page(client, widget_id, status_url)
    assert "canceled" in after and 'name="cancel_token"' not in after


def test_cancel_without_javascript_once_dialing_says_too_late(app: Flask) -> None:
    client = app.test_client()
    widget_id = add_widget(app)
    status_url = queued(client, widget_id)
    action, token = cancel_form(status_page(client, widget_id, status_url))
    move(app, "agent_ringing")
    assert 'name="cancel_token"' not in status_page(client, widget_id, status_url)
    late = client.post(action, data={"cancel_token": token}, headers={"Origin": SERVER})
    assert late.status_code == 303 and late.headers["Location"].endswith("?cancel=too_late")
    html = client.get(late.headers["Location"]).get_data(as_text=True)
    assert "can&#39;t be canceled" in html or "can't be canceled" in html
    assert callbacks(app)[0].status == "agent_ringing"


def test_a_silenced_callback_cancels_without_javascript_too(app: Flask) -> None:
    client = app.test_client()
    widget_id = add_widget(app)
    status_url = silenced_status_url(app, client, widget_id)
    action, token = cancel_form(status_page(client, widget_id, status_url))
    done = client.post(action, data={"cancel_token": token}, headers={"Origin": SERVER})
    assert done.status_code == 303 and done.headers["Location"].endswith(status_url.split("/")[-1])
    after = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "canceled" in after and 'name="cancel_token"' not in after
    assert [c.status for c in callbacks(app)] == ["rejected"]


def test_a_cancel_token_is_bound_to_its_callback(app: Flask) -> None:
    client = app.test_client()
    widget_id = add_widget(app)
    first = queued(client, widget_id)
    second = queued(client, widget_id, phone="+1 201 555 0124")
    _action, token = cancel_form(status_page(client, widget_id, first))
    other_action, _ = cancel_form(status_page(client, widget_id, second))
    refused = client.post(other_action, data={"cancel_token": token}, headers={"Origin": SERVER})
    assert refused.status_code == 403
    assert {c.status for c in callbacks(app)} == {"queued"}


@pytest.mark.parametrize("page", ["form", "status"])
def test_pages_with_their_assets_stay_within_12_kb_gzip(app: Flask, page: str) -> None:
    client = app.test_client()
    widget_id = add_widget(app)
    path = f"/w/{widget_id}"
    if page == "status":
        token = queued(client, widget_id).rsplit("/", 1)[1]
        path = f"/w/{widget_id}/status/{token}"
    html = client.get(path).get_data()
    assets = [(ROOT / "static" / name).read_bytes() for name in ("form.css", "form.js", "live.js")]
    total = sum(len(gzip.compress(body, 9)) for body in [html, *assets])
    assert total <= PAGE_BUDGET, total
