"""The contract every registered provider passes against its faithful fake, end to end too.

Each fake in tests/fakes/ follows its provider's documented API and can be switched into
modes: "ok", "bad_auth", "error_then_ok" (one transient failure), "hang" (no answer within
the read timeout) and "malformed" (a success status with an unreadable answer).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from flask import Flask

from tests.helpers import add_widget, callbacks, run_jobs, submit_json
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


@pytest.fixture(scope="module", params=NAMES)
def fake(request: pytest.FixtureRequest) -> Iterator[Any]:
    with fake_module(request.param).Fake() as server:
        yield server


@pytest.fixture
def provider(fake: Any) -> providers.Provider:
    fake.reset()
    fake.mode = "ok"
    return providers.build(fake_module_name(fake), fake.provider_settings())


def fake_module_name(fake: Any) -> str:
    return str(importlib.import_module(type(fake).__module__).PROVIDER)


def test_success_returns_a_call_id_after_one_originate(fake: Any, provider: Any) -> None:
    result = provider.originate(CALL)
    assert result.provider_call_id
    assert fake.originate_count() == 1


def test_bad_credentials_are_permanent(fake: Any, provider: Any) -> None:
    fake.mode = "bad_auth"
    with pytest.raises(PermanentProviderError):
        provider.originate(CALL)


def test_a_transient_failure_is_retryable_and_the_next_attempt_works(
    fake: Any, provider: Any
) -> None:
    fake.mode = "error_then_ok"
    with pytest.raises(RetryableProviderError):
        provider.originate(CALL)
    assert provider.originate(CALL).provider_call_id
    assert fake.originate_count() == 2


def test_no_answer_in_time_is_a_retryable_timeout(fake: Any, provider: Any) -> None:
    fake.mode = "hang"
    with pytest.raises(RetryableProviderError) as raised:
        provider.originate(CALL)
    assert raised.value.cause == "timeout"


def test_an_unreadable_answer_is_permanent_so_nobody_is_rung_twice(
    fake: Any, provider: Any
) -> None:
    fake.mode = "malformed"
    with pytest.raises(PermanentProviderError):
        provider.originate(CALL)


def test_errors_are_typed(fake: Any, provider: Any) -> None:
    for mode in ("bad_auth", "malformed"):
        fake.mode = mode
        with pytest.raises(ProviderError) as raised:
            provider.originate(CALL)
        assert raised.value.cause and raised.value.cause.isidentifier()


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
