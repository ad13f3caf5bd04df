"""The admin API: Kazoo's clicktocall resource, with /connect and /history."""

from __future__ import annotations

import csv
import io
import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import (
    ORIGIN,
    VALID_US,
    add_account,
    admin_auth,
    callbacks,
    form_token,
    put_widget,
    run_jobs,
)
from widget_server.owners import admin

SECRET_SETTING = "sk_live_0123456789abcdef"


def _create(client: FlaskClient, account: str, key: str, **data: Any) -> Any:
    return put_widget(client, account, key, **{"auth_required": True, **data})


def _assert_kazoo_success(body: dict[str, Any]) -> None:
    assert body["status"] == "success"
    assert len(body["request_id"]) >= 16 and body["revision"]
    assert body["auth_token"] == ""
    assert "data" in body


def test_kazoo_create_list_get_update_delete(client: FlaskClient, acme: tuple[str, str]) -> None:
    account, key = acme
    created = _create(client, account, key, realm="pbx.example.com")
    assert created.status_code == 200, created.get_json()
    body = created.get_json()
    _assert_kazoo_success(body)
    widget_id = body["data"]["id"]
    assert body["data"]["extension"] == "1001" and body["data"]["throttle"] == 0

    listed = client.get(f"/v1/accounts/{account}/clicktocall", headers=admin_auth(key)).get_json()
    _assert_kazoo_success(listed)
    assert listed["data"] == [
        {"id": widget_id, "name": "Sales", "extension": "1001", "realm": "pbx.example.com"}
    ]

    url = f"/v1/accounts/{account}/clicktocall/{widget_id}"
    patched = client.patch(url, json={"data": {"throttle": 3}}, headers=admin_auth(key)).get_json()
    assert patched["data"]["throttle"] == 3 and patched["data"]["realm"] == "pbx.example.com"
    replaced = client.post(
        url,
        json={"data": {"id": widget_id, "name": "Support", "extension": "1002"}},
        headers=admin_auth(key),
    ).get_json()
    _assert_kazoo_success(replaced)
    assert replaced["data"]["name"] == "Support"
    assert replaced["data"]["throttle"] == 0 and replaced["data"]["realm"] is None

    assert client.get(url, headers=admin_auth(key)).get_json()["data"]["name"] == "Support"
    deleted = client.delete(url, headers=admin_auth(key))
    assert deleted.status_code == 200 and deleted.get_json()["data"]["id"] == widget_id
    assert client.get(url, headers=admin_auth(key)).status_code == 404


@pytest.mark.parametrize(
    ("data", "field", "rule"),
    [
        ({"name": ""}, "name", "required"),
        ({"extension": "not an extension"}, "extension", "pattern"),
        ({"realm": "bad realm!"}, "realm", "pattern"),
        ({"auth_required": "yes"}, "auth_required", "type"),
        ({"whitelist": ["("]}, "whitelist", "invalid"),
        ({"throttle": -1}, "throttle", "invalid"),
        ({"caller_id_number": "abc"}, "caller_id_number", "pattern"),
        ({"outbound_callee_id_name": "x" * 65}, "outbound_callee_id_name", "maxLength"),
        ({"outbound_callee_id_number": "abc"}, "outbound_callee_id_number", "pattern"),
        ({"provider": "nope"}, "provider", "invalid"),
        ({"timeout": 0}, "timeout", "invalid"),
        ({"allowed_origins": ["ftp:/x"]}, "allowed_origins", "invalid"),
        ({"time_zone": "Mars/Base"}, "time_zone", "invalid"),
        ({"surprise": 1}, "surprise", "not_allowed"),
    ],
)
def test_validation_errors_are_kazoo_shaped(
    client: FlaskClient, acme: tuple[str, str], data: dict[str, Any], field: str, rule: str
) -> None:
    account, key = acme
    response = _create(client, account, key, **data)
    assert response.status_code == 400
    body = response.get_json()
    assert body["status"] == "error" and body["error"] == "400"
    assert body["message"] == "invalid data" and body["request_id"]
    assert rule in body["data"][field] and body["data"][field][rule]["message"]


def test_bodies_that_are_not_kazoo_envelopes(client: FlaskClient, acme: tuple[str, str]) -> None:
    account, key = acme
    url = f"/v1/accounts/{account}/clicktocall"
    assert client.put(url, data="name=x", headers=admin_auth(key)).status_code == 415
    not_object = client.put(
        url, data="[1]", content_type="application/json", headers=admin_auth(key)
    )
    assert not_object.status_code == 400
    no_data = client.put(url, json={"name": "Sales"}, headers=admin_auth(key))
    assert no_data.status_code == 400 and "data" in no_data.get_json()["data"]


