"""Asterisk whisper, accept key and AMD(): the Originate goes into the whisper context,
which alone dials the visitor, with what it says handed over as channel variables."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from tests.fakes.asterisk import Fake, asterisk_variables
from tests.providers.common import LOCAL, call_builder
from widget_server.core.statuses import Status
from widget_server.providers.asterisk import AsteriskProvider
from widget_server.providers.base import ProviderConfigError

CALLBACK_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
WHISPER = "Callback request from Acme, Sales: press 1 to connect."
NOTICE = "The visitor's voicemail answered; we will try again."

make_call = call_builder(callback_id=CALLBACK_ID, agent="1001", visitor_e164="+27821234567")


def originate_action(fake: Fake) -> dict:
    [action] = fake.actions("Originate")
    return action


def test_a_whispered_call_is_originated_into_the_whisper_context(fake: Fake) -> None:
    settings = {**fake.provider_settings(), "whisper_context": "widget-whisper"}
    call = make_call(
        whisper=WHISPER, machine_detection=True, machine_notice=NOTICE, speech_language="he"
    )
    result = AsteriskProvider(settings, egress=LOCAL).originate(call)
    # Picked up, perhaps by a voicemail: the dialplan reports the key, not this answer.
    assert result.status == Status.AGENT_RINGING
    action = originate_action(fake)
    assert (action["Context"], action["Exten"], action["Priority"]) == (
        "widget-whisper",
        "+27821234567",
        "1",
    )
    assert "Application" not in action
    variables = asterisk_variables(action)
    assert unquote(variables["WIDGET_WHISPER"]) == WHISPER
    assert "%20" in variables["WIDGET_WHISPER"]  # free text only ever encoded
    assert variables["WIDGET_ACCEPT_KEY"] == "1"
    assert variables["WIDGET_LANGUAGE"] == "he"
    assert variables["WIDGET_AMD"] == "1"
    assert unquote(variables["WIDGET_MACHINE_NOTICE"]) == NOTICE
    assert fake.errors == []


def test_without_a_whisper_context_the_call_goes_to_the_usual_context(fake: Fake) -> None:
    AsteriskProvider(fake.provider_settings(), egress=LOCAL).originate(make_call(whisper=WHISPER))
    action = originate_action(fake)
    assert action["Context"] == "from-internal"
    assert "WIDGET_WHISPER" not in asterisk_variables(action)


def test_an_unwhispered_call_ignores_the_whisper_context(fake: Fake) -> None:
    settings = {**fake.provider_settings(), "whisper_context": "widget-whisper"}
    result = AsteriskProvider(settings, egress=LOCAL).originate(make_call())
    assert originate_action(fake)["Context"] == "from-internal"
    assert result.status == Status.AGENT_ANSWERED


def test_machine_detection_without_a_whisper_runs_in_the_whisper_context(fake: Fake) -> None:
    settings = {**fake.provider_settings(), "whisper_context": "widget-whisper"}
    call = make_call(machine_detection=True, machine_notice=NOTICE)
    result = AsteriskProvider(settings, egress=LOCAL).originate(call)
    action = originate_action(fake)
    # AMD() lives in that context; with no whisper the agent goes straight on to the visitor.
    assert action["Context"] == "widget-whisper"
    variables = asterisk_variables(action)
    assert variables["WIDGET_AMD"] == "1"
    assert unquote(variables["WIDGET_MACHINE_NOTICE"]) == NOTICE
    assert "WIDGET_WHISPER" not in variables
    assert result.status == Status.AGENT_ANSWERED  # no key to wait for: the agent answered
    assert fake.errors == []


@pytest.mark.parametrize("context", ["widget whisper", "a,b", "x" * 80, ""])
def test_a_bad_whisper_context_is_refused(context: str) -> None:
    settings = {"host": "pbx.example.com", "username": "u", "secret": "s"}
    with pytest.raises(ProviderConfigError) as refused:
        AsteriskProvider.validate_settings({**settings, "whisper_context": context})
    assert "whisper_context" in refused.value.fields
