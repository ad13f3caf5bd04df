"""Kazoo clicktocall: exact requests, clicktocall sync, call status from the history and
CDRs, settings, numbers, errors, injection."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.fakes.kazoo import ACCOUNT_ID, CLICKTOCALL_ID, TOKEN, Fake
from tests.providers.common import call_builder, closed_port_url, live_env
from widget_server.providers.base import (
    CallState,
    Capability,
    PermanentProviderError,
    ProviderConfigError,
    ProviderError,
    RetryableProviderError,
)
from widget_server.providers.kazoo import MAX_HISTORY_PAGES, KazooProvider, clicktocall_data

AGENT = "1001"
VISITOR = "+972533333333"
PREFIX = f"/v2/accounts/{ACCOUNT_ID}/clicktocall"
CONNECT = f"{PREFIX}/{CLICKTOCALL_ID}/connect"
HISTORY = f"{PREFIX}/{CLICKTOCALL_ID}/history"
CDRS = f"/v2/accounts/{ACCOUNT_ID}/cdrs"
INJECTIONS = ["a&b=c", "a,b", "a;b", "a\r\nX-Injected: 1", "${sip_h_X}", 'a"<sip:x@y>']
BASE = {
    "base_url": "https://kazoo.example.com:8000",
    "account_id": ACCOUNT_ID,
    "auth_token": "t",
    "clicktocall_id": CLICKTOCALL_ID,
}

make_call = call_builder(callback_id="cb123", agent=AGENT, visitor_e164=VISITOR)


def make_provider(fake: Fake, session: requests.Session, **overrides: Any) -> KazooProvider:
    settings = {**fake.provider_settings(), **overrides}
    return KazooProvider({k: v for k, v in settings.items() if v is not None}, session=session)


def test_connect_sends_the_documented_request(fake: Fake, session: requests.Session) -> None:
    result = make_provider(fake, session).originate(make_call())

    [sent] = fake.received
    assert (sent["method"], sent["path"], sent["query"]) == ("POST", CONNECT, {})
    assert sent["headers"]["X-Auth-Token"] == TOKEN
    assert sent["headers"]["Content-Type"] == "application/json"
    assert sent["body"] == {"data": {"contact": VISITOR}}
    [activation] = fake.history[CLICKTOCALL_ID]
    assert result.provider_call_id == activation["call_id"]
    assert result.status == "dialing"
    assert result.details["clicktocall_id"] == CLICKTOCALL_ID
    assert isinstance(result.details["request_id"], str)


def test_api_version_v1_is_used_in_paths(fake: Fake, session: requests.Session) -> None:
    make_provider(fake, session, api_version="v1").originate(make_call())
    assert fake.received[0]["path"] == CONNECT.replace("/v2/", "/v1/")


def test_without_clicktocall_id_one_is_created_once(fake: Fake, session: requests.Session):
    provider = make_provider(
        fake,
        session,
        clicktocall_id=None,
        clicktocall={"name": "Support line", "whitelist": [r"^\+972"], "throttle": 2},
    )
    call = make_call(
        caller_id_number="+97236178888",
        callee_id_name="Acme Support",
        callee_id_number="+97236178888",
    )
    first = provider.originate(call)
    second = provider.originate(call)

    create, connect, connect_again = fake.received
    assert (create["method"], create["path"]) == ("PUT", PREFIX)
    assert create["headers"]["X-Auth-Token"] == TOKEN
    assert create["body"] == {
        "data": {
            "name": "Support line",
            "extension": AGENT,
            "auth_required": True,
            "whitelist": [r"^\+972"],
            "throttle": 2,
            "caller_id_number": "+97236178888",
            "outbound_callee_id_name": "Acme Support",
            "outbound_callee_id_number": "+97236178888",
        }
    }
    created_id = provider.clicktocall_id
    assert created_id in fake.clicktocalls and created_id != CLICKTOCALL_ID
    assert connect["path"] == connect_again["path"] == f"{PREFIX}/{created_id}/connect"
    assert first.details["clicktocall_id"] == second.details["clicktocall_id"] == created_id


def test_sync_clicktocall_creates_then_updates(fake: Fake, session: requests.Session) -> None:
    provider = make_provider(fake, session, clicktocall_id=None, clicktocall={})
    created = provider.sync_clicktocall(
        {
            "name": "Sales",
            "extension": "sip:1001@pbx.example.com",
            "realm": "pbx.example.com",
            "auth_required": False,
        }
    )
    updated = provider.sync_clicktocall({"name": "Sales EU", "extension": "+27821234567"})

    create, update = fake.received
    assert (create["method"], create["path"]) == ("PUT", PREFIX)
    assert create["body"]["data"]["auth_required"] is False
    assert (update["method"], update["path"]) == ("POST", f"{PREFIX}/{created}")
    assert update["body"] == {
        "data": {
            "name": "Sales EU",
            "extension": "+27821234567",
            "auth_required": True,
            "whitelist": [],
            "throttle": 0,
        }
    }
    assert updated == created
    assert fake.clicktocalls[created]["name"] == "Sales EU"


def test_sync_clicktocall_refuses_bad_properties_unsent(fake: Fake, session: requests.Session):
    with pytest.raises(ProviderConfigError) as info:
        make_provider(fake, session).sync_clicktocall({"name": "Sales"})
    assert set(info.value.fields) == {"extension"}
    assert fake.received == []


def test_history_lists_activations(fake: Fake, session: requests.Session) -> None:
    provider = make_provider(fake, session)
    result = provider.originate(make_call())
    history = provider.history(CLICKTOCALL_ID)
    assert fake.received[-1]["method"] == "GET"
    assert fake.received[-1]["path"] == f"{PREFIX}/{CLICKTOCALL_ID}/history"
    assert [item["call_id"] for item in history] == [result.provider_call_id]
    assert history[0]["contact"] == VISITOR


@pytest.mark.parametrize("c2c_id", ["../other", "a/b", "a?b=1", "", "a b"])
def test_history_refuses_ids_that_leave_the_path(
    fake: Fake, session: requests.Session, c2c_id: str
) -> None:
    with pytest.raises(ProviderConfigError):
        make_provider(fake, session).history(c2c_id)
    assert fake.received == []


def placed_call(
    fake: Fake, session: requests.Session, **overrides: Any
) -> tuple[KazooProvider, str]:
    """Originate one call through the fake; return the provider and the call's id."""
    provider = make_provider(fake, session, **overrides)
    call_id = provider.originate(make_call()).provider_call_id
    assert call_id is not None
    fake.received.clear()
    return provider, call_id


