"""Routing end to end on the simulator: agents tried by strategy, whisper and accept key,
a visitor's voicemail, and what the admin API refuses."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from flask import Flask

from tests.helpers import (
    ORIGIN,
    SERVER,
    VALID_US,
    add_account,
    add_widget,
    admin_auth,
    callbacks,
    run_jobs,
    submit_json,
)
from tests.lifecycle import EVENT_BASE
from widget_server import providers
from widget_server.calls import routing
from widget_server.core import db
from widget_server.core.clock import Clock
from widget_server.core.models import CallEvent, Widget
from widget_server.owners.capability_checks import capability_errors
from widget_server.providers import CallRequest, Capability, OriginateResult, Provider
from widget_server.providers.simulator import SimulatorProvider

AGENTS = [
    {"extension": "1001", "label": "Ann"},
    {"extension": "1002", "label": "Ben"},
    {"extension": "+27821234567", "label": "Cleo"},
]


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(EVENT_BASE_URL=EVENT_BASE)


def simulated(agents: dict[str, str] | None = None, visitor: str = "person") -> dict[str, Any]:
    return {"step_delay": 0, "talk_time": 0, "agents": agents or {}, "visitor": visitor}


def timeline(app: Flask, callback_id: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    with app.app_context():
        rows = db.session().query(CallEvent).filter_by(callback_id=callback_id, applied=True)
        return [(r.status, r.cause, dict(r.details)) for r in rows.order_by(CallEvent.id)]


def dialled_agents(app: Flask, callback_id: str) -> list[str]:
    return [d["agent"] for status, _, d in timeline(app, callback_id) if status == "dialing"]


def test_ordered_agents_the_first_does_not_answer_and_the_second_connects(
    app: Flask, originates: list[CallRequest]
) -> None:
    widget_id = add_widget(app, agents=AGENTS, provider_settings=simulated({"1001": "no_answer"}))
    submit_json(app.test_client(), widget_id)
    run_jobs(app)
    [callback] = callbacks(app)
    assert (callback.status, callback.attempts, callback.rounds) == ("completed", 2, 1)
    assert [call.ringing for call in originates] == [("1001",), ("1002",)]
    # Each leg is its own attempt: its own idempotency key and signed event URL.
    assert [call.idempotency_key for call in originates] == [
        f"{callback.id}-1",
        f"{callback.id}-2",
    ]
    assert originates[0].event_url != originates[1].event_url
    events = timeline(app, callback.id)
    assert dialled_agents(app, callback.id) == ["1001", "1002"]
    dialing = [d for s, _, d in events if s == "dialing"]
    assert [(d["leg"], d["round"], d["agent_label"]) for d in dialing] == [
        (1, 1, "Ann"),
        (2, 1, "Ben"),
    ]
    assert ("retry_wait", "agent_no_answer") in [(s, c) for s, c, _ in events]
    # The visitor was rung once: on the leg the second agent took.
    assert [s for s, _, _ in events].count("visitor_ringing") == 1


def test_each_agent_leg_fails_over_on_its_own_and_the_round_goes_on(
    app: Flask, originates: list[CallRequest]
) -> None:
    """A primary that times out hands every leg to the secondary, which rings the agents in
    turn: the first does not answer, the second connects; one originate per provider and leg."""
    widget_id = add_widget(
        app,
        agents=AGENTS[:2],
        provider_settings={"step_delay": 0, "talk_time": 0, "fail_with": "timeout"},
        secondary_provider="simulator",
        secondary_provider_settings=simulated({"1001": "no_answer"}),
    )
    submit_json(app.test_client(), widget_id)
    run_jobs(app)
    [callback] = callbacks(app)
    assert (callback.status, callback.attempts, callback.rounds) == ("completed", 2, 1)
    # Primary then secondary, for each leg: the same attempt's key, never a second call.
    assert [(call.ringing, call.attempt) for call in originates] == [
        (("1001",), 1),
        (("1001",), 1),
        (("1002",), 2),
        (("1002",), 2),
    ]
    with app.app_context():
        switches = (
            db.session()
            .query(CallEvent)
            .filter_by(callback_id=callback.id, cause="provider_failover")
            .order_by(CallEvent.id)
        )
        assert [(row.details["attempt"], row.details["to"]) for row in switches] == [
            (1, "simulator"),
            (2, "simulator"),
        ]
    assert dialled_agents(app, callback.id) == ["1001", "1002"]
    assert [s for s, _, _ in timeline(app, callback.id)].count("visitor_ringing") == 1


def test_every_agent_unanswered_ends_the_round_then_the_retry_policy_decides(
    app: Flask, originates: list[CallRequest]
) -> None:
    everyone_away = {a["extension"]: "no_answer" for a in AGENTS}
    widget_id = add_widget(
        app,
        agents=AGENTS,
        max_retries=1,
        retry_delay=30,
        provider_settings=simulated(everyone_away),
    )
    submit_json(app.test_client(), widget_id)
    run_jobs(app)
    [callback] = callbacks(app)
    assert (callback.status, callback.cause, callback.rounds) == ("no_answer", "agent_no_answer", 2)
    # Two rounds of three agents; the pause between rounds is the widget's retry delay.
    assert len(originates) == 6
    waits = [d["retry_in"] for s, _, d in timeline(app, callback.id) if s == "retry_wait"]
    assert waits == [0, 0, 30, 0, 0]


def test_a_number_agent_is_masked_in_the_timeline(
    app: Flask, originates: list[CallRequest]
) -> None:
    widget_id = add_widget(
        app,
        agents=AGENTS,
        provider_settings=simulated({"1001": "no_answer", "1002": "busy"}),
    )
    submit_json(app.test_client(), widget_id)
    run_jobs(app)
    [callback] = callbacks(app)
    assert callback.status == "completed"
    assert originates[-1].agent == "+27821234567"  # the provider gets the real number
    shown = dialled_agents(app, callback.id)
    assert shown == ["1001", "1002", "+27 82 ••• ••67"]


def test_round_robin_rotates_the_first_agent_across_callbacks(
    app: Flask, originates: list[CallRequest]
) -> None:
    widget_id = add_widget(
        app, agents=AGENTS, strategy="round_robin", throttle=0, provider_settings=simulated()
    )
    client = app.test_client()
    for number in ("+12025550101", "+12025550102", "+12025550103", "+12025550104"):
        assert submit_json(client, widget_id, phone=number).status_code == 202
        run_jobs(app)
    assert [call.agent for call in originates] == ["1001", "1002", "+27821234567", "1001"]
    with app.app_context():
        assert routing.rotation(db.session(), widget_id) == 4


def test_round_robin_skips_to_the_next_agent_in_the_rotated_order(
    app: Flask, originates: list[CallRequest]
) -> None:
    widget_id = add_widget(
        app,
        agents=AGENTS,
        strategy="round_robin",
        provider_settings=simulated({"1002": "no_answer"}),
    )
    client = app.test_client()
    submit_json(client, widget_id, phone="+12025550101")
    run_jobs(app)
    submit_json(client, widget_id, phone="+12025550102")
    run_jobs(app)
    # The second callback starts at Ben, who does not answer, and moves on to Cleo.
    assert [call.agent for call in originates] == ["1001", "1002", "+27821234567"]


def test_an_agents_voicemail_is_refused_by_the_accept_key(
    app: Flask, originates: list[CallRequest]
) -> None:
    widget_id = add_widget(
        app, agents=AGENTS[:2], provider_settings=simulated({"1001": "voicemail"})
    )
    submit_json(app.test_client(), widget_id)
    run_jobs(app)
    [callback] = callbacks(app)
    assert callback.status == "completed"
    assert originates[0].whisper == "Callback request from Sales: press 1 to connect."
    events = timeline(app, callback.id)
    first_leg = events[: [s for s, _, _ in events].index("retry_wait") + 1]
    # Ann's voicemail picked up but pressed no key: the visitor was never rung for it.
    assert "visitor_ringing" not in [s for s, _, _ in first_leg]
    assert first_leg[-1][:2] == ("retry_wait", "agent_no_key")
    assert dialled_agents(app, callback.id) == ["1001", "1002"]


def test_without_whisper_a_voicemail_takes_the_call(
    app: Flask, originates: list[CallRequest]
) -> None:
    widget_id = add_widget(
        app, agents=AGENTS[:2], whisper=False, provider_settings=simulated({"1001": "voicemail"})
    )
    submit_json(app.test_client(), widget_id)
    run_jobs(app)
    assert originates[0].whisper is None
    assert len(originates) == 1  # what the accept key exists to prevent


def test_a_visitors_voicemail_ends_the_attempt_and_is_retried(
    app: Flask, originates: list[CallRequest]
) -> None:
    widget_id = add_widget(
        app, max_retries=1, retry_delay=60, provider_settings=simulated(visitor="machine")
    )
    client = app.test_client()
    status_url = submit_json(client, widget_id).get_json()["status_url"]
    run_jobs(app)
    [callback] = callbacks(app)
    assert (callback.status, callback.cause, callback.attempts) == (
        "visitor_voicemail",
        "visitor_voicemail",
        2,
    )
    assert all(call.machine_detection for call in originates)
    assert originates[0].machine_notice == "The visitor's voicemail answered; we will try again."
    waits = [(c, d["retry_in"]) for s, c, d in timeline(app, callback.id) if s == "retry_wait"]
    assert waits == [("visitor_voicemail", 60)]
    shown = client.get(status_url).get_json()
    assert shown["status"] == "visitor_voicemail"
    assert shown["text"].startswith("Your voicemail answered, so we hung up.")
    assert shown["reason"] == "Your voicemail answered."


def test_simultaneous_rings_every_agent_in_one_leg(
    app: Flask, originates: list[CallRequest]
) -> None:
    widget_id = add_widget(
        app,
        agents=AGENTS,
        strategy="simultaneous",
        provider_settings=simulated({"1001": "no_answer"}),
    )
    submit_json(app.test_client(), widget_id)
    run_jobs(app)
    [callback] = callbacks(app)
    assert callback.status == "completed"
    assert [call.ringing for call in originates] == [("1001", "1002", "+27821234567")]
    assert dialled_agents(app, callback.id) == ["1001, 1002, +27 82 ••• ••67"]


def test_an_agent_outside_their_own_hours_is_not_rung(
    app: Flask, originates: list[CallRequest]
) -> None:
    never = {"windows": {}}
    agents = [{"extension": "1001", "business_hours": never}, {"extension": "1002"}]
    widget_id = add_widget(app, agents=agents, provider_settings=simulated())
    submit_json(app.test_client(), widget_id)
    run_jobs(app)
    assert [call.agent for call in originates] == ["1002"]


def test_nobody_on_duty_ends_unanswered_without_a_call(
    app: Flask, originates: list[CallRequest]
) -> None:
    agents = [{"extension": "1001", "business_hours": {"windows": {}}}]
    widget_id = add_widget(app, agents=agents, provider_settings=simulated())
    client = app.test_client()
    status_url = submit_json(client, widget_id).get_json()["status_url"]
    run_jobs(app)
    [callback] = callbacks(app)
    assert (callback.status, callback.cause) == ("no_answer", "agents_away")
    assert originates == []
    status = client.get(status_url)
    assert status.get_json()["reason"] == "Nobody from our team is available right now."


# The admin API -----------------------------------------------------------------------


def clicktocall_url(account: str) -> str:
    return f"/v1/accounts/{account}/clicktocall"


def test_simultaneous_on_a_provider_without_it_is_refused_naming_the_field(app: Flask) -> None:
    account, key = add_account(app)
    client = app.test_client()
    body = {
        "name": "Sales",
        "agents": AGENTS[:2],
        "strategy": "simultaneous",
        "provider": "webhook",
        "provider_settings": {"url": "https://pbx.example.com/originate", "secret": "s" * 32},
    }
    response = client.put(clicktocall_url(account), json={"data": body}, headers=admin_auth(key))
    assert response.status_code == 422, response.get_json()
    fields = response.get_json()["data"]
    assert list(fields) == ["strategy"]
    assert "cannot ring several agents at once" in fields["strategy"]["unsupported"]["message"]


PBX_SETTINGS = {
    "asterisk": {
        "host": "127.0.0.1",
        "username": "widget",
        "secret": "s" * 16,
        "agent_channel": "PJSIP/{agent}",
    },
    "freeswitch": {
        "host": "127.0.0.1",
        "password": "s" * 16,
        "gateway": "trunk",
        "agent_endpoint": "user/{agent}",
    },
}


@pytest.mark.parametrize(
    ("provider", "asked"),
    [("asterisk", "whisper"), ("freeswitch", "whisper"), ("asterisk", "machine_detection")],
)
def test_a_pbx_asked_for_a_whisper_without_its_context_is_refused_naming_both(
    app: Flask, provider: str, asked: str
) -> None:
    account, key = add_account(app)
    client = app.test_client()
    body = {
        "name": "Sales",
        "extension": "1001",
        asked: True,
        "provider": provider,
        "provider_settings": PBX_SETTINGS[provider],
    }
    response = client.put(clicktocall_url(account), json={"data": body}, headers=admin_auth(key))
    assert response.status_code == 422, response.get_json()
    fields = response.get_json()["data"]
    assert list(fields) == [asked]
    message = fields[asked]["unsupported"]["message"]
    assert "provider_settings.whisper_context" in message and provider in message
    # With the dialplan context named, the same widget is saved.
    settings = {**PBX_SETTINGS[provider], "whisper_context": "widget-whisper"}
    body["provider_settings"] = settings
    saved = client.put(clicktocall_url(account), json={"data": body}, headers=admin_auth(key))
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["data"][asked] is True


def test_a_secondary_pbx_without_its_whisper_context_is_named_too() -> None:
    properties = {
        "whisper": True,
        "provider": "simulator",
        "provider_settings": {},
        "secondary_provider": "freeswitch",
        "secondary_provider_settings": PBX_SETTINGS["freeswitch"],
    }
    [(field, message)] = capability_errors(properties).items()
    assert field == "whisper"
    assert "secondary_provider_settings.whisper_context" in message
    with_context = {**PBX_SETTINGS["freeswitch"], "whisper_context": "widget-whisper"}
    assert capability_errors({**properties, "secondary_provider_settings": with_context}) == {}


def test_a_pbx_whispers_by_default_only_where_its_context_is_set(app: Flask) -> None:
    """Left at null ("where the provider can"), whisper needs no context: none, no whisper."""
    account, key = add_account(app)
    client = app.test_client()
    body = {
        "name": "Sales",
        "extension": "1001",
        "provider": "asterisk",
        "provider_settings": PBX_SETTINGS["asterisk"],
    }
    response = client.put(clicktocall_url(account), json={"data": body}, headers=admin_auth(key))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["data"]["whisper"] is None


def test_the_admin_api_keeps_extension_and_agents_in_step(app: Flask) -> None:
    account, key = add_account(app)
    client = app.test_client()
    created = client.put(
        clicktocall_url(account),
        json={"data": {"name": "Sales", "extension": "1001"}},
        headers=admin_auth(key),
    ).get_json()["data"]
    assert created["agents"] == [{"extension": "1001"}]
    assert (created["strategy"], created["whisper"], created["machine_detection"]) == (
        "ordered",
        None,
        None,
    )
    url = f"{clicktocall_url(account)}/{created['id']}"
    listed = client.patch(
        url, json={"data": {"agents": AGENTS[1:]}}, headers=admin_auth(key)
    ).get_json()["data"]
    assert listed["extension"] == "1002"
    # A Kazoo client that knows only extension changes the first agent, keeps the rest.
    changed = client.patch(
        url, json={"data": {"extension": "2001"}}, headers=admin_auth(key)
    ).get_json()["data"]
    assert [a["extension"] for a in changed["agents"]] == ["2001", "+27821234567"]
    assert changed["agents"][0]["label"] == "Ben"


@pytest.mark.parametrize(
    ("agents", "field", "reason"),
    [
        ([{"extension": "nope"}], "agents", "0.extension: must be an extension"),
        ([{"extension": "1001", "colour": "red"}], "agents", "0.colour: unknown key"),
        (
            [{"extension": "1001", "business_hours": {"windows": {"mon": [["9", "17"]]}}}],
            "agents.0.business_hours.windows.mon",
            "",
        ),
    ],
)
def test_bad_agents_are_refused_naming_the_agent(
    app: Flask, agents: list[dict[str, Any]], field: str, reason: str
) -> None:
    account, key = add_account(app)
    response = app.test_client().put(
        clicktocall_url(account),
        json={"data": {"name": "Sales", "agents": agents}},
        headers=admin_auth(key),
    )
    assert response.status_code == 400
    fields = response.get_json()["data"]
    assert field in fields, fields
    assert reason in next(iter(fields[field].values()))["message"]


# Departments -------------------------------------------------------------------------

SATURDAY_NOON = datetime(2026, 3, 28, 11, 0, tzinfo=UTC)
MONDAY_NINE = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 in Berlin
WEEKDAYS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
DEPARTMENTS = [
    {"key": "sales", "names": {"en": "Sales", "he": "מכירות"}, "agents": [{"extension": "2001"}]},
    {
        "key": "support",
        "names": {"en": "Support", "he": "תמיכה"},
        "agents": [{"extension": "3001"}, {"extension": "3002"}],
        "business_hours": {"windows": WEEKDAYS, "slot_minutes": 30, "lead_minutes": 0},
    },
]


def department_widget(app: Flask, **properties: Any) -> str:
    return add_widget(
        app,
        departments=DEPARTMENTS,
        time_zone="Europe/Berlin",
        provider_settings=simulated(),
        **properties,
    )


def clock(app: Flask) -> Clock:
    return app.extensions["clock"]  # type: ignore[no-any-return]


def test_the_department_picked_rings_its_own_agents_and_is_whispered(
    app: Flask, originates: list[CallRequest]
) -> None:
    widget_id = department_widget(app)
    clock(app).set(MONDAY_NINE)
    assert submit_json(app.test_client(), widget_id, department="sales").status_code == 202
    run_jobs(app)
    [callback] = callbacks(app)
    assert (callback.status, callback.department) == ("completed", "sales")
    [call] = originates
    assert call.agent == "2001"
    assert call.whisper == "Callback request from Sales, Sales: press 1 to connect."


def test_an_unknown_department_is_refused_naming_the_field(
    app: Flask, originates: list[CallRequest]
) -> None:
    widget_id = department_widget(app)
    response = submit_json(app.test_client(), widget_id, department="billing")
    assert response.status_code == 422
    assert list(response.get_json()["fields"]) == ["department"]
    assert originates == [] and callbacks(app) == []


def test_outside_a_departments_hours_the_visitor_books_a_slot_for_it(
    app: Flask, originates: list[CallRequest]
) -> None:
    widget_id = department_widget(app)
    clock(app).set(SATURDAY_NOON)  # the widget is open; Support is not
    client = app.test_client()
    refused = submit_json(client, widget_id, department="support")
    assert refused.status_code == 422
    assert list(refused.get_json()["fields"]) == ["scheduled_for"]
    slots = client.get(
        f"/v1/widgets/{widget_id}/slots?department=support", headers={"Origin": ORIGIN}
    ).get_json()
    assert slots["hours"]["open"] is False
    assert slots["slots"][0]["start"] == "2026-03-30T07:00:00Z"
    booked = submit_json(
        client, widget_id, department="support", scheduled_for=slots["slots"][0]["start"]
    )
    assert booked.status_code == 202 and booked.get_json()["status"] == "scheduled"
    # Sales keeps the widget's own hours: called at once.
    assert (
        submit_json(client, widget_id, phone="+12025550199", department="sales").status_code == 202
    )
    clock(app).set(MONDAY_NINE)
    app.extensions["jobs"].run_pending(now=MONDAY_NINE.timestamp() + 60)
    assert sorted(call.agent for call in originates) == ["2001", "3001"]
    assert {c.department: c.status for c in callbacks(app)} == {
        "support": "completed",
        "sales": "completed",
    }


def test_the_form_offers_the_departments_by_name_in_the_visitors_language(app: Flask) -> None:
    widget_id = department_widget(app)
    clock(app).set(SATURDAY_NOON)
    client = app.test_client()
    page = client.get(f"/w/{widget_id}?locale=he").get_data(as_text=True)
    assert '<option selected value="sales">מכירות</option>' in page
    assert '<option value="support">תמיכה</option>' in page
    # Sales (picked first) is open: the slots are there for Support, hidden and disabled.
    assert "data-slots" in page and "hidden>" in page
    bad = client.post(
        f"/w/{widget_id}",
        data={"phone": VALID_US, "department": "nope"},
        headers={"Origin": SERVER},
    )
    assert bad.status_code == 400
    assert 'data-error-for="department">Not a valid choice.</p>' in bad.get_data(as_text=True)


def test_the_public_config_lists_departments_with_their_hours(app: Flask) -> None:
    widget_id = department_widget(app)
    clock(app).set(SATURDAY_NOON)
    config = (
        app.test_client()
        .get(f"/v1/widgets/{widget_id}/config", headers={"Origin": ORIGIN})
        .get_json()
    )
    shown = [(d["key"], d["name"], d["hours"]["open"]) for d in config["widget"]["departments"]]
    assert shown == [("sales", "Sales", True), ("support", "Support", False)]


def test_a_widget_without_departments_has_no_department_field(app: Flask) -> None:
    widget_id = add_widget(app)
    page = app.test_client().get(f"/w/{widget_id}").get_data(as_text=True)
    assert 'name="department"' not in page


def test_the_admin_history_shows_each_agent_attempt(
    app: Flask, originates: list[CallRequest]
) -> None:
    account, key = add_account(app)
    with app.app_context():
        widget = db.session().get(
            Widget,
            add_widget(app, agents=AGENTS, provider_settings=simulated({"1001": "no_answer"})),
        )
        assert widget is not None
        widget.account_id = account
        db.session().commit()
        widget_id = widget.id
    submit_json(app.test_client(), widget_id)
    run_jobs(app)
    history = (
        app.test_client()
        .get(f"/v1/accounts/{account}/clicktocall/{widget_id}/history", headers=admin_auth(key))
        .get_json()["data"]
    )
    [item] = history
    assert item["department"] is None
    assert item["agent_attempts"] == [
        {
            "attempt": 1,
            "agent": "1001",
            "agent_label": "Ann",
            "leg": 1,
            "round": 1,
            "outcome": "no_answer",
            "cause": "agent_no_answer",
        },
        {
            "attempt": 2,
            "agent": "1002",
            "agent_label": "Ben",
            "leg": 2,
            "round": 1,
            "outcome": "completed",
            "cause": None,
        },
    ]


class AnswersAtOnce(Provider):
    """A PBX-like provider whose originate waits for the agent leg and says how it went."""

    name = "answers_at_once"
    # It reports how the call goes on, as a PBX does (one that did not would hand it off).
    capabilities = frozenset({Capability.REPORTS_STATUS})
    calls: ClassVar[list[str]] = []

    def originate(self, call: CallRequest) -> OriginateResult:
        AnswersAtOnce.calls.append(call.agent)
        if call.agent == "1001":
            return OriginateResult("pbx-1", status="no_answer", cause="agent_no_answer")
        return OriginateResult("pbx-2", status="agent_answered")


def test_an_originate_that_says_the_agent_did_not_answer_moves_to_the_next_agent(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(providers.REGISTRY, AnswersAtOnce.name, AnswersAtOnce)
    AnswersAtOnce.calls = []
    widget_id = add_widget(
        app, agents=AGENTS[:2], provider=AnswersAtOnce.name, provider_settings={}
    )
    submit_json(app.test_client(), widget_id)
    run_jobs(app)
    assert AnswersAtOnce.calls == ["1001", "1002"]
    [callback] = callbacks(app)
    assert (callback.status, callback.attempts) == ("agent_answered", 2)


def test_the_owners_whisper_text_is_spoken_in_the_widgets_language(
    app: Flask, originates: list[CallRequest]
) -> None:
    texts = {"he": {"whisper": "שיחה מהאתר: הקישו 1"}, "whisper": "Website call: press 1"}
    widget_id = add_widget(app, locale="he", texts=texts, provider_settings=simulated())
    submit_json(app.test_client(), widget_id)
    run_jobs(app)
    [call] = originates
    assert (call.whisper, call.speech_language) == ("שיחה מהאתר: הקישו 1", "he")


@pytest.mark.parametrize(
    ("settings", "end"),
    [
        (simulated({"1001": "voicemail"}), ("no_answer", "agent_no_key")),
        (simulated({"1001": "busy"}), ("busy", "agent_busy")),
        (simulated({"1001": "no_answer"}), ("no_answer", "agent_no_answer")),
        (simulated(visitor="machine"), ("visitor_voicemail", "visitor_voicemail")),
        (simulated(), ("completed", None)),
    ],
)
def test_the_simulator_tells_a_routed_legs_end_when_asked_later(
    settings: dict[str, Any], end: tuple[str, str | None]
) -> None:
    simulator = SimulatorProvider(settings)
    call = CallRequest(
        callback_id="c" * 32,
        attempt=1,
        agent="1001",
        visitor_e164="+12015550123",
        timeout=20,
        whisper="Callback request",
        machine_detection=True,
    )
    placed = simulator.originate(call)
    assert placed.planned_events[-1].event.status == end[0]
    state = simulator.call_status(placed.provider_call_id, call.idempotency_key)
    assert state.event is not None
    assert (state.event.status, state.event.cause) == end


def test_round_robin_turns_are_never_shared_by_concurrent_workers(app: Flask) -> None:
    widget_id = add_widget(app, agents=AGENTS, strategy="round_robin")
    sessions = app.extensions["db_sessions"]
    taken: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            with sessions() as session:
                turn = routing.take_turn(session, widget_id, "")
                session.commit()
            with lock:
                taken.append(turn)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Every callback took its own turn: the rotation stays fair across workers.
    assert sorted(taken) == list(range(40))
