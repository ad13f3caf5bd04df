"""The contract every registered provider passes against its faithful fake, end to end too.

Each fake in tests/fakes/ follows its provider's documented API and can be switched into
modes: "ok", "bad_auth", "error_then_ok" (one transient failure), "hang" (no answer within
the read timeout) and "malformed" (a success status with an unreadable answer). Every case
here runs for every registered provider, from the tables below; what only one provider
does is tested in its own file.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from types import ModuleType
from typing import Any

import pytest
from flask import Flask

from tests.helpers import add_widget, callbacks, run_jobs, submit_json
from tests.providers.common import LOCAL
from widget_server import providers
from widget_server.providers import (
    CallRequest,
    EventRefused,
    EventRequest,
    EventUnreadable,
    PermanentProviderError,
    ProviderError,
    RetryableProviderError,
)

NAMES = sorted(set(providers.REGISTRY) - {"simulator"})
AGENT = "+14155550111"  # a number every provider can ring as its agent leg
CALL = CallRequest(
    callback_id="0123456789abcdef0123456789abcdef",
    attempt=1,
    agent=AGENT,
    visitor_e164="+12015550123",
    timeout=20,
    caller_id_number="+14155550100",
    extra={"crm_id": "42"},
    page_url="https://shop.example.com/offer",
)


def fake_module(name: str) -> ModuleType:
    return importlib.import_module(f"tests.fakes.{name}")


def test_every_registered_provider_has_a_fake() -> None:
    assert NAMES, "no providers registered"
    for name in NAMES:
        assert fake_module(name).PROVIDER == name


def test_every_adapter_is_registered_once_under_a_name_its_urls_can_carry() -> None:
    assert len(providers.REGISTRY) == len(providers.ADAPTERS)
    for name in providers.REGISTRY:
        # Stored in a 32-character column and sent in event URLs' paths.
        assert re.fullmatch(r"[a-z][a-z0-9_]{0,31}", name), name


@pytest.fixture(scope="module", params=NAMES)
def fake(request: pytest.FixtureRequest) -> Iterator[Any]:
    with fake_module(request.param).Fake() as server:
        yield server


@pytest.fixture
def provider(fake: Any) -> providers.Provider:
    fake.reset()
    fake.mode = "ok"
    return providers.build(fake_module_name(fake), fake.provider_settings(), egress=LOCAL)


def fake_module_name(fake: Any) -> str:
    return str(importlib.import_module(type(fake).__module__).PROVIDER)


def test_success_returns_a_call_id_after_one_originate(fake: Any, provider: Any) -> None:
    result = provider.originate(CALL)
    assert result.provider_call_id
    assert fake.originate_count() == 1


# What each failure mode of a fake costs an originate, for every provider: the error's exact
# class, its cause, and how many originates reach the fake (one: a failed attempt is never
# sent twice). A fake that fails in another way says so in MODE_EXCEPTIONS.
FAILURE_MODES: dict[str, tuple[type[ProviderError], str, int]] = {
    "bad_auth": (PermanentProviderError, "auth_failed", 1),
    "error_then_ok": (RetryableProviderError, "http_503", 1),
    "hang": (RetryableProviderError, "timeout", 1),
    "malformed": (PermanentProviderError, "malformed_answer", 1),
}
MODE_EXCEPTIONS: dict[tuple[str, str], tuple[type[ProviderError], str, int]] = {
    # The PBX refuses the login, so no originate is ever sent.
    ("asterisk", "bad_auth"): (PermanentProviderError, "auth_failed", 0),
    ("freeswitch", "bad_auth"): (PermanentProviderError, "auth_failed", 0),
    # The PBX drops the session before it answers.
    ("asterisk", "error_then_ok"): (RetryableProviderError, "connection_error", 1),
    ("freeswitch", "error_then_ok"): (RetryableProviderError, "connection_error", 1),
    # Voiptech's fake fails the way its PHP front end does.
    ("voiptech", "error_then_ok"): (RetryableProviderError, "http_500", 1),
}
# Every fake's read_timeout is 0.5 s: a failure must never take much longer than that.
FAILURE_SECONDS = 1.5


@pytest.mark.parametrize("mode", sorted(FAILURE_MODES))
def test_each_failure_mode_is_one_typed_error(fake: Any, provider: Any, mode: str) -> None:
    name = fake_module_name(fake)
    error, cause, originates = MODE_EXCEPTIONS.get((name, mode), FAILURE_MODES[mode])
    fake.mode = mode
    started = time.monotonic()
    with pytest.raises(ProviderError) as raised:
        provider.originate(CALL)
    assert type(raised.value) is error
    assert raised.value.cause == cause and cause.isidentifier()
    assert time.monotonic() - started < FAILURE_SECONDS
    assert fake.originate_count() == originates


def test_without_the_operators_allowance_a_loopback_endpoint_is_never_reached(fake: Any) -> None:
    # The fakes listen on loopback; under the default policy (public addresses only) every
    # adapter, HTTP or socket, refuses before connecting, permanently.
    fake.reset()
    name = fake_module_name(fake)
    settings = fake.provider_settings()
    assert providers.endpoints(name, settings), "the settings name no endpoint to check"
    with pytest.raises(PermanentProviderError) as raised:
        providers.build(name, settings).originate(CALL)
    assert raised.value.cause == "destination_refused"
    assert fake.originate_count() == 0


def test_after_a_transient_failure_the_next_attempt_works(fake: Any, provider: Any) -> None:
    fake.mode = "error_then_ok"
    with pytest.raises(RetryableProviderError):
        provider.originate(CALL)
    assert provider.originate(dataclasses.replace(CALL, attempt=2)).provider_call_id
    assert fake.originate_count() == 2


# 2xx answers that are not a call this product can follow: permanent, so nobody is rung
# twice. Rows naming no provider run for every provider whose fake takes canned answers
# (`answer_next`); the others are each provider's own answer shapes.
UNUSABLE_ANSWERS: list[tuple[str | None, int, Any, str]] = [
    (None, 200, "<html><body>Internal Server Error</body></html>", "malformed_answer"),
    ("click2dial", 200, {"success": False}, "rejected"),
    ("click2dial", 200, {"error": "agent offline"}, "rejected"),
    ("click2dial", 200, "<html>Internal Server", "malformed_answer"),
    ("click2dial", 200, "OK", "malformed_answer"),
    ("extramobile", 200, {"success": False, "message": "Caller id is not verified"}, "rejected"),
    ("extramobile", 200, {"success": True}, "malformed_answer"),
    ("extramobile", 200, {"success": True, "call_id": ""}, "malformed_answer"),
    ("extramobile", 200, {"success": True, "call_id": True}, "malformed_answer"),
    ("extramobile", 200, {"call_id": "z87LXSIIb"}, "malformed_answer"),
    ("extramobile", 200, ["z87LXSIIb"], "malformed_answer"),
    ("extramobile", 200, "<html>oops</html>", "malformed_answer"),
    ("kazoo", 200, {"data": {}, "status": "success"}, "malformed_answer"),
    ("kazoo", 200, {"data": {"call_id": 5}, "status": "success"}, "malformed_answer"),
    (
        "kazoo",
        200,
        {"data": {"call_id": "x"}, "status": "error", "request_id": "r1"},
        "malformed_answer",
    ),
    ("kazoo", 200, {"status": "success", "request_id": "r1"}, "malformed_answer"),
    ("kazoo", 200, ["call_id"], "malformed_answer"),
    ("kazoo", 200, "<html>", "malformed_answer"),
    ("telecmi", 200, {"code": 200, "msg": "Call initiated"}, "malformed_answer"),
    ("telecmi", 200, {"code": 200, "request_id": ""}, "malformed_answer"),
    ("telecmi", 200, {"code": 200, "request_id": 17}, "malformed_answer"),
    ("telecmi", 200, ["s96C6XK1BUHX0oVZ"], "malformed_answer"),
    ("telecmi", 200, "<html>oops</html>", "malformed_answer"),
    ("twilio", 201, {"status": "queued"}, "malformed_answer"),
    ("twilio", 201, {"sid": "CA123"}, "malformed_answer"),
    ("twilio", 201, {"sid": 12}, "malformed_answer"),
    ("twilio", 201, ["CA" + "0" * 32], "malformed_answer"),
    ("twilio", 201, "<html>oops", "malformed_answer"),
    ("voiptech", 200, "", "malformed_answer"),
    ("voiptech", 200, "<html><body>Welcome</body></html>", "malformed_answer"),
    ("voiptech", 200, '{"uid1": "1.1"}', "malformed_answer"),
    ("voiptech", 200, "yes", "malformed_answer"),
    ("voiptech", 200, "[]", "malformed_answer"),
]
CANNED = [name for name in NAMES if hasattr(fake_module(name).Fake, "answer_next")]
UNUSABLE_CASES = [
    pytest.param(target, status, body, cause, id=f"{target}-{index}")
    for index, (name, status, body, cause) in enumerate(UNUSABLE_ANSWERS)
    for target in (CANNED if name is None else [name])
]


@pytest.fixture(scope="module")
def canned_fakes() -> Iterator[dict[str, Any]]:
    """Each canned-answer provider's fake, started on first use and kept for the module."""

    class Started(dict[str, Any]):
        def __missing__(self, name: str) -> Any:
            self[name] = stack.enter_context(fake_module(name).Fake())
            return self[name]

    with ExitStack() as stack:
        yield Started()