def test_call_status_reads_the_history_then_the_cdr(fake: Fake, session: requests.Session):
    provider, call_id = placed_call(fake, session)
    cdr_id = fake.end_call(call_id, "NORMAL_CLEARING", billing_seconds=42)

    assert provider.reports_call_status()
    state = provider.call_status(call_id, "cb123-1")

    assert state.placed and state.event is not None
    assert (state.event.status, state.event.cause) == ("completed", None)
    assert state.event.provider_call_id == call_id
    assert state.event.details == {
        "hangup_cause": "NORMAL_CLEARING",
        "billing_seconds": 42,
        "cdr_id": cdr_id,
    }
    history, cdr = fake.received
    assert (history["method"], history["path"]) == ("GET", HISTORY)
    assert (cdr["method"], cdr["path"]) == ("GET", f"{CDRS}/{cdr_id}")
    for sent in (history, cdr):
        assert sent["headers"]["X-Auth-Token"] == TOKEN
        assert sent["raw_body"] == b"" and sent["query"] == {}


def test_call_status_uses_the_configured_api_version(fake: Fake, session: requests.Session):
    provider, call_id = placed_call(fake, session, api_version="v1")
    cdr_id = fake.end_call(call_id, "NORMAL_CLEARING", billing_seconds=3)
    provider.call_status(call_id, "cb123-1")
    assert [sent["path"] for sent in fake.received] == [
        HISTORY.replace("/v2/", "/v1/"),
        f"{CDRS}/{cdr_id}".replace("/v2/", "/v1/"),
    ]


