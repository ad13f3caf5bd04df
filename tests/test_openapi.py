"""The OpenAPI document describes exactly the routes the app serves."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

IGNORED = {"HEAD", "OPTIONS"}


def test_document_paths_and_methods_match_the_url_map(app: Flask, client: FlaskClient) -> None:
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    described = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    served = {
        (re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        # The owners' dashboard is pages for people (CSRF-protected forms), not an API.
        if rule.endpoint != "static" and not rule.endpoint.startswith("dashboard.")
        for method in (rule.methods or set()) - IGNORED
    }
    assert described == served


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
    ]


def test_admin_operations_state_kazoo_envelopes_errors_and_security(client: FlaskClient) -> None:
    document = client.get("/v1/openapi.json").get_json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["authToken"] == {"type": "apiKey", "in": "header", "name": "X-Auth-Token"}
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer"}
    kazoo_error = {"$ref": "#/components/schemas/KazooError"}
    admin = [op for op in _operations(document) if op[0].startswith("/v1/accounts/")]
    assert len(admin) == 12  # clicktocall (9), webhook test and log, erase
    for path, method, operation in admin:
        assert {"authToken": []} in operation["security"], (path, method)
        responses = operation["responses"]
        never_dials = path.endswith("/connect") and method == "get"
        expected = {"405", "429"} if never_dials else {"401", "404", "429", "503"}
        assert expected <= set(responses), (path, method)
        for code, response in responses.items():
            schema = response["content"]["application/json"]["schema"]
            if code.startswith("2"):
                assert schema["allOf"][0] == {"$ref": "#/components/schemas/Envelope"}
            else:
                assert schema == kazoo_error, (path, method, code)
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= set(responses), (path, method)
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert body["required"] == ["data"]
    envelope = document["components"]["schemas"]["Envelope"]
    assert set(envelope["required"]) == {"data", "status", "request_id", "revision", "auth_token"}
    statuses = document["components"]["schemas"]["Status"]["enum"]
    assert "queued" in statuses and "completed" in statuses


def test_json_bodies_describe_their_properties(client: FlaskClient) -> None:
    document = client.get("/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    clicktocall = schemas["Clicktocall"]
    assert {"id", "name", "extension", "whitelist", "throttle"} <= set(clicktocall["required"])
    assert clicktocall["properties"]["throttle"]["minimum"] == 0
    assert schemas["CallbackRequest"]["required"] == ["phone", "token"]
    assert {"contact", "timestamp", "call_id", "status"} <= set(schemas["HistoryItem"]["required"])
    for path, method, operation in _operations(document):
        for code, response in operation["responses"].items():
            assert response.get("description"), (path, method, code)
            if code not in ("204", "303", "304"):  # no body by definition
                assert response.get("content"), (path, method, code)
