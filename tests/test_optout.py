"""Callee opt-out: proved by a code texted to the number, then the number is never called.

The texts go to a local stand-in for Twilio's Messages resource (tests/fakes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.fakes import twilio_messages
from tests.helpers import ORIGIN, SERVER, add_widget, callbacks, run_jobs, submit_json
from widget_server.calls import blocklist
from widget_server.core import clock, db
from widget_server.core.models import OptOutRequest

VICTIM = "+1 201 555 0123"
VICTIM_E164 = "+12015550123"


@pytest.fixture
def texts() -> Iterator[twilio_messages.Fake]:
    with twilio_messages.Fake() as fake:
        yield fake


@pytest.fixture
def app(make_app: Callable[..., Flask], texts: twilio_messages.Fake) -> Flask:
    return make_app(**texts.settings())


def ask(client: FlaskClient, phone: object = VICTIM) -> dict:
    response = client.post("/v1/optout", json={"phone": phone})
    assert response.status_code == 202, response.get_json()
    return dict(response.get_json())


def confirm(client: FlaskClient, request_id: str, code: str) -> int:
    return client.post("/v1/optout/confirm", json={"request": request_id, "code": code}).status_code


def opt_out(app: Flask, client: FlaskClient, texts: twilio_messages.Fake, phone: str) -> None:
    """Opt a number out the way its owner does: ask, read the text, confirm."""
    asked = ask(client, phone)
    run_jobs(app)
    assert confirm(client, asked["request"], texts.last_code()) == 200


def test_a_stranger_cannot_silence_a_number(
    app: Flask, client: FlaskClient, texts: twilio_messages.Fake
) -> None:
    widget_id = add_widget(app)
    asked = ask(client)  # the attacker asks to silence the victim
    run_jobs(app)
    # The code went to the victim's phone only; the attacker never sees it.
    assert [to for to, _body in texts.sent] == [VICTIM_E164]
    assert texts.last_code() not in str(asked)
    guesses = [confirm(client, asked["request"], f"{n:06d}") for n in range(6)]
    assert guesses == [422] * 6
    # Five wrong tries spend the request: even the right code no longer works.
    assert confirm(client, asked["request"], texts.last_code()) == 422
    # The victim still gets the call they ask for.
    assert submit_json(client, widget_id, phone=VICTIM).status_code == 202
    run_jobs(app)
    assert [callback.visitor_number for callback in callbacks(app)] == [VICTIM_E164]


def test_the_numbers_owner_confirms_with_the_code_and_is_never_called(
    app: Flask, client: FlaskClient, texts: twilio_messages.Fake
) -> None:
    widget_id = add_widget(app)
    opt_out(app, client, texts, VICTIM)
    with app.app_context():
        assert blocklist.number_blocked(db.session(), VICTIM_E164) == "opted_out"
        # The request, and the number it held, are gone once used.
        assert db.session().query(OptOutRequest).count() == 0
    response = submit_json(client, widget_id, phone=VICTIM)
    assert response.status_code == 202  # nothing tells the requester the number opted out
    run_jobs(app)
    assert [cb.visitor_number for cb in callbacks(app) if cb.status != "rejected"] == []


def test_asking_tells_nothing_about_the_number(
    app: Flask, client: FlaskClient, texts: twilio_messages.Fake
) -> None:
    opt_out(app, client, texts, VICTIM)
    silenced = ask(client, "+27 82 123 4567")
    fresh = client.post("/v1/optout", json={"phone": "+44 20 7946 0958"})
    assert fresh.status_code == 202
    assert set(silenced) == set(fresh.get_json())
    assert silenced["message"] == fresh.get_json()["message"]
    assert len(silenced["request"]) == len(fresh.get_json()["request"]) == 32


def test_codes_to_one_number_are_capped(
    app: Flask, client: FlaskClient, texts: twilio_messages.Fake
) -> None:
    ask(client)
    again = client.post("/v1/optout", json={"phone": VICTIM})
    assert again.status_code == 429
    run_jobs(app)
    assert len(texts.sent) == 1  # the number was texted once, not once per request


def test_a_code_expires(app: Flask, client: FlaskClient, texts: twilio_messages.Fake) -> None:
    asked = ask(client)
    run_jobs(app)
    app_clock: clock.Clock = app.extensions["clock"]
    app_clock.set(clock.now() + timedelta(seconds=app.config["OPTOUT_CODE_SECONDS"] + 1))
    assert confirm(client, asked["request"], texts.last_code()) == 422
    with app.app_context():
        assert app.extensions["jobs"].purge_optouts() == 1
        assert blocklist.number_blocked(db.session(), VICTIM_E164) is None


def test_without_a_text_sender_no_opt_out_is_taken(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    client = app.test_client()
    for phone in (VICTIM, "nope", 5):  # one answer for every input: nothing is read
        response = client.post("/v1/optout", json={"phone": phone})
        assert response.status_code == 503
        assert "not set up" in response.get_json()["message"]
    page = client.post("/optout", data={"phone": VICTIM}, headers={"Origin": SERVER})
    assert page.status_code == 503 and "not set up" in page.get_data(as_text=True)
    with app.app_context():
        assert blocklist.number_blocked(db.session(), VICTIM_E164) is None


def test_opt_out_api_checks_its_input(client: FlaskClient) -> None:
    assert client.post("/v1/optout", json={"phone": "nope"}).status_code == 400
    assert client.post("/v1/optout", json={"phone": 5}).status_code == 400
    assert client.post("/v1/optout", data="phone=1").status_code == 415
    assert client.post("/v1/optout/confirm", json={"request": 5, "code": []}).status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"request": "\ud800", "code": "\ud800"},
        {"request": "a" * 5000, "code": "1"},
        {"request": "0" * 32, "code": "\ud83d"},
        {"request": None, "code": None},
    ],
)
def test_a_confirmation_of_junk_is_a_wrong_code_never_a_500(
    client: FlaskClient, body: dict
) -> None:
    response = client.post(
        "/v1/optout/confirm", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 422 and set(response.get_json()["fields"]) == {"code"}


def test_a_surrogate_in_the_code_counts_as_a_wrong_try(
    app: Flask, client: FlaskClient, texts: twilio_messages.Fake
) -> None:
    asked = ask(client)
    run_jobs(app)
    body = json.dumps({"request": asked["request"], "code": "\ud800"})
    response = client.post("/v1/optout/confirm", data=body, content_type="application/json")
    assert response.status_code == 422
    assert confirm(client, asked["request"], texts.last_code()) == 200


def test_the_pages_walk_a_person_through_both_steps(
    app: Flask, client: FlaskClient, texts: twilio_messages.Fake
) -> None:
    page = client.get("/optout")
    assert page.status_code == 200 and 'name="phone"' in page.get_data(as_text=True)
    asked = client.post("/optout", data={"phone": VICTIM}, headers={"Origin": SERVER})
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and 'autocomplete="one-time-code"' in html
    match = re.search(r'name="request" value="([0-9a-f]{32})"', html)
    assert match is not None
    run_jobs(app)
    wrong = client.post(
        "/optout/confirm", data={"request": match[1], "code": "000000"}, headers={"Origin": SERVER}
    )
    assert wrong.status_code == 422 and 'aria-invalid="true"' in wrong.get_data(as_text=True)
    done = client.post(
        "/optout/confirm",
        data={"request": match[1], "code": texts.last_code()},
        headers={"Origin": SERVER},
    )
    assert done.status_code == 200 and "will not be called" in done.get_data(as_text=True)


def test_opt_out_forms_refuse_cross_site_posts(client: FlaskClient) -> None:
    evil = {"Origin": "https://evil.example"}
    assert client.post("/optout", data={"phone": VICTIM}, headers=evil).status_code == 403
    confirmed = client.post("/optout/confirm", data={"request": "x", "code": "1"}, headers=evil)
    assert confirmed.status_code == 403


def test_an_opted_out_numbers_status_reads_like_any_other(
    app: Flask, client: FlaskClient, texts: twilio_messages.Fake
) -> None:
    # Whoever asked for a call to a number that opted out sees what they would see for a
    # real callback: the same keys, the masked number, the widget's CORS answer.
    widget_id = add_widget(app)
    opt_out(app, client, texts, VICTIM)
    silenced = submit_json(client, widget_id, phone=VICTIM).get_json()
    real = submit_json(client, widget_id, phone="+1 202 555 0199").get_json()
    assert set(silenced) == set(real) and len(silenced["id"]) == len(real["id"]) == 32

    headers = {"Origin": ORIGIN}
    silenced_status = client.get(silenced["status_url"], headers=headers)
    real_status = client.get(real["status_url"], headers=headers)
    assert silenced_status.status_code == real_status.status_code == 200
    assert set(silenced_status.get_json()) == set(real_status.get_json())
    assert silenced_status.get_json()["number"] == "+1 20 ••• ••23"
    assert silenced_status.get_json()["status"] == real_status.get_json()["status"] == "queued"
    for header in ("Access-Control-Allow-Origin", "Cache-Control"):
        assert silenced_status.headers.get(header) == real_status.headers.get(header)
    run_jobs(app)
    dialled = [cb.visitor_number for cb in callbacks(app) if cb.status != "rejected"]
    assert dialled == ["+12025550199"]
