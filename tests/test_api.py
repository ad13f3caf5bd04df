"""The public JSON API: config, submissions, status, CORS, and errors that are never 500."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.helpers import ORIGIN, VALID_US, add_widget, callbacks, form_token, run_jobs, submit_json
from widget_server.core import db
from widget_server.core.models import Callback


def test_config_gives_public_settings_and_a_token(client: FlaskClient, widget_id: str) -> None:
    response = client.get(f"/v1/widgets/{widget_id}/config", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"allowed", "widget", "token", "human_check"} and body["allowed"] is True
    assert body["human_check"] == {}  # off unless the widget configures one
    assert body["widget"]["default_region"] == "US"
    assert [r["code"] for r in body["widget"]["regions"]] == ["US", "ZA"]
    assert "provider_settings" not in body["widget"] and "extension" not in body["widget"]
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Cache-Control"] == "no-store"
    assert "Origin" in response.headers["Vary"]


def test_config_refuses_other_origins(client: FlaskClient, widget_id: str) -> None:
    response = client.get(
        f"/v1/widgets/{widget_id}/config", headers={"Origin": "https://evil.example"}
    )
    # A 200 the refused page's loader can read (a hint for its owner), with nothing in it.
    assert response.status_code == 200
    body = response.get_json()
    assert body["allowed"] is False and body["reason"] == "origin_not_allowed"
    assert response.headers["Access-Control-Allow-Origin"] == "https://evil.example"
    assert "token" not in body and "widget" not in body and "human_check" not in body


def test_preflight_answers_only_allowed_origins(client: FlaskClient, widget_id: str) -> None:
    url = f"/v1/widgets/{widget_id}/callbacks"
    ok = client.options(url, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Content-Type" in ok.headers["Access-Control-Allow-Headers"]
    evil = client.options(
        url, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in evil.headers


def test_submission_from_a_disallowed_origin_is_forbidden(
    app: Flask, client: FlaskClient, widget_id: str
) -> None:
    token = form_token(client, widget_id)
    response = client.post(
        f"/v1/widgets/{widget_id}/callbacks",
        json={"phone": VALID_US, "token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    no_origin = client.post(
        f"/v1/widgets/{widget_id}/callbacks", json={"phone": VALID_US, "token": token}
    )
    assert no_origin.status_code == 403
    assert callbacks(app) == []


def test_token_bound_to_one_origin_fails_from_another(
    make_app: object, app: Flask, client: FlaskClient
) -> None:
    widget_id = add_widget(app, allowed_origins=[ORIGIN, "https://other.example"])
    token = form_token(client, widget_id, origin="https://other.example")
    response = submit_json(client, widget_id, token=token)
    assert response.status_code == 422
    assert "token" in response.get_json()["fields"]


def test_policy_refusal_names_the_field(client: FlaskClient, widget_id: str) -> None:
    response = submit_json(client, widget_id, phone="+44 20 7946 0958")
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid"
    assert body["fields"] == {"phone": "We can't call numbers in that country."}


def test_status_of_unknown_or_forged_tokens_is_404(client: FlaskClient) -> None:
    assert client.get("/v1/callbacks/nope").status_code == 404
    assert client.get("/v1/callbacks/IjEyMyI.forged").get_json()["error"] == "not_found"


def test_honeypot_gets_a_success_shaped_answer_and_is_never_dialled(
    app: Flask, client: FlaskClient, widget_id: str
) -> None:
    app.extensions["clock"].set(datetime.now(UTC))  # its visitor's view stays at "queued"
    response = submit_json(client, widget_id, website="http://spam.example")
    assert response.status_code == 202
    body = response.get_json()
    assert set(body) == {"id", "status", "status_url"} and body["status"] == "queued"
    assert client.get(body["status_url"]).get_json()["status"] == "queued"
    assert run_jobs(app) == 0  # no dial job was queued
    [callback] = callbacks(app)  # stored for the owner as what it is
    assert (callback.id, callback.status, callback.cause) == (body["id"], "rejected", "honeypot")
    assert callback.attempts == 0 and callback.provider_call_id is None


def test_extra_metadata_and_page_are_stored(app: Flask, client: FlaskClient, widget_id: str):
    response = submit_json(
        client,
        widget_id,
        name="Ada",
        page_url="https://shop.example.com/p?utm_source=x",
        extra={"crm_id": "42"},
    )
    assert response.status_code == 202
    [callback] = callbacks(app)
    assert callback.visitor_name == "Ada"
    assert callback.page_url == "https://shop.example.com/p?utm_source=x"
    assert callback.extra == {"crm_id": "42"}
    assert callback.origin == ORIGIN


def test_an_accepted_callback_is_stored_whole_with_its_first_event(
    app: Flask, client: FlaskClient, widget_id: str
) -> None:
    # On PostgreSQL both rows come from one statement; every column is as the ORM writes it.
    before = datetime.now(UTC)
    response = submit_json(client, widget_id, page_url="https://shop.example.com/?utm_source=ad")
    assert response.status_code == 202
    with app.app_context():
        callback = db.session().scalars(select(Callback)).one()
        assert callback.id == response.get_json()["id"]
        assert (callback.status, callback.attempts, callback.rounds) == ("queued", 0, 0)
        assert callback.agent_leg == 0
        assert callback.provider_details == {} and callback.agent_order == []
        assert callback.utm == {"utm_source": "ad"} and callback.number_hash
        assert before <= _aware(callback.created_at) == _aware(callback.updated_at)
        [event] = callback.events
        assert (event.status, event.source, event.applied) == ("queued", "server", True)
        assert (event.cause, event.provider_call_id, event.details) == (None, None, {})
        assert _aware(event.occurred_at) == _aware(callback.created_at)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_unknown_widget_is_404(client: FlaskClient) -> None:
    assert client.get("/v1/widgets/nope/config").status_code == 404
    response = client.post("/v1/widgets/nope/callbacks", json={}, headers={"Origin": ORIGIN})
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"
    assert client.get("/v1/widgets/" + "x" * 5000 + "/config").status_code == 404


def test_disabled_widget_is_404(app: Flask, client: FlaskClient) -> None:
    widget_id = add_widget(app, enabled=False)
    assert client.get(f"/v1/widgets/{widget_id}/config").status_code == 404


BAD_BODIES = [
    ("application/json", b"{not json", 400),
    ("application/json", b"[1, 2]", 400),
    ("application/json", b'"phone"', 400),
    ("application/json", b"null", 400),
    ("text/plain", b'{"phone": "+12015550123"}', 415),
    ("application/x-www-form-urlencoded", b"phone=%2B12015550123", 415),
    ("multipart/form-data; boundary=x", b"--x--", 415),
    ("application/json", b'{"phone": "+12015550123"}', 400),
    ("application/json", b'{"token": "t"}', 400),
    ("application/json", b'{"phone": 12015550123, "token": "t"}', 400),
    ("application/json", b'{"phone": ["+1"], "token": "t"}', 400),
    ("application/json", b'{"phone": null, "token": null}', 400),
    ("application/json", b'{"phone": "+1", "token": "t", "extra": "x"}', 400),
    ("application/json", b'{"phone": "+1", "token": "t", "extra": {"a": 1}}', 400),
    ("application/json", b'{"phone": "+1", "token": "t", "page_url": "javascript:x"}', 400),
    ("application/json", b'{"phone": "+1", "token": "t", "name": 5}', 400),
    ("application/json", b'{"phone": "+1", "token": "t", "surprise": 1}', 400),
    ("application/json", b'{"phone": "\\u0000\\ud800", "token": "t"}', 422),
    ("application/json", b'{"phone": "\xff\xfe", "token": "t"}', 400),
    ("application/json", b"{" + b'"a":' * 1000 + b"1" + b"}" * 1000, 400),
    ("application/json", b'{"phone": "' + b"9" * 20_000 + b'", "token": "t"}', 413),
]


@pytest.mark.parametrize(("content_type", "body", "status"), BAD_BODIES)
def test_malformed_submissions_get_a_4xx_json_error(
    app: Flask, client: FlaskClient, widget_id: str, content_type: str, body: bytes, status: int
) -> None:
    response = client.post(
        f"/v1/widgets/{widget_id}/callbacks",
        data=body,
        headers={"Origin": ORIGIN, "Content-Type": content_type},
    )
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()
    assert set(error) >= {"error", "message", "fields"}
    assert "Traceback" not in response.get_data(as_text=True)
    assert callbacks(app) == []


@pytest.mark.parametrize(
    "phone",
    [
        "٠٨٢١٢٣٤٥٦٧",
        "²⁰¹⁵⁵⁵⁰¹²³",
        "𝟐𝟎𝟏𝟓𝟓𝟓𝟎𝟏𝟐𝟑",
        "+1 201 555 0123\u202e",
        "\u0000",
        "📞",
        " " * 39,
        "+1 (201) 555-0123 ext. 99",
    ],
)
def test_unicode_and_odd_phone_values_never_fail_the_server(
    client: FlaskClient, widget_id: str, phone: str
) -> None:
    response = submit_json(client, widget_id, phone=phone)
    assert response.status_code in (202, 422), response.get_data(as_text=True)


def test_wrong_methods_answer_405_json(client: FlaskClient, widget_id: str) -> None:
    response = client.get(f"/v1/widgets/{widget_id}/callbacks")
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


def test_unknown_api_route_is_json_404(client: FlaskClient) -> None:
    response = client.get("/v1/nothing/here")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
