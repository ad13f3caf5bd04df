"""Provider events over HTTP: signed URLs, Twilio signatures, forward-only, per attempt."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from tests.fakes.twilio import Fake as TwilioFake
from tests.helpers import add_widget, callbacks, run_jobs, submit_json
from tests.lifecycle import (
    EVENT_BASE,
    dialled_callback,
    post_twilio,
    post_webhook_event,
    state,
    twilio_params,
    twilio_signature,
    twilio_widget,
    url_for_event,
    webhook_widget,
)
from widget_server.calls.provider_events import event_url


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(EVENT_BASE_URL=EVENT_BASE)


def dialled_twilio_call(app: Flask) -> tuple[str, str]:
    """A Twilio widget's callback on its first attempt and the signed URL its events go to."""
    callback_id = dialled_callback(app, twilio_widget(app))
    return callback_id, url_for_event(app, callback_id, 1, "twilio")


def test_event_urls_need_a_base_url(make_app: Callable[..., Flask]) -> None:
    app = make_app(PUBLIC_ORIGIN=None)  # outside production only: a local server
    with app.test_request_context():
        assert event_url("c" * 32, 1, "twilio") is None
    configured = make_app(PUBLIC_ORIGIN="https://cb.example.com")
    with configured.test_request_context():
        url = event_url("c" * 32, 1, "twilio")
    assert url is not None and url.startswith("https://cb.example.com/v1/events/twilio/")
    # Unguessable: the callback id does not appear in clear and each attempt differs.
    with configured.test_request_context():
        assert event_url("c" * 32, 2, "twilio") != url


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (twilio_params("ringing"), "agent_ringing"),
        (twilio_params("in-progress"), "agent_answered"),
        (twilio_params("ringing", visitor_leg=True), "visitor_ringing"),
        (twilio_params("in-progress", visitor_leg=True), "connected"),
        (twilio_params("completed", CallDuration="42"), "completed"),
        (twilio_params("no-answer", visitor_leg=True), "no_answer"),
        (twilio_params("busy", visitor_leg=True), "busy"),
        (twilio_params("failed", visitor_leg=True), "failed"),
        (twilio_params("canceled"), "canceled"),
    ],
)
def test_each_twilio_status_moves_the_callback(
    app: Flask, params: dict[str, str], expected: str
) -> None:
    callback_id, url = dialled_twilio_call(app)
    response = post_twilio(app.test_client(), url, params)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["applied"] is True
    status, _attempts, events = state(app, callback_id)
    assert status == expected
    assert events[-1] == (expected, True)


def test_a_whole_call_walks_forward_and_duplicates_or_late_events_move_nothing(
    app: Flask,
) -> None:
    callback_id, url = dialled_twilio_call(app)
    client = app.test_client()
    steps = [
        twilio_params("ringing"),
        twilio_params("in-progress"),
        twilio_params("in-progress"),  # a duplicate
        twilio_params("ringing", visitor_leg=True),
        twilio_params("ringing"),  # out of order: the agent leg rang long ago
        twilio_params("in-progress", visitor_leg=True),
        twilio_params("completed", visitor_leg=True),
        twilio_params("in-progress", visitor_leg=True),  # late, after the end
        twilio_params("failed"),  # after the end: never out of a terminal status
    ]
    applied = [post_twilio(client, url, params).get_json()["applied"] for params in steps]
    assert applied == [True, True, False, True, False, True, True, False, False]
    status, _attempts, events = state(app, callback_id)
    assert status == "completed"
    assert [e for e in events if e[1]] == [
        ("agent_ringing", True),
        ("agent_answered", True),
        ("visitor_ringing", True),
        ("connected", True),
        ("completed", True),
    ]
    assert len(events) == len(steps)  # every report is stored


def test_twilio_signature_must_verify(app: Flask) -> None:
    callback_id, url = dialled_twilio_call(app)
    client = app.test_client()
    params = twilio_params("ringing")
    bad = [
        "",  # missing
        twilio_signature(url, params, token="0" * 32),  # another account's token
        twilio_signature(url + "?x=1", params),  # another URL
        twilio_signature(url, {**params, "CallStatus": "completed"}),  # another body
    ]
    for signature in bad:
        response = post_twilio(client, url, params, signature=signature)
        assert response.status_code == 403
        assert response.get_json()["error"] == "forbidden"
    assert state(app, callback_id) == ("dialing", 1, [])
    assert post_twilio(client, url, params).status_code == 200
    assert state(app, callback_id)[0] == "agent_ringing"


def test_forged_tampered_and_wrong_provider_urls_answer_403_and_change_nothing(
    app: Flask,
) -> None:
    callback_id, url = dialled_twilio_call(app)
    ref = url.rsplit("/", 1)[1]
    payload, signature = ref.rsplit(".", 1)
    other_widget = webhook_widget(app)
    other = dialled_callback(app, other_widget)
    client = app.test_client()
    forged = [
        f"{EVENT_BASE}/v1/events/twilio/{payload}",  # unsigned
        f"{EVENT_BASE}/v1/events/twilio/{payload}.{'A' * len(signature)}",  # tampered
        f"{EVENT_BASE}/v1/events/twilio/not-a-ref",
        f"{EVENT_BASE}/v1/events/webhook/{ref}",  # made for twilio, posted as webhook
        # A ref made for another provider than the callback's widget uses.
        url_for_event(app, other, 1, "twilio"),
    ]
    for target in forged:
        response = post_twilio(client, target, twilio_params("ringing"))
        assert response.status_code == 403, target
        assert "Traceback" not in response.get_data(as_text=True)
    assert state(app, callback_id) == ("dialing", 1, [])
    assert state(app, other) == ("dialing", 1, [])