@pytest.mark.parametrize(("name", "status", "body", "cause"), UNUSABLE_CASES)
def test_unusable_success_answers_are_permanent(
    canned_fakes: dict[str, Any], name: str, status: int, body: Any, cause: str
) -> None:
    fake = canned_fakes[name]
    fake.reset()
    fake.answer_next(status, body)
    with pytest.raises(PermanentProviderError) as raised:
        providers.build(name, fake.provider_settings(), egress=LOCAL).originate(CALL)
    assert raised.value.cause == cause
    assert fake.originate_count() == 1


def test_an_empty_unsigned_event_is_refused_or_unreadable_never_a_crash(provider: Any) -> None:
    empty = EventRequest(url="https://widgets.example/v1/events/provider/ref.sig")
    try:
        provider.authenticate_event(empty)  # by default the signed URL is the credential
    except EventRefused as refused:
        assert refused.reason.isidentifier()
    with pytest.raises(EventUnreadable) as unreadable:
        provider.event_payload(empty)
    assert unreadable.value.fields


def test_a_callback_goes_end_to_end_through_the_job_runner(fake: Any, app: Flask) -> None:
    fake.reset()
    fake.mode = "error_then_ok"  # the first attempt fails transiently and is retried
    widget_id = add_widget(
        app,
        provider=fake_module_name(fake),
        provider_settings=fake.provider_settings(),
        extension=AGENT,
        caller_id_number="+14155550100",
        max_retries=1,
        retry_delay=5,
        # Unwhispered, so the originate itself carries the visitor's number (a whispered
        # call dials it only after the agent's key: tests/test_routing_twilio.py).
        whisper=False,
    )
    response = submit_json(app.test_client(), widget_id, phone="(201) 555-0123")
    assert response.status_code == 202
    run_jobs(app)
    [callback] = callbacks(app)
    assert fake.originate_count() == 2
    assert callback.attempts == 2
    assert callback.status not in ("queued", "failed"), callback.cause
    assert callback.provider_call_id
    # The visitor's digits reached the provider in some documented form, never raw input.
    sent = repr(fake.received)
    assert "2015550123" in sent and "(201) 555-0123" not in sent
