"""Attack: tell a request refused in silence from a real callback, over the public routes.

Silenced are a number that opted out, a blocked number and a bot's filled honeypot. Each
is compared with a real request on everything a visitor (or a bot) can read: the 202, the
status token, the status JSON and its stream, the answers to repeats and to a cancel, and
how its life goes on as the clock runs. The provider (the counting fake of the attack
suite) must receive no call for any of them, and the owner must see each in the history.
"""

from __future__ import annotations

import base64
import json
import re
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from itsdangerous import URLSafeSerializer

from tests.counting import CountingProvider
from tests.helpers import (
    METRICS_TOKEN,
    ORIGIN,
    SECRET,
    admin_auth,
    callbacks,
    form_token,
    run_jobs,
    scrape,
)
from tests.test_attacks import counting_widget
from widget_server import providers
from widget_server.calls import blocklist, live_status
from widget_server.calls.live_status import REASONS
from widget_server.calls.status_machine import apply_status
from widget_server.core import db
from widget_server.core.clock import Clock
from widget_server.core.models import Callback, Widget
from widget_server.core.tokens import STATUS_SALT
from widget_server.owners import admin
from widget_server.providers import CallRequest

REAL, REAL_E164 = "+1 201 555 0123", "+12015550123"
SILENCED, SILENCED_E164 = "+1 201 555 0150", "+12015550150"
KINDS = ["opted_out", "blocked_number", "honeypot"]
HEX_ID = re.compile(r"[0-9a-f]{32}")
MICROSECONDS = re.compile(r"\.\d{6}\+00:00$")
RING_SECONDS = 20  # the widget's default `timeout`


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    # The server's default per-number limit, not the relaxed one of other tests.
    return make_app(
        SUBMIT_LIMIT_PER_NUMBER="1 per 10 minutes;3 per day",
        LIVE_POLL_INTERVAL=0.05,
        LIVE_STREAM_SECONDS=5,
    )


@pytest.fixture
def placed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[CallRequest]]:
    """The calls the provider received (the attack suite's counting provider)."""
    monkeypatch.setitem(providers.REGISTRY, "counting", CountingProvider)
    CountingProvider.calls = []
    yield CountingProvider.calls


def clock(app: Flask) -> Clock:
    return app.extensions["clock"]


def silence(app: Flask, kind: str) -> dict[str, str]:
    """Put SILENCED on a list (or return the honeypot field a bot fills in)."""
    if kind == "honeypot":
        return {"website": "https://spam.example"}
    with app.app_context():
        session = db.session()
        blocklist.add(session, "optout" if kind == "opted_out" else "number", SILENCED_E164)
        session.commit()
    return {}


def submit(app: Flask, widget_id: str, phone: str, token: str | None = None, **fields: Any) -> Any:
    client = app.test_client()
    body = {"phone": phone, "token": token or form_token(client, widget_id), **fields}
    return client.post(
        f"/v1/widgets/{widget_id}/callbacks",
        json=body,
        headers={"Origin": ORIGIN},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )


def path(status_url: str) -> str:
    return status_url.removeprefix("http://localhost")


