"""Whisper, accept key and answering-machine detection through Twilio's documented TwiML,
against the strict local Twilio fake: the visitor is dialled only after the agent's key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from xml.etree import ElementTree

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.fakes.twilio import ACCOUNT_SID, Fake, parse_twiml
from tests.helpers import VALID_US, add_widget, callbacks, run_jobs, submit_json
from tests.lifecycle import EVENT_BASE, post_twilio

AGENTS = [{"extension": "+12015550100"}, {"extension": "+12015550111"}]


@pytest.fixture(scope="module")
def fake() -> Iterator[Fake]:
    with Fake() as running:
        yield running


@pytest.fixture
def app(make_app: Callable[..., Flask], fake: Fake) -> Flask:
    fake.reset()
    return make_app(EVENT_BASE_URL=EVENT_BASE)


def twilio_widget(app: Flask, fake: Fake, **properties: Any) -> str:
    return add_widget(
        app, provider="twilio", provider_settings=fake.provider_settings(), **properties
    )


def originated(fake: Fake) -> list[dict[str, list[str]]]:
    return [call["params"] for call in fake.calls.values()]


def gather_action(twiml: str) -> str:
    gather = parse_twiml(twiml).find("Gather")
    assert gather is not None
    return str(gather.get("action"))


def action_params(call_sid: str, **extra: str) -> dict[str, str]:
    return {"AccountSid": ACCOUNT_SID, "CallSid": call_sid, "CallStatus": "in-progress", **extra}


def press(
    client: FlaskClient, action: str, call_sid: str, digits: str | None
) -> ElementTree.Element:
    """Post Twilio's <Gather> action as Twilio signs it; return the TwiML answered."""
    extra = {"Digits": digits} if digits is not None else {}
    response = post_twilio(client, action, action_params(call_sid, **extra))
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    return ElementTree.fromstring(response.get_data(as_text=True))


def test_the_agent_hears_the_whisper_and_only_key_1_dials_the_visitor(
    app: Flask, fake: Fake
) -> None:
    widget_id = twilio_widget(app, fake, agents=AGENTS[:1], machine_detection=False)
    client = app.test_client()
    assert submit_json(client, widget_id).status_code == 202
    run_jobs(app)
    [params] = originated(fake)
    twiml = params["Twiml"][0]
    # The agent leg says who calls and gathers one digit; no visitor number is in it.
    say = parse_twiml(twiml).find("Gather/Say")
    assert say is not None and say.text == "Callback request from Sales: press 1 to connect."
    assert say.get("language") == "en-US"
    assert VALID_US.replace(" ", "") not in twiml
    [sid] = fake.calls
    # Picked up (perhaps by a voicemail): not yet an agent who took the call.
    post_twilio(client, params["StatusCallback"][0], action_params(sid))
    assert callbacks(app)[0].status == "dialing"
    dial = press(client, gather_action(twiml), sid, "1")
    number = dial.find("Dial/Number")
    assert number is not None and number.text == VALID_US.replace(" ", "")
    assert callbacks(app)[0].status == "agent_answered"


def test_no_key_hangs_up_and_the_next_agent_is_rung(app: Flask, fake: Fake) -> None:
    widget_id = twilio_widget(app, fake, agents=AGENTS, machine_detection=False)
    client = app.test_client()
    submit_json(client, widget_id)
    run_jobs(app)
    [(sid, first)] = fake.calls.items()
    # The agent's voicemail answered and pressed nothing: Twilio asks the action empty.
    answer = press(client, gather_action(first["params"]["Twiml"][0]), sid, None)
    assert [element.tag for element in answer] == ["Hangup"]
    [callback] = callbacks(app)
    assert (callback.status, callback.cause) == ("retry_wait", "agent_no_key")
    run_jobs(app)
    assert [p["To"][0] for p in originated(fake)] == ["+12015550100", "+12015550111"]
    # A late key on the first agent's call rings nobody: that attempt is over.
    late = press(client, gather_action(first["params"]["Twiml"][0]), sid, "1")
    assert [element.tag for element in late] == ["Hangup"]