@pytest.mark.parametrize(
    ("hangup_cause", "hangup_code", "billing", "status", "cause"),
    [
        ("NORMAL_CLEARING", "sip:200", 1, "completed", None),
        ("USER_BUSY", None, 7, "completed", None),  # billed: answered, whatever came after
        ("NO_ANSWER", None, 0, "no_answer", "no_answer"),
        ("NO_USER_RESPONSE", None, 0, "no_answer", "no_answer"),
        ("ORIGINATOR_CANCEL", None, 0, "no_answer", "no_answer"),
        ("ALLOTTED_TIMEOUT", None, 0, "no_answer", "no_answer"),
        ("USER_BUSY", "sip:486", 0, "busy", "busy"),
        ("CALL_REJECTED", "sip:486", 0, "busy", "busy"),
        ("NORMAL_CLEARING", "sip:600", 0, "busy", "busy"),
        ("CALL_REJECTED", "sip:603", 0, "failed", "call_rejected"),
        ("UNALLOCATED_NUMBER", "sip:404", 0, "failed", "unallocated_number"),
        ("NORMAL_CLEARING", None, 0, "failed", "normal_clearing"),
        ("bye; <script>", None, 0, "failed", "call_failed"),
    ],
)
def test_call_status_maps_the_cdr(
    fake: Fake,
    session: requests.Session,
    hangup_cause: str,
    hangup_code: str | None,
    billing: int,
    status: str,
    cause: str | None,
) -> None:
    provider, call_id = placed_call(fake, session)
    cdr_id = fake.end_call(call_id, hangup_cause, billing_seconds=billing, hangup_code=hangup_code)
    state = provider.call_status(call_id, "cb123-1")
    assert state.placed and state.event is not None
    assert (state.event.status, state.event.cause) == (status, cause)
    readable = hangup_cause if hangup_cause.isidentifier() else None
    assert state.event.details == {
        "hangup_cause": readable,
        "billing_seconds": billing,
        "cdr_id": cdr_id,
    }


def test_a_call_without_a_cdr_is_still_in_progress(fake: Fake, session: requests.Session):
    provider, call_id = placed_call(fake, session)
    assert provider.call_status(call_id, "cb123-1") == CallState(placed=True, event=None)
    assert [sent["path"] for sent in fake.received] == [HISTORY]


def test_the_history_is_read_page_by_page_until_the_call_turns_up(
    fake: Fake, session: requests.Session
) -> None:
    provider = make_provider(fake, session)
    call_ids = [provider.originate(make_call()).provider_call_id for _ in range(5)]
    fake.history_page_size = 2
    fake.received.clear()

    assert provider.call_status(call_ids[2], "cb123-1") == CallState(placed=True, event=None)
    # Pages 1 and 2 hold the third call; the fifth is never fetched.
    assert [sent["query"] for sent in fake.received] == [{}, {"start_key": ["2"]}]
    assert [item["call_id"] for item in provider.history(CLICKTOCALL_ID)] == call_ids


def test_a_call_on_no_page_is_unknown_after_the_last_page(
    fake: Fake, session: requests.Session
) -> None:
    provider, _call_id = placed_call(fake, session)
    for _ in range(2):
        provider.originate(make_call())
    fake.history_page_size = 1
    fake.received.clear()
    with pytest.raises(PermanentProviderError) as info:
        provider.call_status("c2c-not-ours", "cb123-1")
    assert info.value.cause == "unknown_call"
    assert len(fake.received) == 3  # one request per page, then no next_start_key


@pytest.mark.parametrize("next_key", [42, "x" * 1025])
def test_an_unusable_next_start_key_is_a_provider_error(
    fake: Fake, session: requests.Session, monkeypatch: pytest.MonkeyPatch, next_key: object
) -> None:
    provider, _call_id = placed_call(fake, session)
    monkeypatch.setattr(
        fake, "_history_page", lambda entries, start: fake._ok(entries, next_start_key=next_key)
    )
    with pytest.raises(ProviderError) as info:
        provider.call_status("c2c-not-ours", "cb123-1")
    assert info.value.cause == "malformed_answer"
    assert len(fake.received) == 1