def token_payload(status_url: str) -> object:
    """What anyone can read in a status token: its itsdangerous payload, base64 (and zlib
    when a leading dot says it was compressed) of JSON, signed but not encrypted."""
    token = status_url.rsplit("/", 1)[1]
    payload = token.removeprefix(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return json.loads(zlib.decompress(raw) if token.startswith(".") else raw)


def status(app: Flask, status_url: str) -> Any:
    return app.test_client().get(path(status_url), headers={"Origin": ORIGIN})


def created_at(app: Flask, callback_id: str) -> datetime:
    with app.app_context():
        callback = db.session().get(Callback, callback_id)
        assert callback is not None
        return callback.created_at


def move(app: Flask, callback_id: str, new_status: str, cause: str | None = None) -> None:
    with app.app_context():
        session = db.session()
        callback = session.get(Callback, callback_id)
        assert callback is not None
        apply_status(session, callback, new_status, source="counting", cause=cause)
        session.commit()


def headers(response: Any) -> dict[str, str]:
    """A response's headers but its request id (which differs for every request)."""
    return {name: value for name, value in response.headers if name != "X-Request-ID"}


def shape(value: object) -> object:
    """A JSON value with every string reduced to its kind (what differs by content only)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, str):
        if HEX_ID.fullmatch(value):
            return "hex-id"
        if value.startswith("http://localhost/v1/callbacks/"):
            return "status-url"
        return "text"
    return type(value).__name__


@pytest.mark.parametrize("kind", KINDS)
def test_a_silenced_request_answers_in_the_shape_of_a_real_one(
    app: Flask, placed: list, kind: str
) -> None:
    widget_id = counting_widget(app)
    fields = silence(app, kind)
    clock(app).set(datetime.now(UTC))  # both wait for their dial job, as far as anyone sees
    tokens = {phone: form_token(app.test_client(), widget_id) for phone in (REAL, SILENCED)}
    real = submit(app, widget_id, REAL, tokens[REAL])
    silenced = submit(app, widget_id, SILENCED, tokens[SILENCED], **fields)
    assert real.status_code == silenced.status_code == 202
    assert shape(real.get_json()) == shape(silenced.get_json())
    assert real.get_json()["status"] == silenced.get_json()["status"] == "queued"

    # The status token: the same length, and both carry nothing but a 32-hex id.
    real_url, silenced_url = real.get_json()["status_url"], silenced.get_json()["status_url"]
    assert len(real_url) == len(silenced_url)
    assert token_payload(real_url) == real.get_json()["id"]
    assert token_payload(silenced_url) == silenced.get_json()["id"]
    assert HEX_ID.fullmatch(str(token_payload(silenced_url)))

    # The status JSON: the same keys and values but for the id and the number, and the
    # time of its step down to the microsecond.
    real_view, silenced_view = status(app, real_url), status(app, silenced_url)
    assert real_view.status_code == silenced_view.status_code == 200
    assert headers(real_view) == headers(silenced_view)  # Content-Length included
    ours, theirs = real_view.get_json(), silenced_view.get_json()
    assert set(ours) == set(theirs)
    different = {key for key in ours if ours[key] != theirs[key]}
    assert different == {"id", "number", "updated_at"}
    assert MICROSECONDS.search(ours["updated_at"]) and MICROSECONDS.search(theirs["updated_at"])
    assert theirs["number"] == "+1 20 ••• ••50"

    # The same form token again: the first answer, replayed as for a real request.
    for answer, phone, extra in ((real, REAL, {}), (silenced, SILENCED, fields)):
        again = submit(app, widget_id, phone, tokens[phone], **extra)
        assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
        assert again.get_json() == answer.get_json()

    run_jobs(app)
    assert [call.visitor_e164 for call in placed] == [REAL_E164]


def test_a_bot_with_a_bad_number_or_token_is_refused_as_a_person_is(
    app: Flask, placed: list
) -> None:
    widget_id = counting_widget(app)
    for body in ({"phone": "+1 900 555 0199"}, {"phone": REAL, "token": "forged"}):
        person = submit(app, widget_id, **body)
        bot = submit(app, widget_id, **body, website="https://spam.example")
        assert person.status_code == bot.status_code == 422
        assert person.get_json() == bot.get_json()
    assert callbacks(app) == [] and placed == []


@pytest.mark.parametrize("kind", KINDS)
def test_repeats_of_a_silenced_number_meet_the_limits_of_a_real_one(
    app: Flask, placed: list, kind: str
) -> None:
    widget_id = counting_widget(app)
    fields = silence(app, kind)

    def answers(phone: str, **extra: str) -> list[tuple[int, object, bool]]:
        replies = [submit(app, widget_id, phone, **extra) for _ in range(4)]
        return [
            (
                reply.status_code,
                shape(reply.get_json()) if reply.status_code == 202 else reply.get_json(),
                # Its value counts down the per-client window, the same for both.
                "Retry-After" in reply.headers,
            )
            for reply in replies
        ]

    real, silenced = answers(REAL), answers(SILENCED, **fields)
    assert [code for code, *_ in real] == [code for code, *_ in silenced] == [202, 429, 429, 429]
    assert real == silenced
    run_jobs(app)
    assert [call.visitor_e164 for call in placed] == [REAL_E164]


def test_a_silenced_callback_rings_unanswered_then_ends_as_a_real_one_does(
    app: Flask, placed: list
) -> None:
    widget_id = counting_widget(app)
    silence(app, "opted_out")
    answer = submit(app, widget_id, SILENCED).get_json()
    url, start = answer["status_url"], created_at(app, answer["id"])

    seen = []
    for offset in (0.5, 1.5, RING_SECONDS, RING_SECONDS + 2, 3600):
        clock(app).set(start + timedelta(seconds=offset))
        view = status(app, url).get_json()
        seen.append((view["status"], view["attempts"], view["cancelable"], view["terminal"]))
        assert MICROSECONDS.search(view["updated_at"])
    assert seen == [
        ("queued", 0, True, False),
        ("agent_ringing", 1, False, False),
        ("agent_ringing", 1, False, False),
        ("no_answer", 1, False, True),
        ("no_answer", 1, False, True),
    ]
    ended = start + timedelta(seconds=1 + RING_SECONDS)
    assert view["updated_at"] == ended.isoformat()

    # A real call whose agent did not answer ends with the same words.
    real = submit(app, widget_id, REAL).get_json()
    move(app, real["id"], "no_answer", cause="agent_no_answer")
    real_view = status(app, real["status_url"]).get_json()
    for key in ("status", "text", "reason", "terminal", "cancelable"):
        assert view[key] == real_view[key], key
    assert view["reason"] == str(REASONS["agent_no_answer"])

    # The page without JavaScript says so too, and offers no cancel.
    token = url.rsplit("/", 1)[1]
    page = app.test_client().get(f"/w/{widget_id}/status/{token}").get_data(as_text=True)
    assert "Nobody answered" in page and "couldn&#39;t answer in time" in page
    assert 'name="cancel_token"' not in page

    run_jobs(app)
    assert placed == []


def test_a_stream_of_a_silenced_callback_ends_at_its_end(app: Flask, placed: list) -> None:
    widget_id = counting_widget(app)
    answer = submit(app, widget_id, SILENCED, website="bot").get_json()
    start = created_at(app, answer["id"])
    # Running from 1.5 s before its ring time is over (it rings PLACING_SECONDS after it
    # was made): the stream sees the end come, however slowly it starts on a busy machine.
    ends = live_status.PLACING_SECONDS + RING_SECONDS
    clock(app).set(start + timedelta(seconds=ends - 1.5), running=True)
    began = time.monotonic()
    with app.test_client().get(path(answer["status_url"]) + "/events") as response:
        body = response.get_data(as_text=True)
    seconds = time.monotonic() - began
    ids = re.findall(r"^id: (.+)$", body, re.MULTILINE)
    assert ids == ["1.agent_ringing", "1.no_answer"]
    assert '"terminal": true' in body
    assert seconds < 3  # ended by the terminal step, not by LIVE_STREAM_SECONDS (5)
    run_jobs(app)
    assert placed == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_silenced_callback_cancels_as_a_real_one_does(
    app: Flask, placed: list, kind: str
) -> None:
    widget_id = counting_widget(app)
    fields = silence(app, kind)
    clock(app).set(datetime.now(UTC))
    real = submit(app, widget_id, REAL).get_json()
    silenced = submit(app, widget_id, SILENCED, **fields).get_json()

    def cancel(answer: dict[str, Any]) -> Any:
        url = path(answer["status_url"]) + "/cancel"
        return app.test_client().post(url, json={}, headers={"Origin": ORIGIN})

    for _ in range(2):  # the second cancel answers as the first did
        ours, theirs = cancel(real), cancel(silenced)
        assert ours.status_code == theirs.status_code == 200
        assert headers(ours) == headers(theirs)
        mine, other = ours.get_json(), theirs.get_json()
        assert {key for key in mine if mine[key] != other[key]} == {"id", "number", "updated_at"}
        assert other["status"] == "canceled" and other["terminal"] is True
    later = status(app, silenced["status_url"]).get_json()
    assert later["status"] == "canceled"
    clock(app).set(datetime.now(UTC) + timedelta(minutes=5))  # long past its ring time
    assert status(app, silenced["status_url"]).get_json()["status"] == "canceled"
    run_jobs(app)
    assert placed == []
    stored = {cb.id: (cb.status, cb.cause) for cb in callbacks(app)}
    assert stored[silenced["id"]] == ("rejected", kind)  # the owner's truth is unchanged


def test_once_it_rings_a_cancel_is_too_late_as_for_a_real_call(app: Flask, placed: list) -> None:
    widget_id = counting_widget(app)
    silence(app, "opted_out")
    real = submit(app, widget_id, REAL).get_json()
    silenced = submit(app, widget_id, SILENCED).get_json()
    move(app, real["id"], "dialing")
    move(app, real["id"], "agent_ringing")
    clock(app).set(created_at(app, silenced["id"]) + timedelta(seconds=2))
    client = app.test_client()
    refusals = [
        client.post(path(answer["status_url"]) + "/cancel", json={}, headers={"Origin": ORIGIN})
        for answer in (real, silenced)
    ]
    assert [r.status_code for r in refusals] == [409, 409]
    assert refusals[0].get_json() == refusals[1].get_json()
    assert "already under way" in refusals[1].get_json()["message"]
    assert [(c.status, c.cause) for c in callbacks(app)] == [
        ("agent_ringing", None),
        ("rejected", "opted_out"),
    ]


def test_the_owner_sees_each_silent_refusal_in_the_history(app: Flask, placed: list) -> None:
    widget_id = counting_widget(app)
    with app.app_context():
        session = db.session()
        widget = session.get(Widget, widget_id)
        assert widget is not None
        account_id = widget.account_id
        _record, key = admin.create_key(session, account_id, "owner")
        blocklist.add(session, "optout", "+12015550150", reason="asked by text")
        blocklist.add(session, "number", "+12015550151")
        blocklist.add(session, "prefix", "+1201555099")
        session.commit()
    for phone, fields in (
        (REAL, {}),
        ("+1 201 555 0150", {}),
        ("+1 201 555 0151", {}),
        ("+1 201 555 0991", {}),
        ("+1 201 555 0152", {"website": "bot"}),
    ):
        assert submit(app, widget_id, phone, **fields).status_code == 202
    run_jobs(app)
    assert [call.visitor_e164 for call in placed] == [REAL_E164]

    history = app.test_client().get(
        f"/v1/accounts/{account_id}/clicktocall/{widget_id}/history", headers=admin_auth(key)
    )
    assert history.status_code == 200
    rows = {item["contact"]: item for item in history.get_json()["data"]}
    assert {number: (row["status"], row["cause"]) for number, row in rows.items()} == {
        REAL_E164: ("agent_ringing", None),
        "+12015550150": ("rejected", "opted_out"),
        "+12015550151": ("rejected", "blocked_number"),
        "+12015550991": ("rejected", "blocked_prefix"),
        "+12015550152": ("rejected", "honeypot"),
    }
    silenced = [row for row in rows.values() if row["status"] == "rejected"]
    assert all(row["attempts"] == 0 and row["call_id"] is None for row in silenced)
    rejected = app.test_client().get(
        f"/v1/accounts/{account_id}/clicktocall/{widget_id}/history?status=rejected",
        headers=admin_auth(key),
    )
    assert len(rejected.get_json()["data"]) == 4

    # The operator's commands show them the same way.
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["widgets", "callbacks", widget_id]).output
    assert listed.count("rejected") == 4 and "opted_out" in listed and "honeypot" in listed
    cli_history = json.loads(runner.invoke(args=["widgets", "history", widget_id]).output)
    assert [row["cause"] for row in cli_history if row["status"] == "rejected"] == [
        "honeypot",
        "blocked_prefix",
        "blocked_number",
        "opted_out",
    ]


def test_status_tokens_expire_after_the_end_for_both_kinds(app: Flask, placed: list) -> None:
    widget_id = counting_widget(app)
    silence(app, "blocked_number")
    real = submit(app, widget_id, REAL).get_json()
    silenced = submit(app, widget_id, SILENCED).get_json()
    waiting = submit(app, widget_id, "+1 201 555 0124").get_json()  # never ends here
    move(app, real["id"], "completed")
    keep = app.config["STATUS_TOKEN_SECONDS"]
    assert keep == 86400

    def answers(moment: datetime) -> list[int]:
        clock(app).set(moment)
        client = app.test_client()
        codes = []
        for answer in (real, silenced):
            url = path(answer["status_url"])
            codes.append(client.get(url).status_code)
            codes.append(client.get(f"/w/{widget_id}/status/{url.rsplit('/', 1)[1]}").status_code)
            codes.append(client.get(url + "/events").status_code)
            codes.append(client.post(url + "/cancel", json={}).status_code)
        codes.append(client.get(path(waiting["status_url"])).status_code)
        return codes

    with app.app_context():
        finished = db.session().get(Callback, real["id"])
        assert finished is not None
        real_end = finished.updated_at
    silenced_end = created_at(app, silenced["id"]) + timedelta(seconds=1 + RING_SECONDS)
    # Within a day of its end each still answers (a cancel: 409, as for any call over).
    before = answers(min(real_end, silenced_end) + timedelta(seconds=keep - 5))
    assert before == [200, 200, 200, 409] * 2 + [200]
    # Past it, both are unknown; a callback that has not ended keeps its token.
    after = answers(max(real_end, silenced_end) + timedelta(seconds=keep + 5))
    assert after == [404] * 8 + [200]
    run_jobs(app)
    assert [call.visitor_e164 for call in placed] == ["+12015550124"]


def test_an_old_decoy_token_answers_404(app: Flask, placed: list) -> None:
    widget_id = counting_widget(app)
    old = URLSafeSerializer(SECRET, salt=STATUS_SALT).dumps(
        f"decoy-{'ab' * 16}|{widget_id}|1767225600||+1 20 ••• ••50"
    )
    client = app.test_client()
    assert client.get(f"/v1/callbacks/{old}").status_code == 404
    assert client.get(f"/v1/callbacks/{old}/events").status_code == 404
    assert client.post(f"/v1/callbacks/{old}/cancel", json={}).status_code == 404
    assert client.get(f"/w/{widget_id}/status/{old}").status_code == 404


def test_metrics_still_tell_only_the_operator(app: Flask, placed: list) -> None:
    widget_id = counting_widget(app)
    silence(app, "opted_out")
    assert submit(app, widget_id, SILENCED).status_code == 202
    assert submit(app, widget_id, "+1 201 555 0152", website="bot").status_code == 202
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": METRICS_TOKEN}):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert "opted_out" not in refused.get_data(as_text=True)
    metrics = scrape(client)
    assert 'widget_server_refusals_total{reason="opted_out"}' in metrics
    assert 'widget_server_refusals_total{reason="honeypot"}' in metrics