def test_a_wrong_key_is_no_key(app: Flask, fake: Fake) -> None:
    widget_id = twilio_widget(app, fake, agents=AGENTS[:1], machine_detection=False)
    client = app.test_client()
    submit_json(client, widget_id)
    run_jobs(app)
    [(sid, call)] = fake.calls.items()
    answer = press(client, gather_action(call["params"]["Twiml"][0]), sid, "9")
    assert [element.tag for element in answer] == ["Hangup"]
    assert (callbacks(app)[0].status, callbacks(app)[0].cause) == ("no_answer", "agent_no_key")


def test_a_visitors_machine_is_hung_up_the_agent_told_and_the_callback_retried(
    app: Flask, fake: Fake
) -> None:
    widget_id = twilio_widget(app, fake, agents=AGENTS[:1], max_retries=1)
    client = app.test_client()
    submit_json(client, widget_id)
    run_jobs(app)
    [(sid, call)] = fake.calls.items()
    dial = press(client, gather_action(call["params"]["Twiml"][0]), sid, "1")
    number, dial_verb = dial.find("Dial/Number"), dial.find("Dial")
    assert number is not None and dial_verb is not None
    # <Number machineDetection> asks its url with AnsweredBy before bridging the visitor.
    assert number.get("machineDetection") == "Enable"
    visitor_url, dial_action = str(number.get("url")), str(dial_verb.get("action"))
    visitor_sid = "CA" + "b" * 32
    machine = post_twilio(
        client,
        visitor_url,
        action_params(visitor_sid, ParentCallSid=sid, AnsweredBy="machine_end_beep"),
    )
    assert [e.tag for e in ElementTree.fromstring(machine.get_data(as_text=True))] == ["Hangup"]
    # The visitor leg ended unbridged; the <Dial>'s action tells the agent why.
    ended = post_twilio(client, dial_action, action_params(sid, DialCallStatus="completed"))
    told = ElementTree.fromstring(ended.get_data(as_text=True))
    assert [e.tag for e in told] == ["Say", "Hangup"]
    assert told[0].text == "The visitor's voicemail answered; we will try again."
    [callback] = callbacks(app)
    assert (callback.status, callback.cause) == ("retry_wait", "visitor_voicemail")
    run_jobs(app)
    assert len(fake.calls) == 2


def test_a_person_answering_is_bridged(app: Flask, fake: Fake) -> None:
    widget_id = twilio_widget(app, fake, agents=AGENTS[:1])
    client = app.test_client()
    submit_json(client, widget_id)
    run_jobs(app)
    [(sid, call)] = fake.calls.items()
    dial = press(client, gather_action(call["params"]["Twiml"][0]), sid, "1")
    number = dial.find("Dial/Number")
    assert number is not None
    human = post_twilio(
        client,
        str(number.get("url")),
        action_params("CA" + "c" * 32, ParentCallSid=sid, AnsweredBy="human"),
    )
    assert human.get_data(as_text=True) == "<Response />"
    assert callbacks(app)[0].status == "agent_answered"


def test_an_action_must_carry_twilios_signature(app: Flask, fake: Fake) -> None:
    widget_id = twilio_widget(app, fake, agents=AGENTS[:1])
    client = app.test_client()
    submit_json(client, widget_id)
    run_jobs(app)
    [(sid, call)] = fake.calls.items()
    forged = post_twilio(
        client,
        gather_action(call["params"]["Twiml"][0]),
        action_params(sid, Digits="1"),
        signature="bm90IGEgc2lnbmF0dXJl",
    )
    assert forged.status_code == 403
    assert callbacks(app)[0].status == "dialing"


def test_whisper_off_dials_the_visitor_straight_away(app: Flask, fake: Fake) -> None:
    widget_id = twilio_widget(app, fake, agents=AGENTS[:1], whisper=False)
    submit_json(app.test_client(), widget_id)
    run_jobs(app)
    [params] = originated(fake)
    assert parse_twiml(params["Twiml"][0]).find("Dial/Number") is not None