def test_a_history_that_never_ends_is_read_for_a_bounded_number_of_pages(
    fake: Fake, session: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, _call_id = placed_call(fake, session)
    pages = iter(range(1000))
    monkeypatch.setattr(
        fake,
        "_history_page",
        lambda entries, start: fake._ok([], next_start_key=f"k{next(pages)}"),
    )
    with pytest.raises(PermanentProviderError) as info:
        provider.call_status("c2c-not-ours", "cb123-1")
    assert info.value.cause == "unknown_call"
    assert len(fake.received) == MAX_HISTORY_PAGES


def test_a_call_the_history_does_not_hold_is_unknown(fake: Fake, session: requests.Session):
    provider, _call_id = placed_call(fake, session)
    with pytest.raises(PermanentProviderError) as info:
        provider.call_status("c2c-not-ours", "cb123-1")
    assert info.value.cause == "unknown_call"
    assert [sent["path"] for sent in fake.received] == [HISTORY]


def test_a_cdr_kazoo_does_not_have_is_an_unknown_call(fake: Fake, session: requests.Session):
    provider, call_id = placed_call(fake, session)
    cdr_id = fake.end_call(call_id, "NORMAL_CLEARING", billing_seconds=30)
    del fake.cdrs[cdr_id]
    with pytest.raises(PermanentProviderError) as info:
        provider.call_status(call_id, "cb123-1")
    assert info.value.cause == "unknown_call"


def test_an_attempt_without_a_call_id_cannot_be_looked_up(
    fake: Fake, session: requests.Session
) -> None:
    # connect takes no idempotency key: the history could never prove "not placed".
    with pytest.raises(PermanentProviderError) as info:
        make_provider(fake, session).call_status(None, "cb123-1")
    assert info.value.cause == "not_supported"
    assert fake.received == []


def test_call_status_needs_a_known_clicktocall(fake: Fake, session: requests.Session):
    assert KazooProvider.can(Capability.REPORTS_STATUS)
    provider = make_provider(fake, session, clicktocall_id=None, clicktocall={})
    assert not provider.reports_call_status()
    with pytest.raises(PermanentProviderError) as info:
        provider.call_status("c2c-abc", "cb123-1")
    assert info.value.cause == "not_supported"
    assert fake.received == []


def test_call_status_with_a_wrong_token_is_an_auth_failure(
    fake: Fake, session: requests.Session
) -> None:
    _provider, call_id = placed_call(fake, session)
    fake.end_call(call_id, "NORMAL_CLEARING", billing_seconds=30)
    with pytest.raises(PermanentProviderError) as info:
        make_provider(fake, session, auth_token="wrong").call_status(call_id, "cb123-1")
    assert info.value.cause == "auth_failed"
    assert "invalid_credentials" in str(info.value)


@pytest.mark.parametrize(
    "cdr",
    [
        b"\x00\x1f<html>502 Bad Gate",
        "a CDR",
        [{"billing_seconds": "30"}],
        {"hangup_cause": "NORMAL_CLEARING"},
        {"hangup_cause": "NORMAL_CLEARING", "billing_seconds": "thirty"},
        {"hangup_cause": "NORMAL_CLEARING", "billing_seconds": "-1"},
        {"hangup_cause": "NORMAL_CLEARING", "billing_seconds": True},
    ],
)
def test_an_unreadable_cdr_is_a_provider_error(
    fake: Fake, session: requests.Session, cdr: Any
) -> None:
    provider, call_id = placed_call(fake, session)
    fake.cdrs[fake.end_call(call_id)] = cdr
    with pytest.raises(ProviderError) as info:
        provider.call_status(call_id, "cb123-1")
    assert info.value.cause == "malformed_answer"


@pytest.mark.parametrize("cdr_id", ["../../users", "a/b", "x?y=1", ".", 7, ["x"]])
def test_an_unusable_cdr_id_is_a_provider_error_and_never_reaches_a_path(
    fake: Fake, session: requests.Session, cdr_id: Any
) -> None:
    provider, call_id = placed_call(fake, session)
    [entry] = fake.history[CLICKTOCALL_ID]
    entry["cdr_id"] = cdr_id
    with pytest.raises(PermanentProviderError) as info:
        provider.call_status(call_id, "cb123-1")
    assert info.value.cause == "malformed_answer"
    assert [sent["path"] for sent in fake.received] == [HISTORY]


def test_a_history_entry_that_is_not_an_object_is_a_provider_error(
    fake: Fake, session: requests.Session
) -> None:
    provider, call_id = placed_call(fake, session)
    fake.history[CLICKTOCALL_ID].insert(0, "not an object")
    with pytest.raises(PermanentProviderError) as info:
        provider.call_status(call_id, "cb123-1")
    assert info.value.cause == "malformed_answer"
    assert [sent["path"] for sent in fake.received] == [HISTORY]


def test_the_fake_cdr_route_follows_kazoos_document(fake: Fake, session: requests.Session):
    _provider, call_id = placed_call(fake, session)
    cdr_id = fake.end_call(call_id, "USER_BUSY", hangup_code="sip:486")
    url = f"{fake.base_url}{CDRS}/{cdr_id}"
    answer = session.get(url, headers={"X-Auth-Token": TOKEN})
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "success"
    assert body["data"]["call_id"] == call_id
    assert {body["data"][key] for key in ("billing_seconds", "hangup_code")} == {"0", "sip:486"}
    assert session.get(url, headers={"X-Auth-Token": "wrong"}).status_code == 401
    assert session.get(url).status_code == 401
    assert session.post(url, headers={"X-Auth-Token": TOKEN}, json={}).status_code == 405
    unknown = session.get(f"{fake.base_url}{CDRS}/202401-nope", headers={"X-Auth-Token": TOKEN})
    assert unknown.status_code == 404 and unknown.json()["status"] == "error"
    other = f"{fake.base_url}/v2/accounts/{'0' * 32}/cdrs/{cdr_id}"
    assert session.get(other, headers={"X-Auth-Token": TOKEN}).status_code == 403


def test_call_status_connection_refused_is_retryable(session: requests.Session) -> None:
    provider = KazooProvider({**BASE, "base_url": closed_port_url()}, session=session)
    with pytest.raises(RetryableProviderError) as info:
        provider.call_status("c2c-abc", "cb123-1")
    assert info.value.cause == "connection_error"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            {"data": {"call_id": "c2c-abc-123"}, "status": "success", "request_id": "r1"},
            "c2c-abc-123",
        ),
        ({"data": {}, "status": "success", "request_id": "r1"}, "r1"),
        ({"data": "processing request", "status": "success", "request_id": "r2"}, "r2"),
    ],
)
def test_provider_call_id_falls_back_to_request_id(
    fake: Fake, session: requests.Session, answer: dict[str, Any], expected: str
):
    fake.answer_next(202, answer)
    assert make_provider(fake, session).originate(make_call()).provider_call_id == expected


