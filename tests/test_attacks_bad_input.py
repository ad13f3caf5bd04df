"""Attack suite, bad input: each reported request answers 4xx, rings nobody, spends nothing.

Before, about 950 nested `[` raised RecursionError on every JSON route, a page URL such as
"http://[::1" raised ValueError, and a lone surrogate in a name or a page URL failed the
database write after the number's allowance was spent: three such requests kept a
victim's number from being called back for a day.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.helpers import (
    ORIGIN,
    add_account,
    admin_auth,
    callbacks,
    create_widget,
    form_token,
    run_jobs,
)
from tests.test_attacks import DEFAULT_LIMITS
from widget_server.providers import CallRequest

VICTIM = "+1 201 555 0123"
VICTIM_E164 = "+12015550123"
NESTED = b"[" * 950 + b"]" * 950
BAD_PAGE_URLS = ["http://[::1", "https://[zz]/"]
LONE_SURROGATES = [
    ("name", "\ud800"),
    ("name", "Ada \udfff"),
    ("page_url", "https://shop.example.com/\ud800"),
]


class Target:
    """A public clicktocall (JSON API and anonymous connect) with the server's real limits."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client = app.test_client()
        self.account, self.key = add_account(app)
        self.widget = create_widget(
            self.client,
            self.account,
            self.key,
            provider="counting",
            auth_required=False,
            allowed_regions=["US"],
            allowed_origins=[ORIGIN],
        )
        self.clicktocall = f"/v1/accounts/{self.account}/clicktocall/{self.widget}"

    def submit(self, **fields: Any) -> Any:
        """POST the JSON API's callback request for the victim, with `fields` on top."""
        body = {"phone": VICTIM, "token": form_token(self.client, self.widget), **fields}
        return self.client.post(
            f"/v1/widgets/{self.widget}/callbacks", json=body, headers={"Origin": ORIGIN}
        )

    def connect(self, **fields: Any) -> Any:
        """POST Kazoo's connect for the victim, anonymously, as a public clicktocall allows."""
        data = {"contact": VICTIM, "token": form_token(self.client, self.widget), **fields}
        return self.client.post(
            f"{self.clicktocall}/connect", json={"data": data}, headers={"Origin": ORIGIN}
        )

    def raw(self, method: str, url: str, body: bytes, **headers: str) -> Any:
        return self.client.open(
            url,
            method=method,
            data=body,
            headers={"Origin": ORIGIN, "Content-Type": "application/json", **headers},
        )


@pytest.fixture
def target(make_app: Callable[..., Flask], calls: list[CallRequest]) -> Target:
    return Target(make_app(**DEFAULT_LIMITS))


def _assert_refused(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    text = response.get_data(as_text=True)
    assert "Traceback" not in text
    body: dict[str, Any] = response.get_json()
    return body


def _genuine_request_is_accepted(target: Target, calls: list[CallRequest]) -> None:
    """Nothing rang so far, and the victim's number still has its whole allowance."""
    run_jobs(target.app)
    assert calls == [] and callbacks(target.app) == []
    assert target.submit().status_code == 202
    run_jobs(target.app)
    assert [call.visitor_e164 for call in calls] == [VICTIM_E164]


def test_deep_nesting_is_refused_on_every_json_route(
    target: Target, calls: list[CallRequest]
) -> None:
    before = target.client.get(target.clicktocall, headers=admin_auth(target.key)).get_json()
    answers = {
        "callbacks": target.raw("POST", f"/v1/widgets/{target.widget}/callbacks", NESTED),
        "callbacks extra": target.raw(
            "POST",
            f"/v1/widgets/{target.widget}/callbacks",
            b'{"phone": "' + VICTIM.encode() + b'", "token": "t", "extra": ' + NESTED + b"}",
        ),
        "public connect": target.raw(
            "POST", f"{target.clicktocall}/connect", b'{"data": {"extra": ' + NESTED + b"}}"
        ),
        "admin patch": target.raw(
            "PATCH",
            target.clicktocall,
            b'{"data": {"texts": ' + NESTED + b"}}",
            **admin_auth(target.key),
        ),
        "optout": target.raw("POST", "/v1/optout", NESTED),
        "provider events": target.raw("POST", "/v1/events/counting/some.ref", NESTED),
    }
    for route, response in answers.items():
        assert response.status_code == 400, (route, response.get_data(as_text=True))
        assert "Traceback" not in response.get_data(as_text=True)
    assert set(answers["callbacks extra"].get_json()["fields"]) == {"extra"}
    assert "data.extra" in answers["public connect"].get_json()["data"]
    assert "data.texts" in answers["admin patch"].get_json()["data"]
    after = target.client.get(target.clicktocall, headers=admin_auth(target.key)).get_json()
    assert after["data"] == before["data"]
    _genuine_request_is_accepted(target, calls)


@pytest.mark.parametrize("page_url", BAD_PAGE_URLS)
def test_malformed_page_urls_are_refused_naming_the_field(
    target: Target, calls: list[CallRequest], page_url: str
) -> None:
    api = _assert_refused(target.submit(page_url=page_url))
    assert set(api["fields"]) == {"page_url"}
    connect = _assert_refused(target.connect(page_url=page_url))
    assert set(connect["data"]) == {"page_url"}
    _genuine_request_is_accepted(target, calls)


@pytest.mark.parametrize(("field", "value"), LONE_SURROGATES)
def test_lone_surrogates_never_spend_the_numbers_allowance(
    target: Target, calls: list[CallRequest], field: str, value: str
) -> None:
    # The allowance is "1 per 10 minutes;3 per day": three refusals, then the real request.
    for _ in range(3):
        api = _assert_refused(target.submit(**{field: value}))
        assert set(api["fields"]) == {field}
        connect = _assert_refused(target.connect(**{field: value}))
        assert set(connect["data"]) == {field}
    _genuine_request_is_accepted(target, calls)


def test_a_lone_surrogate_anywhere_in_extra_is_refused(
    target: Target, calls: list[CallRequest]
) -> None:
    for extra in ({"\ud800": "x"}, {"crm_id": "\udbff"}):
        body = json.dumps({"phone": VICTIM, "token": "t", "extra": extra}).encode()
        response = target.raw("POST", f"/v1/widgets/{target.widget}/callbacks", body)
        assert set(_assert_refused(response)["fields"]) == {"extra"}
    _genuine_request_is_accepted(target, calls)


def test_the_form_page_refuses_control_characters(target: Target, calls: list[CallRequest]) -> None:
    # The form posts from this server's own page; control characters are the form's case
    # (a browser's form encoding cannot carry a lone surrogate: it arrives as U+FFFD).
    server = "http://localhost"
    response = target.client.post(
        f"/w/{target.widget}",
        data={
            "phone": VICTIM,
            "region": "US",
            "name": "Ada\x00",
            "token": form_token(target.client, target.widget, server),
        },
        headers={"Origin": server},
    )
    assert response.status_code == 400
    _genuine_request_is_accepted(target, calls)
