"""The admin API says the domain's reasons as it always has: in English, whatever language
the client asks for, with the same field names and Kazoo rules."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.helpers import admin_auth

# (the document's changes, the field, its Kazoo rule and the exact message)
REFUSED: list[tuple[dict[str, Any], str, str, str]] = [
    ({"timeout": 999}, "timeout", "invalid", "must be an integer from 1 to 300"),
    ({"name": "x" * 200}, "name", "maxLength", "must be at most 128 characters"),
    ({"extension": "not a number"}, "extension", "pattern", "has the wrong format"),
    (
        {"time_zone": "Mars/Base"},
        "time_zone",
        "invalid",
        ("must be an IANA time zone such as Africa/Johannesburg"),
    ),
    (
        {"theme": {"radius": 99}},
        "theme",
        "invalid",
        ("radius: must be an integer from 0 to 32 (pixels)"),
    ),
    (
        {"agents": [{"extension": "1001"}, {"extension": "no!"}]},
        "agents",
        "invalid",
        ("1.extension: must be an extension, a number or a SIP URI"),
    ),
    (
        {"whitelist": [".*", "("]},
        "whitelist",
        "invalid",
        (
            "entry 0: matches anything; list the numbers you allow; entry 1: not a valid regular "
            "expression (missing ), unterminated subpattern at position 0)"
        ),
    ),
    (
        {"allowed_origins": ["nope"]},
        "allowed_origins",
        "invalid",
        ("not an origin (scheme://host[:port]): 'nope'"),
    ),
    (
        {"business_hours": {"windows": {"mon": [["10:00", "09:00"]]}}},
        "business_hours.windows.mon",
        "invalid",
        "window 1: ends at 09:00, not after it starts at 10:00",
    ),
    (
        {"provider": "twilio", "provider_settings": {}},
        "provider_settings.account_sid",
        "invalid",
        "required: AC followed by 32 hexadecimal digits",
    ),
    (
        {"texts": {"he": {"title": ""}}},
        "texts",
        "maxLength",
        ("he.title: must be a non-empty string of at most 200 characters"),
    ),
]


@pytest.mark.parametrize(("changes", "field", "rule", "message"), REFUSED)
@pytest.mark.parametrize("language", ["en", "he", "de"])
def test_the_reason_is_english_whatever_the_client_asks_for(
    client: FlaskClient,
    acme: tuple[str, str],
    changes: dict[str, Any],
    field: str,
    rule: str,
    message: str,
    language: str,
) -> None:
    account, key = acme
    response = client.put(
        f"/v1/accounts/{account}/clicktocall",
        json={"data": {"name": "Sales", "extension": "1001", **changes}},
        headers={**admin_auth(key), "Accept-Language": language},
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["message"] == "invalid data"
    assert body["data"][field] == {rule: {"message": message}}, body["data"]
    # The answer holds the reason as plain text, nothing of the template behind it.
    assert "%(" not in json.dumps(body)