@pytest.mark.parametrize(
    ("settings", "fields"),
    [
        ({}, {"base_url", "account_id", "auth_token", "clicktocall_id"}),
        ({**BASE, "base_url": None}, {"base_url"}),
        ({**BASE, "base_url": "kazoo.example.com:8000"}, {"base_url"}),
        ({**BASE, "api_version": "v3"}, {"api_version"}),
        ({**BASE, "account_id": "3A2B1C0D9E8F7A6B5C4D3E2F1A0B9C8D"}, {"account_id"}),
        ({**BASE, "account_id": "../../accounts/other"}, {"account_id"}),
        ({**BASE, "auth_token": "t\r\nX-Injected: 1"}, {"auth_token"}),
        ({**BASE, "auth_token": "t t"}, {"auth_token"}),
        ({**BASE, "clicktocall_id": "abc/connect?x="}, {"clicktocall_id"}),
        ({**BASE, "clicktocall_id": 42}, {"clicktocall_id"}),
        ({**BASE, "clicktocall_id": None}, {"clicktocall_id"}),
        ({**BASE, "clicktocall": "Sales"}, {"clicktocall"}),
        ({**BASE, "clicktocall": {"name": ""}}, {"clicktocall.name"}),
        ({**BASE, "clicktocall": {"name": "x" * 129}}, {"clicktocall.name"}),
        ({**BASE, "clicktocall": {"extension": "1001;x"}}, {"clicktocall.extension"}),
        ({**BASE, "clicktocall": {"extension": "sip:1001@pbx,x"}}, {"clicktocall.extension"}),
        ({**BASE, "clicktocall": {"realm": "pbx example"}}, {"clicktocall.realm"}),
        ({**BASE, "clicktocall": {"auth_required": "yes"}}, {"clicktocall.auth_required"}),
        ({**BASE, "clicktocall": {"whitelist": ".*"}}, {"clicktocall.whitelist"}),
        ({**BASE, "clicktocall": {"whitelist": [".*"]}}, {"clicktocall.whitelist"}),
        ({**BASE, "clicktocall": {"whitelist": ["("]}}, {"clicktocall.whitelist"}),
        ({**BASE, "clicktocall": {"throttle": -1}}, {"clicktocall.throttle"}),
        ({**BASE, "clicktocall": {"throttle": True}}, {"clicktocall.throttle"}),
        ({**BASE, "clicktocall": {"throttle": "2"}}, {"clicktocall.throttle"}),
        ({**BASE, "clicktocall": {"caller_id_number": "+1 555"}}, {"clicktocall.caller_id_number"}),
        (
            {**BASE, "clicktocall": {"outbound_callee_id_number": "call me"}},
            {"clicktocall.outbound_callee_id_number"},
        ),
        (
            {**BASE, "clicktocall": {"outbound_callee_id_name": "x" * 41}},
            {"clicktocall.outbound_callee_id_name"},
        ),
        ({**BASE, "clicktocall": {"dial_first": "contact"}}, {"clicktocall.dial_first"}),
        ({**BASE, "read_timeout": 0}, {"read_timeout"}),
        ({**BASE, "realm": "pbx.example.com"}, {"realm"}),
    ],
)
def test_validate_settings_refuses(settings: dict[str, Any], fields: set[str]) -> None:
    with pytest.raises(ProviderConfigError) as info:
        KazooProvider.validate_settings({k: v for k, v in settings.items() if v is not None})
    assert set(info.value.fields) == fields