def test_credentials_are_needed(client: FlaskClient, acme: tuple[str, str]) -> None:
    account, key = acme
    url = f"/v1/accounts/{account}/clicktocall"
    for headers in (
        {},
        {"X-Auth-Token": "wrong"},
        {"Authorization": "Bearer wsk_nope"},
        {"Authorization": f"Basic {key}"},
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 401, headers
        assert response.get_json()["status"] == "error"
    assert client.get(url, headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_another_accounts_resources_answer_404(app: Flask, client: FlaskClient) -> None:
    acme, acme_key = add_account(app, "Acme")
    other, other_key = add_account(app, "Other")
    widget_id = _create(client, other, other_key).get_json()["data"]["id"]
    base = f"/v1/accounts/{other}/clicktocall"
    assert client.get(base, headers=admin_auth(acme_key)).status_code == 404
    for method in ("get", "delete", "patch", "post"):
        response = getattr(client, method)(
            f"{base}/{widget_id}", json={"data": {}}, headers=admin_auth(acme_key)
        )
        assert response.status_code == 404, method
    # Even under the key's own account, the other account's widget does not exist.
    mine = f"/v1/accounts/{acme}/clicktocall/{widget_id}"
    assert client.get(mine, headers=admin_auth(acme_key)).status_code == 404
    assert client.get(f"{mine}/history", headers=admin_auth(acme_key)).status_code == 404
    connect = client.post(
        f"{mine}/connect", json={"data": {"contact": VALID_US}}, headers=admin_auth(acme_key)
    )
    assert connect.status_code == 404


def test_provider_settings_are_write_only_and_keys_never_leak(
    app: Flask, client: FlaskClient, acme: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    account, key = acme
    created = _create(
        client,
        account,
        key,
        provider="webhook",
        provider_settings={"url": "https://hooks.example.com/call", "secret": SECRET_SETTING},
    )
    assert created.status_code == 200, created.get_json()
    widget_id = created.get_json()["data"]["id"]
    shown = created.get_json()["data"]["provider_settings"]
    assert shown["secret"] == "••••cdef"
    url = f"/v1/accounts/{account}/clicktocall/{widget_id}"
    replaced = client.post(
        url,
        json={"data": {"name": "Sales", "extension": "1001", "provider": "webhook"}},
        headers=admin_auth(key),
    )
    assert replaced.status_code == 200, replaced.get_json()
    responses = [
        created,
        replaced,
        client.get(url, headers=admin_auth(key)),
        client.get(f"/v1/accounts/{account}/clicktocall", headers=admin_auth(key)),
        client.get(f"{url}/history", headers=admin_auth(key)),
        client.get(f"{url}/history?format=csv", headers=admin_auth(key)),
    ]
    for response in responses:
        text = response.get_data(as_text=True)
        assert SECRET_SETTING not in text and key not in text
    assert SECRET_SETTING not in caplog.text and key not in caplog.text


def _public_widget(client: FlaskClient, account: str, key: str, **data: Any) -> str:
    values = {
        "auth_required": False,
        "allowed_origins": [ORIGIN],
        "allowed_regions": ["US"],
        "provider_settings": {"step_delay": 0, "talk_time": 0},
        **data,
    }
    response = _create(client, account, key, **values)
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["data"]["id"])


def test_keyed_connect_places_a_call(
    app: Flask, client: FlaskClient, acme: tuple[str, str]
) -> None:
    account, key = acme
    widget_id = _public_widget(client, account, key, auth_required=True)
    url = f"/v1/accounts/{account}/clicktocall/{widget_id}/connect"
    assert client.post(url, json={"data": {"contact": VALID_US}}).status_code == 401
    response = client.post(url, json={"data": {"contact": VALID_US}}, headers=admin_auth(key))
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    _assert_kazoo_success(body)
    assert body["data"]["status"] == "queued" and body["data"]["status_url"].startswith("http")
    run_jobs(app)
    [callback] = callbacks(app)
    assert callback.id == body["data"]["id"] and callback.visitor_number == "+12015550123"
    assert callback.status == "completed"


def test_keyed_connect_keeps_number_policy(client: FlaskClient, acme: tuple[str, str]) -> None:
    account, key = acme
    widget_id = _public_widget(client, account, key, auth_required=True)
    url = f"/v1/accounts/{account}/clicktocall/{widget_id}/connect"
    for contact in ("+27 82 123 4567", "not a number", "+1 900 555 0123"):
        response = client.post(url, json={"data": {"contact": contact}}, headers=admin_auth(key))
        assert response.status_code in (400, 422), contact
        assert "contact" in response.get_json()["data"]
    missing = client.post(url, json={"data": {}}, headers=admin_auth(key))
    assert missing.status_code == 400 and "contact" in missing.get_json()["data"]


def test_public_connect_needs_a_form_token_and_an_allowed_origin(
    app: Flask, client: FlaskClient, acme: tuple[str, str]
) -> None:
    account, key = acme
    widget_id = _public_widget(client, account, key)
    url = f"/v1/accounts/{account}/clicktocall/{widget_id}/connect"
    no_token = client.post(url, json={"data": {"contact": VALID_US}}, headers={"Origin": ORIGIN})
    assert no_token.status_code == 400 and "token" in no_token.get_json()["data"]
    token = form_token(client, widget_id)
    evil = client.post(
        url,
        json={"data": {"contact": VALID_US, "token": token}},
        headers={"Origin": "https://evil.example"},
    )
    assert evil.status_code == 403
    ok = client.post(
        url, json={"data": {"contact": VALID_US, "token": token}}, headers={"Origin": ORIGIN}
    )
    assert ok.status_code == 202, ok.get_json()
    again = client.post(
        url, json={"data": {"contact": VALID_US, "token": token}}, headers={"Origin": ORIGIN}
    )
    assert (
        again.status_code == 202 and again.get_json()["data"]["id"] == ok.get_json()["data"]["id"]
    )
    assert len(callbacks(app)) == 1


def test_public_connect_is_rate_limited_per_ip(make_app: Any) -> None:
    app = make_app(SUBMIT_LIMIT_PER_IP="2 per minute")
    client = app.test_client()
    account, key = add_account(app)
    widget_id = _public_widget(client, account, key)
    url = f"/v1/accounts/{account}/clicktocall/{widget_id}/connect"
    tokens = [form_token(client, widget_id) for _ in range(3)]  # each request a valid one
    codes = [
        client.post(
            url,
            json={"data": {"contact": f"+1 201 555 01{n:02d}", "token": tokens[n]}},
            headers={"Origin": ORIGIN},
        ).status_code
        for n in range(3)
    ]
    assert codes == [202, 202, 429]


def test_get_connect_never_places_a_call(
    app: Flask, client: FlaskClient, acme: tuple[str, str]
) -> None:
    account, key = acme
    widget_id = _public_widget(client, account, key)
    response = client.get(
        f"/v1/accounts/{account}/clicktocall/{widget_id}/connect?contact=%2B12015550123",
        headers=admin_auth(key),
    )
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
    assert "POST" in response.get_json()["message"]
    assert callbacks(app) == []


def _connect_many(app: Flask, client: FlaskClient, account: str, key: str, count: int) -> str:
    widget_id = _public_widget(client, account, key, auth_required=True)
    url = f"/v1/accounts/{account}/clicktocall/{widget_id}/connect"
    for n in range(count):
        contact = f"+1 201 555 01{n:02d}"
        response = client.post(url, json={"data": {"contact": contact}}, headers=admin_auth(key))
        assert response.status_code == 202, response.get_json()
        run_jobs(app)
    return widget_id


def test_history_pages_newest_first(app: Flask, client: FlaskClient, acme: tuple[str, str]) -> None:
    account, key = acme
    widget_id = _connect_many(app, client, account, key, 5)
    url = f"/v1/accounts/{account}/clicktocall/{widget_id}/history"
    first = client.get(f"{url}?page_size=2", headers=admin_auth(key)).get_json()
    _assert_kazoo_success(first)
    assert first["page_size"] == 2 and first["next_start_key"]
    assert [i["contact"] for i in first["data"]] == ["+12015550104", "+12015550103"]
    item = first["data"][0]
    assert set(item) >= {
        "id",
        "contact",
        "timestamp",
        "call_id",
        "status",
        "result",
        "cause",
        "attempts",
    }
    seen = [i["id"] for i in first["data"]]
    start = first["next_start_key"]
    while start:
        page = client.get(
            f"{url}?page_size=2&start_key={start}", headers=admin_auth(key)
        ).get_json()
        seen += [i["id"] for i in page["data"]]
        start = page.get("next_start_key")
    assert len(seen) == len(set(seen)) == 5


def test_history_filters_and_rejects_bad_filters(
    app: Flask, client: FlaskClient, acme: tuple[str, str]
) -> None:
    account, key = acme
    widget_id = _connect_many(app, client, account, key, 2)
    url = f"/v1/accounts/{account}/clicktocall/{widget_id}/history"
    get = lambda q: client.get(f"{url}?{q}", headers=admin_auth(key))  # noqa: E731
    assert len(get("status=completed").get_json()["data"]) == 2
    assert get("status=failed").get_json()["data"] == []
    assert get("created_from=4102444800").get_json()["data"] == []
    assert len(get("created_to=2100-01-01T00:00:00Z").get_json()["data"]) == 2
    for bad in (
        "page_size=0",
        "page_size=x",
        "status=nope",
        "created_from=yesterday",
        "start_key=%%%",
        "format=xml",
    ):
        response = get(bad)
        assert response.status_code == 400, bad
        assert response.get_json()["message"] == "invalid data"


def test_history_as_csv(app: Flask, client: FlaskClient, acme: tuple[str, str]) -> None:
    account, key = acme
    widget_id = _connect_many(app, client, account, key, 2)
    url = f"/v1/accounts/{account}/clicktocall/{widget_id}/history"
    for response in (
        client.get(f"{url}?format=csv", headers=admin_auth(key)),
        client.get(url, headers={**admin_auth(key), "Accept": "text/csv"}),
    ):
        assert response.status_code == 200 and response.mimetype == "text/csv"
        rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
        assert [row["contact"] for row in rows] == ["+12015550101", "+12015550100"]
        assert rows[0]["status"] == "completed"


def test_csv_cells_cannot_become_formulas() -> None:
    assert admin.csv_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert admin.csv_safe("+12015550123") == "+12015550123"
    assert admin.csv_safe("+SUM(1)") == "'+SUM(1)"
    assert admin.csv_safe(None) == ""
