"""NUL bytes and other control characters answer 4xx on every store (PostgreSQL refuses NUL
in text, so they must never reach a query or a row)."""

from __future__ import annotations

import base64
import json

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import ORIGIN, SERVER, add_account, admin_auth, create_widget, form_token


def test_nul_bytes_answer_4xx_everywhere(app: Flask, client: FlaskClient) -> None:
    account, key = add_account(app)
    widget_id = create_widget(
        client, account, key, allowed_regions=["US"], allowed_origins=[ORIGIN, SERVER]
    )
    auth = admin_auth(key)
    base = f"/v1/accounts/{account}/clicktocall"
    start_key = base64.urlsafe_b64encode(json.dumps(["2020-01-01T00:00:00", "\x00"]).encode())
    responses = {
        "widget id": client.get(f"{base}/%00", headers=auth),
        "history widget id": client.get(f"{base}/a%00b/history", headers=auth),
        "public config": client.get("/v1/widgets/%00/config"),
        "form page": client.get("/w/%00"),
        "key": client.get(base, headers={"X-Auth-Token": "wsk_\x00abcdefghijk_x"}),
        "start_key": client.get(
            f"{base}/{widget_id}/history?start_key={start_key.decode().rstrip('=')}",
            headers=auth,
        ),
        "origin": client.patch(
            f"{base}/{widget_id}",
            json={"data": {"allowed_origins": ["https://a\x00.example"]}},
            headers=auth,
        ),
        "connect name": client.post(
            f"{base}/{widget_id}/connect",
            json={"data": {"contact": "+1 201 555 0123", "name": "a\x00b"}},
            headers=auth,
        ),
        "connect extra": client.post(
            f"{base}/{widget_id}/connect",
            json={"data": {"contact": "+1 201 555 0124", "extra": {"k": "\x00"}}},
            headers=auth,
        ),
        "api page_url": client.post(
            f"/v1/widgets/{widget_id}/callbacks",
            json={
                "phone": "+1 201 555 0125",
                "token": form_token(client, widget_id),
                "page_url": "https://shop.example.com/\x00",
            },
            headers={"Origin": ORIGIN},
        ),
        "form name": client.post(
            f"/w/{widget_id}",
            data={
                "phone": "+1 201 555 0126",
                "token": form_token(client, widget_id, SERVER),
                "region": "US",
                "name": "a\x00b",
            },
            headers={"Origin": SERVER},
        ),
    }
    for label, response in responses.items():
        assert 400 <= response.status_code < 500, (label, response.status_code)
    assert responses["connect name"].get_json()["data"]["name"]
    assert responses["api page_url"].get_json()["fields"]["page_url"]