def test_validate_settings_fills_defaults() -> None:
    settings = KazooProvider.validate_settings({**BASE, "clicktocall": {"realm": "10.0.0.5"}})
    assert settings["api_version"] == "v2"
    assert settings["clicktocall"] == {
        "name": "widget-server",
        "realm": "10.0.0.5",
        "auth_required": True,
        "whitelist": [],
        "throttle": 0,
    }


@pytest.mark.parametrize(
    "agent",
    ["1001", "+27821234567", "sip:1001@pbx.example.com", "sip:alice@10.0.0.5:5060", "user_1.desk"],
)
def test_validate_agent_accepts_extensions(agent: str) -> None:
    assert KazooProvider.validate_agent(agent) == agent


@pytest.mark.parametrize("agent", INJECTIONS + ["", "sip:1001@pbx;transport=tcp", "10 01"])
def test_bad_agent_is_refused_before_creating(
    fake: Fake, session: requests.Session, agent: str
) -> None:
    provider = make_provider(fake, session, clicktocall_id=None, clicktocall={})
    with pytest.raises(ProviderConfigError) as info:
        provider.originate(make_call(agent=agent))
    assert set(info.value.fields) == {"agent"}
    assert fake.received == []


@pytest.mark.parametrize(
    "visitor",
    [
        "+972533333333",
        "+12025550123",
        "+447911123456",
        "+27821234567",
        "+390612345678",
        "+8613800138000",
    ],
)
def test_visitor_is_sent_as_e164_contact(
    fake: Fake, session: requests.Session, visitor: str
) -> None:
    make_provider(fake, session).originate(make_call(visitor_e164=visitor))
    assert fake.received[0]["body"] == {"data": {"contact": visitor}}


@pytest.mark.parametrize("visitor", ["972533333333", "+972 53 333 3333", "+972533333333;x"])
def test_visitor_not_in_e164_is_refused_unsent(
    fake: Fake, session: requests.Session, visitor: str
) -> None:
    with pytest.raises(PermanentProviderError) as info:
        make_provider(fake, session).originate(make_call(visitor_e164=visitor))
    assert info.value.cause == "number_format"
    assert fake.received == []


def test_whitelist_refusal_is_permanent(fake: Fake, session: requests.Session) -> None:
    fake.clicktocalls[CLICKTOCALL_ID]["whitelist"] = [r"^\+27"]
    with pytest.raises(PermanentProviderError) as info:
        make_provider(fake, session).originate(make_call())
    assert info.value.cause == "http_400"
    assert "whitelist" in str(info.value)


@pytest.mark.parametrize(
    ("status", "error", "cause"),
    [
        (400, PermanentProviderError, "http_400"),
        (401, PermanentProviderError, "auth_failed"),
        (403, PermanentProviderError, "auth_failed"),
        (404, PermanentProviderError, "http_404"),
        (415, PermanentProviderError, "http_415"),
        (500, RetryableProviderError, "http_500"),
        (503, RetryableProviderError, "http_503"),
        (504, RetryableProviderError, "http_504"),
    ],
)
def test_http_errors_are_mapped(
    fake: Fake, session: requests.Session, status: int, error: type[ProviderError], cause: str
) -> None:
    fake.answer_next(
        status,
        {
            "data": {},
            "error": str(status),
            "message": "refused",
            "status": "error",
            "request_id": "r1",
        },
    )
    with pytest.raises(error) as info:
        make_provider(fake, session).originate(make_call())
    assert info.value.cause == cause
    assert "(refused)" in str(info.value)


