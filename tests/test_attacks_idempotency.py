"""An Idempotency-Key is its requester's own: the same key never hands over another's call."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import ORIGIN, add_account, admin_auth, callbacks, form_token, run_jobs
from widget_server.core import db
from widget_server.owners import admin

KEY = {"Idempotency-Key": "checkout-1"}


def test_a_second_visitor_with_the_same_key_gets_nothing_of_the_first(
    app: Flask, client: FlaskClient, widget_id: str
) -> None:
    url = f"/v1/widgets/{widget_id}/callbacks"
    victim = client.post(
        url,
        json={"phone": "+1 201 555 0123", "token": form_token(client, widget_id)},
        headers={"Origin": ORIGIN, **KEY},
    ).get_json()
    attacker = app.test_client()
    stolen = attacker.post(
        url,
        json={"phone": "+1 202 555 0199", "token": form_token(attacker, widget_id)},
        headers={"Origin": ORIGIN, **KEY},
    )
    assert stolen.status_code == 202
    answer = stolen.get_json()
    assert answer["id"] != victim["id"] and answer["status_url"] != victim["status_url"]
    # What the attacker holds cancels only the attacker's own request.
    canceled = attacker.post(answer["status_url"] + "/cancel", json={}, headers={"Origin": ORIGIN})
    assert canceled.status_code in (200, 202)
    run_jobs(app)
    by_number = {cb.visitor_number: cb.status for cb in callbacks(app)}
    assert by_number["+12015550123"] == "completed"  # the victim's call was placed
    assert by_number["+12025550199"] == "canceled"


def test_two_api_keys_sending_the_same_key_make_two_calls(app: Flask) -> None:
    account, first_key = add_account(app)
    with app.app_context():
        _record, second_key = admin.create_key(db.session(), account, "second")
        db.session().commit()
    client = app.test_client()
    created = client.put(
        f"/v1/accounts/{account}/clicktocall",
        json={"data": {"name": "Sales", "extension": "1001", "auth_required": True}},
        headers=admin_auth(first_key),
    )
    assert created.status_code == 200, created.get_json()
    connect = f"/v1/accounts/{account}/clicktocall/{created.get_json()['data']['id']}/connect"
    answers = []
    for key, phone in (
        (first_key, "+12015550123"),
        (first_key, "+12015550123"),
        (second_key, "+12025550199"),
    ):
        response = client.post(
            connect, json={"data": {"contact": phone}}, headers={**admin_auth(key), **KEY}
        )
        assert response.status_code == 202, response.get_json()
        answers.append(response.get_json()["data"]["id"])
    assert answers[0] == answers[1]  # the first key's retry is replayed
    assert answers[2] != answers[0]  # the second key's request is its own
    assert len(callbacks(app)) == 2
