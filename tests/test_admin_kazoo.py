"""Kazoo's clicktocall examples replayed as Kazoo clients send them, answered in Kazoo's shapes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import VALID_US, admin_auth, callbacks, run_jobs
from widget_server.core import db
from widget_server.core.models import Widget

KAZOO_ENVELOPE = {"auth_token", "data", "request_id", "revision", "status"}
SECRET = "whsec-kazoo-0123456789abcdef"


def curl_d(client: FlaskClient, method: str, url: str, key: str, document: Any = None) -> Any:
    """What `curl -X METHOD -H "X-Auth-Token: …" URL -d '{"data": …}'` sends: no JSON type."""
    kwargs: dict[str, Any] = {"headers": admin_auth(key)}
    if document is not None:
        kwargs["data"] = json.dumps(document)
        kwargs["content_type"] = "application/x-www-form-urlencoded"
    return client.open(url, method=method, **kwargs)


def kazoo_success(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert KAZOO_ENVELOPE <= set(body)
    assert body["status"] == "success" and body["auth_token"] == ""
    assert body["request_id"] and body["revision"]
    return body["data"]


def kazoo_create(client: FlaskClient, account: str, key: str, **document: Any) -> Any:
    """Create a clicktocall as Kazoo's example does (`curl -X PUT`) and answer its document."""
    url = f"/v1/accounts/{account}/clicktocall"
    return kazoo_success(curl_d(client, "PUT", url, key, {"data": document}))


def test_kazoo_examples_create_list_update_connect_history(
    app: Flask, client: FlaskClient, acme: tuple[str, str]
) -> None:
    account, key = acme
    base = f"/v1/accounts/{account}/clicktocall"
    # Create (Kazoo: PUT with name, extension, auth_required).
    created = kazoo_create(
        client,
        account,
        key,
        name="Sales line",
        extension="1001",
        auth_required=True,
        whitelist=[r"\+1201\d{7}"],
        throttle=2,
        allowed_regions=["US"],
        provider="webhook",
        provider_settings={"url": "https://hooks.example.com/c", "secret": SECRET},
    )
    c2c_id = created["id"]
    assert created["name"] == "Sales line" and created["whitelist"] == [r"\+1201\d{7}"]
    # List (Kazoo: GET answers id, name, extension, realm).
    listed = kazoo_success(curl_d(client, "GET", base, key))
    assert listed == [{"id": c2c_id, "name": "Sales line", "extension": "1001", "realm": None}]
    # Update the way Kazoo clients do: fetch, change one property, POST the document back.
    fetched = kazoo_success(curl_d(client, "GET", f"{base}/{c2c_id}", key))
    assert SECRET not in json.dumps(fetched)
    fetched["name"] = "Sales (renamed)"
    updated = kazoo_success(curl_d(client, "POST", f"{base}/{c2c_id}", key, {"data": fetched}))
    assert updated["name"] == "Sales (renamed)" and updated["throttle"] == 2
    with app.app_context():
        widget = db.session().get(Widget, c2c_id)
        # The masked hints sent back did not replace the stored credential.
        assert widget is not None and widget.provider_settings["secret"] == SECRET
    # Connect (Kazoo: POST {"data": {"contact": …}}).
    connected = kazoo_success(
        curl_d(client, "POST", f"{base}/{c2c_id}/connect", key, {"data": {"contact": VALID_US}}),
        202,
    )
    assert connected["status"] == "queued" and connected["id"]
    # History (Kazoo: GET; items with contact, timestamp, call_id).
    history = kazoo_success(curl_d(client, "GET", f"{base}/{c2c_id}/history", key))
    assert [item["contact"] for item in history] == ["+12015550123"]
    assert {"contact", "timestamp", "call_id"} <= set(history[0])
    assert history[0]["id"] == connected["id"] == callbacks(app)[0].id
    # Delete.
    deleted = kazoo_success(curl_d(client, "DELETE", f"{base}/{c2c_id}", key))
    assert deleted["id"] == c2c_id
    assert curl_d(client, "GET", f"{base}/{c2c_id}", key).status_code == 404


def test_kazoos_get_connect_never_dials_here(
    app: Flask, client: FlaskClient, acme: tuple[str, str]
) -> None:
    account, key = acme
    base = f"/v1/accounts/{account}/clicktocall"
    c2c_id = kazoo_create(client, account, key, name="S", extension="1001")["id"]
    # Kazoo starts a call on GET …/connect?contact=…; here that is refused.
    response = curl_d(client, "GET", f"{base}/{c2c_id}/connect?contact=%2B12015550123", key)
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
    assert response.get_json()["status"] == "error"
    run_jobs(app)
    assert callbacks(app) == []


def test_auth_required_defaults_to_true_as_in_kazoo(
    client: FlaskClient, acme: tuple[str, str]
) -> None:
    account, key = acme
    base = f"/v1/accounts/{account}/clicktocall"
    created = kazoo_create(client, account, key, name="S", extension="1001")
    assert created["auth_required"] is True
    anonymous = client.post(f"{base}/{created['id']}/connect", json={"data": {"contact": VALID_US}})
    assert anonymous.status_code == 401 and anonymous.get_json()["status"] == "error"


def test_anonymous_bodies_must_be_json(client: FlaskClient, acme: tuple[str, str]) -> None:
    account, key = acme
    base = f"/v1/accounts/{account}/clicktocall"
    created = kazoo_create(client, account, key, name="S", extension="1001", auth_required=False)
    # A cross-site form cannot label its body JSON; without a key, only JSON is read.
    response = client.post(
        f"{base}/{created['id']}/connect",
        data=json.dumps({"data": {"contact": VALID_US}}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415 and response.get_json()["status"] == "error"


@pytest.mark.parametrize(
    ("data", "field", "rule"),
    [
        ({"name": "S"}, "extension", "required"),
        ({"extension": "1001"}, "name", "required"),
        ({"name": "S", "extension": "1001", "whitelist": [".*"]}, "whitelist", "invalid"),
        ({"name": "S", "extension": "1001", "whitelist": [r"\+?.*"]}, "whitelist", "invalid"),
        ({"name": "S", "extension": "1001", "whitelist": r"\+1.*"}, "whitelist", "invalid"),
        ({"name": "S", "extension": "1001", "throttle": "3"}, "throttle", "invalid"),
        ({"name": "S", "extension": "1001", "throttle": 1.5}, "throttle", "invalid"),
        ({"name": "S", "extension": "1001", "provider": "webhook"}, "provider_settings.url", None),
    ],
)
def test_kazoo_validation_names_each_field(
    client: FlaskClient,
    acme: tuple[str, str],
    data: dict[str, Any],
    field: str,
    rule: str | None,
) -> None:
    account, key = acme
    response = curl_d(client, "PUT", f"/v1/accounts/{account}/clicktocall", key, {"data": data})
    assert response.status_code == 400
    body = response.get_json()
    assert body["status"] == "error" and body["message"] == "invalid data"
    assert field in body["data"], body
    if rule is not None:
        assert body["data"][field][rule]["message"]