def test_wrong_token_and_unknown_clicktocall(fake: Fake, session: requests.Session) -> None:
    with pytest.raises(PermanentProviderError) as info:
        make_provider(fake, session, auth_token="wrong").originate(make_call())
    assert info.value.cause == "auth_failed"
    with pytest.raises(PermanentProviderError) as info:
        make_provider(fake, session, clicktocall_id="0" * 32).originate(make_call())
    assert info.value.cause == "http_404"


def test_connection_refused_is_retryable(session: requests.Session) -> None:
    provider = KazooProvider({**BASE, "base_url": closed_port_url()}, session=session)
    with pytest.raises(RetryableProviderError) as info:
        provider.originate(make_call())
    assert info.value.cause == "connection_error"


def test_timeout_is_retryable(fake: Fake, session: requests.Session) -> None:
    fake.mode = "hang"
    with pytest.raises(RetryableProviderError) as info:
        make_provider(fake, session).originate(make_call())
    assert info.value.cause == "timeout"


@pytest.mark.parametrize("text", INJECTIONS)
@pytest.mark.parametrize(
    ("field", "valid"),
    [
        ("name", "Sales"),
        ("outbound_callee_id_name", "Acme"),
        ("outbound_callee_id_number", "+27821234567"),
        ("caller_id_number", "+27821234567"),
        ("extension", "1001"),
        ("realm", "pbx.example.com"),
    ],
)
def test_injected_properties_are_refused(field: str, valid: str, text: str) -> None:
    properties = {"name": "Sales", "extension": "1001", field: valid}
    assert clicktocall_data(properties)[field] == valid
    with pytest.raises(ProviderConfigError) as info:
        clicktocall_data({**properties, field: f"{valid}{text}"})
    assert set(info.value.fields) == {field}


@pytest.mark.parametrize("text", INJECTIONS)
def test_injected_call_fields_never_reach_kazoo(
    fake: Fake, session: requests.Session, text: str
) -> None:
    provider = make_provider(fake, session, clicktocall_id=None, clicktocall={})
    with pytest.raises(ProviderConfigError):
        provider.originate(make_call(callee_id_name=f"Acme{text}"))
    assert fake.received == []


@pytest.mark.parametrize("text", INJECTIONS)
def test_extra_metadata_is_not_sent(fake: Fake, session: requests.Session, text: str) -> None:
    call = make_call(extra={"note": text, text: "x"}, page_url=f"https://x.test/{text}")
    make_provider(fake, session).originate(call)
    [sent] = fake.received
    assert sent["raw_body"] == b'{"data": {"contact": "+972533333333"}}'
    assert "X-Injected" not in sent["headers"]


def test_unicode_names_are_json_encoded() -> None:
    data = clicktocall_data(
        {"name": "Ventes Québec", "extension": "1001", "outbound_callee_id_name": "O'Brien Müller"}
    )
    assert data["name"] == "Ventes Québec"
    assert data["outbound_callee_id_name"] == "O'Brien Müller"


LIVE_ENV = {
    "base_url": "WIDGET_SERVER_LIVE_KAZOO_BASE_URL",
    "account_id": "WIDGET_SERVER_LIVE_KAZOO_ACCOUNT_ID",
    "auth_token": "WIDGET_SERVER_LIVE_KAZOO_AUTH_TOKEN",
    "clicktocall_id": "WIDGET_SERVER_LIVE_KAZOO_CLICKTOCALL_ID",
    "visitor": "WIDGET_SERVER_LIVE_KAZOO_VISITOR",
}


@pytest.mark.live
def test_live_clicktocall() -> None:
    env = live_env(LIVE_ENV, "live Kazoo test")
    visitor = env.pop("visitor")
    with requests.Session() as live_session:
        provider = KazooProvider(env, session=live_session)
        result = provider.originate(make_call(visitor_e164=visitor))
        history = provider.history(env["clicktocall_id"])
    assert result.provider_call_id
    assert isinstance(history, list)
