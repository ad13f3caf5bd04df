"""A bot farm spending a widget's budget: many addresses, a few numbers each, every one under
every per-address and per-number limit. Past ESCALATE_AFTER_* the widget asks for a human
check; the farm's calls stop there and a genuine visitor who passes the check still gets
through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.counting import CountingProvider, QuickCalls
from tests.helpers import ORIGIN, run_jobs
from tests.test_attacks import DEFAULT_LIMITS, counting_widget
from widget_server import providers
from widget_server.intake.human_checks import altcha
from widget_server.providers import CallRequest

# 22 area codes: no prefix (the first 8 digits) gets more than 3 of the farm's numbers.
AREAS = (201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219,
         224, 225, 228, 229, 231)  # fmt: skip
FARM = [(f"198.51.100.{i + 1}", [f"+1 {area} 555 01{n:02d}" for n in range(3)])
        for i, area in enumerate(AREAS)]  # fmt: skip
ESCALATION = {
    "ESCALATE_AFTER_ACCEPTED": "10 per 10 minutes",
    "ESCALATE_AFTER_SOURCES": "8 per hour",
}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[CallRequest]]:
    monkeypatch.setitem(providers.REGISTRY, "counting", QuickCalls)
    CountingProvider.calls = []
    yield CountingProvider.calls


def _config(client: FlaskClient, widget_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/widgets/{widget_id}/config", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    return dict(response.get_json())


def _submit(client: FlaskClient, widget_id: str, phone: str, solve: bool = False) -> int:
    config = _config(client, widget_id)
    body: dict[str, Any] = {"phone": phone, "token": config["token"]}
    if solve:
        solution = altcha.solve(config["human_check"]["challenge"])
        assert solution is not None
        body["human_check"] = altcha.encode_payload(solution)
    response = client.post(
        f"/v1/widgets/{widget_id}/callbacks", json=body, headers={"Origin": ORIGIN}
    )
    return response.status_code


def _run_farm(app: Flask, widget_id: str) -> list[int]:
    statuses = []
    for address, numbers in FARM:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        for number in numbers:
            statuses.append(_submit(client, widget_id, number))
            run_jobs(app)  # each call ends before the next: only limits and checks refuse
    return statuses


def test_a_farm_cannot_spend_the_widgets_budget(
    make_app: Callable[..., Flask], calls: list
) -> None:
    app = make_app(**DEFAULT_LIMITS, **ESCALATION)
    widget_id = counting_widget(app)
    statuses = _run_farm(app, widget_id)
    farm_calls = len(calls)
    print(f"\nfarm: {len(statuses)} submissions, {farm_calls} calls placed, "
          f"{statuses.count(422)} asked for a human check")  # fmt: skip
    # The eleventh acceptance in ten minutes puts the widget under pressure.
    assert farm_calls == statuses.count(202) == 11
    assert statuses[11:] == [422] * (len(statuses) - 11)
    # A genuine visitor sees the check, passes it, and is called.
    visitor = app.test_client()
    visitor.environ_base["REMOTE_ADDR"] = "203.0.113.80"
    assert _config(visitor, widget_id)["human_check"]["kind"] == "altcha"
    assert _submit(visitor, widget_id, "+1 303 555 0100") == 422  # without solving it
    assert _submit(visitor, widget_id, "+1 303 555 0100", solve=True) == 202
    run_jobs(app)
    assert len(calls) == farm_calls + 1


def test_many_sources_alone_raise_the_pressure(make_app: Callable[..., Flask], calls: list) -> None:
    # One acceptance each from many addresses: the distinct sources bound trips first.
    app = make_app(**DEFAULT_LIMITS, **ESCALATION)
    widget_id = counting_widget(app)
    statuses = []
    for address, numbers in FARM[:12]:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        statuses.append(_submit(client, widget_id, numbers[0]))
        run_jobs(app)
    assert statuses[:9] == [202] * 9 and set(statuses[9:]) == {422}
    assert len(calls) == 9


def test_without_a_farm_nobody_is_asked(make_app: Callable[..., Flask], calls: list) -> None:
    app = make_app(**DEFAULT_LIMITS, **ESCALATION)
    widget_id = counting_widget(app)
    client = app.test_client()
    assert "kind" not in _config(client, widget_id)["human_check"]
    assert _submit(client, widget_id, "+1 201 555 0123") == 202
    run_jobs(app)
    assert len(calls) == 1


def test_before_escalation_the_same_farm_took_the_widgets_hour(
    make_app: Callable[..., Flask], calls: list
) -> None:
    # The attack as it went before: with the bounds out of reach, the farm spends the
    # widget's 60 calls an hour, and the next genuine visitor is refused.
    app = make_app(**DEFAULT_LIMITS)  # tests' relaxed ESCALATE_* bounds: never under pressure
    widget_id = counting_widget(app)
    statuses = _run_farm(app, widget_id)
    assert statuses.count(202) == len(calls) == 60
    visitor = app.test_client()
    visitor.environ_base["REMOTE_ADDR"] = "203.0.113.80"
    assert _submit(visitor, widget_id, "+1 303 555 0100") == 429
