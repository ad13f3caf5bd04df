"""Attacks on the limits themselves: a tenant lifting the server's ceilings, a bot per route.

Each test counts the calls the provider really received.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.counting import QuickCalls
from tests.helpers import ORIGIN, SERVER, form_token, run_jobs
from tests.test_attacks import DEFAULT_LIMITS, counting_widget
from widget_server import providers
from widget_server.core import db
from widget_server.core.models import Widget

BOT = "198.51.100.99"


def _json(client: FlaskClient, widget_id: str, phone: str) -> int:
    token = form_token(client, widget_id)
    return client.post(
        f"/v1/widgets/{widget_id}/callbacks",
        json={"phone": phone, "token": token},
        headers={"Origin": ORIGIN},
    ).status_code


def _form(client: FlaskClient, widget_id: str, phone: str) -> int:
    html = client.get(f"/w/{widget_id}?host={ORIGIN}").get_data(as_text=True)
    fields = dict(re.findall(r'name="(token|host|page_url)" type="hidden" value="([^"]*)"', html))
    return client.post(
        f"/w/{widget_id}",
        data={**fields, "phone": phone, "region": "US"},
        headers={"Origin": SERVER},
    ).status_code


def _connect(client: FlaskClient, account_id: str, widget_id: str, phone: str) -> int:
    token = form_token(client, widget_id)
    return client.post(
        f"/v1/accounts/{account_id}/clicktocall/{widget_id}/connect",
        json={"data": {"contact": phone, "token": token}},
        headers={"Origin": ORIGIN},
    ).status_code


def test_a_widget_cannot_lift_the_servers_per_number_limit(
    make_app: Callable[..., Flask], calls: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(providers.REGISTRY, "counting", QuickCalls)
    app = make_app(**DEFAULT_LIMITS)
    widget_id = counting_widget(app, limits={"per_number": "1000 per minute"})
    statuses = []
    for n in range(12):  # a new address each time: the per-IP limit is not what stops it
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
        statuses.append(_json(client, widget_id, "+1 201 555 0123"))
        run_jobs(app)  # each call ends before the next request: only the limit can refuse
    assert statuses.count(202) == 1 and statuses.count(429) == 11
    assert len(calls) == 1


def test_a_widget_can_still_tighten_a_limit(make_app: Callable[..., Flask], calls: list) -> None:
    app = make_app()  # relaxed server limits
    widget_id = counting_widget(app, limits={"per_widget": "2 per hour"})
    statuses = []
    for n in range(4):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
        statuses.append(_json(client, widget_id, f"+1 201 555 01{n:02d}"))
        run_jobs(app)
    assert statuses == [202, 202, 429, 429]
    assert len(calls) == 2


def test_the_per_ip_limit_is_one_bucket_across_every_submission_route(
    make_app: Callable[..., Flask], calls: list
) -> None:
    app = make_app(SUBMIT_LIMIT_PER_IP="5 per minute")
    widget_id = counting_widget(app)
    with app.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None
        account_id = widget.account_id
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = BOT
    statuses = [
        _json(client, widget_id, "+1 201 555 0101"),
        _json(client, widget_id, "+1 201 555 0102"),
        _form(client, widget_id, "+1 201 555 0103"),
        _form(client, widget_id, "+1 201 555 0104"),
        _connect(client, account_id, widget_id, "+1 201 555 0105"),
        # Before, each route had its own five: these three would have been placed too.
        _connect(client, account_id, widget_id, "+1 201 555 0106"),
        _json(client, widget_id, "+1 201 555 0107"),
        _form(client, widget_id, "+1 201 555 0108"),
    ]
    run_jobs(app)
    assert statuses == [202, 202, 303, 303, 202, 429, 429, 429]
    assert len(calls) == 5
    # Another client is not held back by the bot's bucket.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.50"
    assert _json(other, widget_id, "+1 201 555 0109") == 202
