"""Form tokens: signed per purpose, bound to widget and origin, aged, and single-use."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tests.helpers import (
    ORIGIN,
    SECRET,
    SERVER,
    VALID_US,
    add_widget,
    callbacks,
    form_token,
    submit_json,
)
from widget_server.core.tokens import FORM_SALT, STATUS_SALT, TokenRefused, Tokens


def test_a_double_submit_gets_the_same_answer_and_one_callback(
    client: FlaskClient, widget_id: str, app: Flask
) -> None:
    token = form_token(client, widget_id)
    first = submit_json(client, widget_id, token=token)
    again = submit_json(client, widget_id, token=token)
    assert first.status_code == again.status_code == 202
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(callbacks(app)) == 1


def test_a_token_is_used_once_under_another_idempotency_key(
    client: FlaskClient, widget_id: str, app: Flask
) -> None:
    token = form_token(client, widget_id)
    url = f"/v1/widgets/{widget_id}/callbacks"
    body = {"phone": "+1 201 555 0123", "token": token}
    statuses = [
        client.post(url, json=body, headers={"Origin": ORIGIN, "Idempotency-Key": key}).status_code
        for key in ("first", "second")
    ]
    assert statuses == [202, 409]
    assert len(callbacks(app)) == 1


def test_an_idempotency_key_replays_only_with_the_token_it_came_with(
    client: FlaskClient, widget_id: str, app: Flask
) -> None:
    url = f"/v1/widgets/{widget_id}/callbacks"
    headers = {"Origin": ORIGIN, "Idempotency-Key": "order-42"}
    token = form_token(client, widget_id)
    body = {"phone": "+1 201 555 0123", "token": token}
    first, retried = (client.post(url, json=body, headers=headers) for _ in range(2))
    assert retried.get_json()["id"] == first.get_json()["id"]
    assert retried.headers["Idempotent-Replayed"] == "true"
    # The same key with another form token is another visitor's request: its own callback.
    other = client.post(
        url,
        json={"phone": "+1 202 555 0199", "token": form_token(client, widget_id)},
        headers=headers,
    )
    assert other.status_code == 202 and other.get_json()["id"] != first.get_json()["id"]
    assert "Idempotent-Replayed" not in other.headers
    assert len(callbacks(app)) == 2


def test_twenty_concurrent_uses_of_one_token_accept_exactly_one(app: Flask, widget_id: str) -> None:
    token = form_token(app.test_client(), widget_id)

    def attempt(_: int) -> int:
        return submit_json(app.test_client(), widget_id, token=token).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(attempt, range(20)))
    # One is accepted; the rest are refused while it is in flight, or get its answer again.
    assert set(statuses) <= {202, 409}
    assert len(callbacks(app)) == 1


def _signed(secret: str, salt: str, payload: object, *, at: float | None = None) -> str:
    """Sign like the server does, optionally with another clock."""
    if at is None:
        return URLSafeTimedSerializer(secret, salt=salt).dumps(payload)

    class ClockedSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(at)

    return URLSafeTimedSerializer(secret, salt=salt, signer=ClockedSigner).dumps(payload)


@pytest.mark.parametrize(
    ("make_token", "reason"),
    [
        (lambda w: "", "token_missing"),
        (lambda w: "x" * 600, "token_missing"),
        (lambda w: "not-a-token", "token_invalid"),
        (
            lambda w: _signed(
                SECRET, FORM_SALT, {"w": w, "o": ORIGIN, "n": "a" * 32}, at=time.time() - 3 * 3600
            ),
            "token_expired",
        ),
        (
            lambda w: _signed(
                SECRET, FORM_SALT, {"w": w, "o": ORIGIN, "n": "b" * 32}, at=time.time() + 3600
            ),
            "token_expired",
        ),  # from the future
        (
            lambda w: _signed(SECRET, STATUS_SALT, {"w": w, "o": ORIGIN, "n": "c" * 32}),
            "token_invalid",
        ),
        (
            lambda w: _signed(
                "another-secret-key-of-good-length-000000",
                FORM_SALT,
                {"w": w, "o": ORIGIN, "n": "d" * 32},
            ),
            "token_invalid",
        ),
        (
            lambda w: _signed(SECRET, FORM_SALT, {"w": "f" * 32, "o": ORIGIN, "n": "e" * 32}),
            "token_wrong_widget",
        ),
        (
            lambda w: _signed(
                SECRET, FORM_SALT, {"w": w, "o": "https://evil.example", "n": "f" * 32}
            ),
            "token_wrong_origin",
        ),
        (lambda w: _signed(SECRET, FORM_SALT, ["not", "a", "dict"]), "token_invalid"),
    ],
)
def test_bad_tokens_are_refused_and_nothing_is_stored(
    app: Flask,
    client: FlaskClient,
    widget_id: str,
    make_token: Callable[[str], str],
    reason: str,
) -> None:
    with pytest.raises(TokenRefused) as refusal:
        Tokens(app).read_form_token(make_token(widget_id), widget_id, ORIGIN)
    assert refusal.value.reason == reason
    response = submit_json(client, widget_id, token=make_token(widget_id))
    assert response.status_code in (400, 422)
    assert callbacks(app) == []


def test_minimum_fill_time(make_app: Callable[..., Flask]) -> None:
    app = make_app(FORM_TOKEN_MIN_AGE=2)
    widget_id = add_widget(app)
    client = app.test_client()
    token = form_token(client, widget_id)
    too_soon = submit_json(client, widget_id, token=token)
    assert too_soon.status_code == 422
    assert "token" in too_soon.get_json()["fields"]
    time.sleep(2.1)
    assert submit_json(client, widget_id, token=token).status_code == 202


def test_a_refused_number_does_not_use_up_the_token(client: FlaskClient, widget_id: str) -> None:
    token = form_token(client, widget_id)
    assert submit_json(client, widget_id, phone="12", token=token).status_code == 422
    assert submit_json(client, widget_id, phone=VALID_US, token=token).status_code == 202


def test_concurrent_visitors_sending_one_idempotency_key_each_get_their_own_callback(
    app: Flask, widget_id: str
) -> None:
    tokens = [form_token(app.test_client(), widget_id) for _ in range(10)]

    def attempt(index: int) -> str:
        response = app.test_client().post(
            f"/v1/widgets/{widget_id}/callbacks",
            json={"phone": f"+1 201 555 {index:04d}", "token": tokens[index]},
            headers={"Origin": ORIGIN, "Idempotency-Key": "same-order"},
        )
        assert response.status_code == 202
        return str(response.get_json()["id"])

    with ThreadPoolExecutor(max_workers=10) as pool:
        ids = list(pool.map(attempt, range(10)))
    assert len(set(ids)) == 10 and len(callbacks(app)) == 10


def test_the_minimum_fill_time_counts_the_whole_visit(make_app: Callable[..., Flask]) -> None:
    app = make_app(FORM_TOKEN_MIN_AGE=2)
    widget_id = add_widget(app)
    client = app.test_client()
    url = f"/w/{widget_id}"
    page = client.get(f"{url}?host={ORIGIN}").get_data(as_text=True)
    first = page.split('name="token" type="hidden" value="', 1)[1].split('"', 1)[0]
    form = {"token": first, "host": ORIGIN, "region": "US", "phone": "12"}
    headers = {"Accept": "application/json", "Origin": SERVER}
    refused = client.post(url, data=form, headers=headers)  # a wrong number: a fresh token
    assert refused.status_code == 422 and "phone" in refused.get_json()["fields"]
    too_soon = client.post(
        url, data={**form, "token": refused.get_json()["token"], "phone": VALID_US}, headers=headers
    )
    body = too_soon.get_json()
    assert too_soon.status_code == 422
    assert body["message"] == body["fields"]["token"]
    assert body["message"].startswith("Please wait a moment and try again in ")
    time.sleep(2.1)
    # The latest token is younger than the minimum, but the visit is not.
    with app.app_context():
        assert Tokens(app).first_shown(body["token"], widget_id, ORIGIN) == pytest.approx(
            Tokens(app).first_shown(first, widget_id, ORIGIN)
        )
    accepted = client.post(
        url, data={**form, "token": body["token"], "phone": VALID_US}, headers=headers
    )
    assert accepted.status_code == 202, accepted.get_json()


def test_a_carried_first_shown_time_needs_a_token_of_this_widget_and_origin(app: Flask) -> None:
    tokens = Tokens(app)
    token = tokens.issue_form_token("w1", ORIGIN, first_shown=time.time() - 60)
    assert tokens.first_shown(token, "w1", ORIGIN) == pytest.approx(time.time() - 60, abs=2)
    assert tokens.first_shown(token, "w2", ORIGIN) is None
    assert tokens.first_shown(token, "w1", "https://other.example.com") is None
    assert tokens.first_shown("forged", "w1", ORIGIN) is None
    assert tokens.first_shown(None, "w1", ORIGIN) is None