def test_events_are_post_only(app: Flask) -> None:
    callback_id, url = dialled_twilio_call(app)
    response = app.test_client().get(url)
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"AccountSid": "AC" + "0" * 32}, "CallSid"),
        ({"CallSid": "CA" + "a" * 32}, "CallStatus"),
        ({"CallSid": "not-a-sid", "CallStatus": "ringing"}, "CallSid"),
    ],
)
def test_malformed_twilio_body_answers_400_naming_the_field(
    app: Flask, params: dict[str, str], field: str
) -> None:
    callback_id, url = dialled_twilio_call(app)
    response = post_twilio(app.test_client(), url, params)
    assert response.status_code == 400
    assert field in response.get_json()["fields"]
    assert state(app, callback_id) == ("dialing", 1, [])


def test_unknown_twilio_status_is_stored_unapplied(app: Flask) -> None:
    callback_id, url = dialled_twilio_call(app)
    response = post_twilio(app.test_client(), url, twilio_params("teleported"))
    assert response.status_code == 200
    assert response.get_json() == {"received": True, "applied": False, "known": False}
    assert state(app, callback_id) == ("dialing", 1, [("unknown", False)])


def test_webhook_events_need_the_widget_secret_and_a_status(app: Flask) -> None:
    callback_id = dialled_callback(app, webhook_widget(app))
    url = url_for_event(app, callback_id, 1, "webhook")
    client = app.test_client()
    body = {"status": "agent_ringing", "call_id": "wh-1"}
    assert post_webhook_event(client, url, body, secret="x" * 24).status_code == 403
    unsigned = client.post(url, json=body)
    assert unsigned.status_code == 403
    assert state(app, callback_id) == ("dialing", 1, [])

    missing = post_webhook_event(client, url, {"call_id": "wh-1"})
    assert missing.status_code == 400 and "status" in missing.get_json()["fields"]
    wrong_type = post_webhook_event(client, url, {"status": "connected", "cause": ["x"]})
    assert wrong_type.status_code == 400 and "cause" in wrong_type.get_json()["fields"]
    unknown = post_webhook_event(client, url, {"status": "on_the_moon"})
    assert unknown.status_code == 200 and unknown.get_json()["known"] is False

    assert post_webhook_event(client, url, body).status_code == 200
    assert state(app, callback_id)[0] == "agent_ringing"


def test_generic_providers_post_json_or_form_to_the_signed_url(app: Flask) -> None:
    callback_id = dialled_callback(app, add_widget(app))
    url = url_for_event(app, callback_id, 1, "simulator")
    client = app.test_client()
    assert client.post(url, data={"status": "agent_ringing"}).status_code == 200
    assert client.post(url, json={"status": "connected"}).status_code == 200
    not_json = client.post(url, data=b"{", content_type="application/json")
    assert not_json.status_code == 400 and "body" in not_json.get_json()["fields"]
    assert state(app, callback_id)[0] == "connected"


def test_an_event_for_an_earlier_attempt_is_stored_but_not_applied(app: Flask) -> None:
    callback_id = dialled_callback(app, twilio_widget(app), attempts=2)
    old = url_for_event(app, callback_id, 1, "twilio")
    current = url_for_event(app, callback_id, 2, "twilio")
    client = app.test_client()
    assert post_twilio(client, old, twilio_params("in-progress")).get_json()["applied"] is False
    assert post_twilio(client, current, twilio_params("ringing")).get_json()["applied"] is True
    assert state(app, callback_id) == (
        "agent_ringing",
        2,
        [("agent_answered", False), ("agent_ringing", True)],
    )


def test_a_twilio_call_is_placed_with_its_signed_event_url_and_followed_by_it(
    app: Flask,
) -> None:
    with TwilioFake() as fake:
        widget_id = add_widget(
            app,
            provider="twilio",
            extension="+12015550100",
            provider_settings=fake.provider_settings(),
            # A plain call; a whispered one's callbacks are in tests/test_routing_twilio.py.
            whisper=False,
        )
        client = app.test_client()
        assert submit_json(client, widget_id).status_code == 202
        run_jobs(app)
        [originate] = [entry for entry in fake.received if entry["originate"]]
    [callback] = callbacks(app)
    assert callback.status == "dialing" and callback.provider_call_id
    url = url_for_event(app, callback.id, 1, "twilio")
    assert originate["body"]["StatusCallback"] == [url]
    assert originate["body"]["StatusCallbackMethod"] == ["POST"]
    params = {**twilio_params("ringing"), "CallSid": callback.provider_call_id}
    assert post_twilio(client, url, params).get_json()["applied"] is True
    assert state(app, callback.id)[0] == "agent_ringing"
