"""Callee opt-out: recorded silently, then later requests for the number are never called."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import ORIGIN, SERVER, callbacks, run_jobs, submit_json


def test_opt_out_page_then_requests_for_that_number_are_silently_dropped(
    app: Flask, client: FlaskClient, widget_id: str
) -> None:
    page = client.get("/optout")
    assert page.status_code == 200 and 'name="phone"' in page.get_data(as_text=True)
    done = client.post("/optout", data={"phone": "+1 201 555 0123"}, headers={"Origin": SERVER})
    assert done.status_code == 200
    assert "will not be called" in done.get_data(as_text=True)
    response = submit_json(client, widget_id, phone="+1 201 555 0123")
    assert response.status_code == 202  # nothing tells the requester the number opted out
    run_jobs(app)
    assert callbacks(app) == []


def test_opt_out_api_gives_one_answer_and_checks_input(app: Flask, client: FlaskClient) -> None:
    first = client.post("/v1/optout", json={"phone": "+27 82 123 4567"})
    again = client.post("/v1/optout", json={"phone": "+27 82 123 4567"})
    assert first.status_code == again.status_code == 202
    assert first.get_json() == again.get_json()
    assert client.post("/v1/optout", json={"phone": "nope"}).status_code == 400
    assert client.post("/v1/optout", json={"phone": 5}).status_code == 400
    assert client.post("/v1/optout", data="phone=1").status_code == 415


def test_opt_out_form_refuses_cross_site_posts(client: FlaskClient) -> None:
    response = client.post(
        "/optout", data={"phone": "+1 201 555 0123"}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403


def test_an_opted_out_numbers_status_reads_like_any_other(
    app: Flask, client: FlaskClient, widget_id: str
) -> None:
    # Whoever asked for a call to a number that opted out sees what they would see for a
    # real callback: the same keys, the masked number, the widget's CORS answer.
    client.post("/v1/optout", json={"phone": "+1 201 555 0123"})
    silenced = submit_json(client, widget_id, phone="+1 201 555 0123").get_json()
    real = submit_json(client, widget_id, phone="+1 202 555 0199").get_json()
    assert set(silenced) == set(real) and len(silenced["id"]) == len(real["id"]) == 32

    headers = {"Origin": ORIGIN}
    silenced_status = client.get(silenced["status_url"], headers=headers)
    real_status = client.get(real["status_url"], headers=headers)
    assert silenced_status.status_code == real_status.status_code == 200
    assert set(silenced_status.get_json()) == set(real_status.get_json())
    assert silenced_status.get_json()["number"] == "+1 20 ••• ••23"
    assert silenced_status.get_json()["status"] == real_status.get_json()["status"] == "queued"
    for header in ("Access-Control-Allow-Origin", "Cache-Control"):
        assert silenced_status.headers.get(header) == real_status.headers.get(header)

    app.config["LIVE_STREAM_SECONDS"] = 1  # a decoy never ends: read one stream's worth
    stream = client.get(silenced["status_url"] + "/events", headers=headers)
    assert stream.headers.get("Access-Control-Allow-Origin") == ORIGIN
    assert '"number": "+1 20 \\u2022\\u2022\\u2022 \\u2022\\u202223"' in stream.get_data(
        as_text=True
    )
    run_jobs(app)
    assert [callback.visitor_number for callback in callbacks(app)] == ["+12025550199"]
