"""Every error under the admin API keeps Kazoo's envelope: limits, routing, size, outages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError

from tests.helpers import ORIGIN, VALID_US, add_account, admin_auth, create_widget, form_token
from widget_server.core.errors import TooManyRequests
from widget_server.owners import admin


def assert_kazoo_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    assert set(body) == {"data", "error", "message", "status", "request_id"}
    assert body["status"] == "error" and body["error"] == str(status)
    assert isinstance(body["data"], dict) and body["message"] and body["request_id"]
    assert response.headers["X-Request-ID"] == body["request_id"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def test_public_connect_limit_answers_429_in_kazoos_envelope(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(SUBMIT_LIMIT_PER_IP="1 per minute")
    client = app.test_client()
    account, key = add_account(app)
    widget_id = create_widget(
        client, account, key, allowed_regions=["US"], auth_required=False, allowed_origins=[ORIGIN]
    )
    url = f"/v1/accounts/{account}/clicktocall/{widget_id}/connect"

    def body(contact: str) -> dict[str, object]:  # each request a valid form token
        return {"data": {"contact": contact, "token": form_token(client, widget_id)}}

    placed = client.post(url, json=body(VALID_US), headers={"Origin": ORIGIN})
    assert placed.status_code == 202
    refused = client.post(url, json=body("+1 201 555 0199"), headers={"Origin": ORIGIN})
    error = assert_kazoo_error(refused, 429)
    # One message for every limit: the limit itself is not revealed.
    assert error["message"] == TooManyRequests.message
    assert "per" not in error["message"] and int(refused.headers["Retry-After"]) > 0


def test_admin_routes_are_limited_per_ip_in_kazoos_envelope(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(ADMIN_LIMIT_PER_IP="3 per minute")
    client = app.test_client()
    account, key = add_account(app)
    url = f"/v1/accounts/{account}/clicktocall"
    codes = [client.get(url, headers=admin_auth(key)).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    refused = client.get(url, headers=admin_auth(key))
    assert assert_kazoo_error(refused, 429)["message"] == TooManyRequests.message
    assert int(refused.headers["Retry-After"]) > 0
    # Wrong keys count as well, so keys cannot be guessed at speed.
    assert_kazoo_error(client.get(url, headers={"X-Auth-Token": "wsk_guess"}), 429)


def test_public_api_limit_message_does_not_reveal_the_limit(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app(SUBMIT_LIMIT_PER_IP="1 per minute").test_client()
    client.post("/v1/optout", json={"phone": VALID_US})
    refused = client.post("/v1/optout", json={"phone": VALID_US})
    assert refused.status_code == 429
    assert refused.get_json()["message"] == TooManyRequests.message


def test_unknown_paths_and_methods_answer_in_kazoos_envelope(
    client: FlaskClient, app: Flask
) -> None:
    account, key = add_account(app)
    widget_id = create_widget(client, account, key, allowed_regions=["US"])
    auth = admin_auth(key)
    base = f"/v1/accounts/{account}/clicktocall"
    assert_kazoo_error(client.get(f"{base}/{widget_id}/nope", headers=auth), 404)
    assert_kazoo_error(client.get(f"/v1/accounts/{account}", headers=auth), 404)
    not_allowed = client.put(f"{base}/{widget_id}", json={"data": {}}, headers=auth)
    assert_kazoo_error(not_allowed, 405)
    assert "POST" in not_allowed.headers["Allow"]
    assert_kazoo_error(client.delete(base, headers=auth), 405)


def test_oversized_and_non_json_bodies_answer_in_kazoos_envelope(
    client: FlaskClient, app: Flask
) -> None:
    account, key = add_account(app)
    url = f"/v1/accounts/{account}/clicktocall"
    huge = {"data": {"name": "x" * 20_000, "extension": "1001"}}
    assert_kazoo_error(client.put(url, json=huge, headers=admin_auth(key)), 413)
    form = client.put(url, data={"name": "x"}, headers=admin_auth(key))
    assert_kazoo_error(form, 415)
    broken = client.put(
        url, data="{not json", content_type="application/json", headers=admin_auth(key)
    )
    assert_kazoo_error(broken, 400)


def test_store_outage_and_bugs_answer_in_kazoos_envelope(
    client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    account, key = add_account(app)
    url = f"/v1/accounts/{account}/clicktocall"

    def database_down(*_args: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(admin, "account_widgets", database_down)
    assert_kazoo_error(client.get(url, headers=admin_auth(key)), 503)

    def bug(*_args: object) -> None:
        raise RuntimeError("a secret detail")

    monkeypatch.setattr(admin, "account_widgets", bug)
    response = client.get(url, headers=admin_auth(key))
    assert_kazoo_error(response, 500)
    assert "secret detail" not in response.get_data(as_text=True)
