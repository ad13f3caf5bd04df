"""FreeSWITCH whisper and accept key: the agent leg runs the whisper context's playback
and read, which alone bridges the visitor; what it says comes as channel variables."""

from __future__ import annotations

from urllib.parse import unquote

from tests.fakes.freeswitch import Fake
from tests.providers.common import LOCAL, call_builder
from widget_server.core.statuses import Status
from widget_server.providers.freeswitch import FreeSwitchProvider

WHISPER = "Callback request from Acme: press 1 to connect."
make_call = call_builder(
    callback_id="0f1e2d3c4b5a69788796a5b4c3d2e1f0", agent="1001", visitor_e164="+27821234567"
)


def originated(fake: Fake) -> dict:
    [record] = [r for r in fake.received if "originate" in r]
    return record["originate"]


def test_a_whispered_call_runs_the_whisper_context(fake: Fake) -> None:
    settings = {**fake.provider_settings(), "whisper_context": "widget-whisper"}
    call = make_call(whisper=WHISPER, callee_id_number="+27110000001")
    result = FreeSwitchProvider(settings, egress=LOCAL).originate(call)
    # Picked up, perhaps by a voicemail: the dialplan reports the key, not this answer.
    assert result.status == Status.AGENT_RINGING
    parsed = originated(fake)
    assert (parsed["exten"], parsed["dialplan"], parsed["context"]) == (
        "+27821234567",
        "XML",
        "widget-whisper",
    )
    assert "app" not in parsed  # no bridge before the key: the dialplan decides
    variables = parsed["agent_vars"]
    assert unquote(variables["widget_whisper"]) == WHISPER
    assert variables["widget_accept_key"] == "1"
    assert variables["widget_visitor"] == "+27821234567"
    assert variables["widget_gateway"] == settings["gateway"]
    assert variables["widget_callee_id_number"] == "+27110000001"
    assert fake.errors == []


def test_without_a_whisper_context_the_visitor_is_bridged_at_once(fake: Fake) -> None:
    FreeSwitchProvider(fake.provider_settings(), egress=LOCAL).originate(make_call(whisper=WHISPER))
    parsed = originated(fake)
    assert parsed["app"] == "bridge"
    assert "widget_whisper" not in parsed["agent_vars"]
