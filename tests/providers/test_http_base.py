"""The shared HTTP base: one session, explicit timeouts, typed errors for every failure."""

from __future__ import annotations

import socket
import time
from typing import Any, ClassVar

import pytest
from werkzeug.wrappers import Request, Response

from tests.fakes.server import serve_wsgi
from tests.providers.common import LOCAL, closed_port_url
from widget_server import providers
from widget_server.providers import (
    CallRequest,
    OriginateResult,
    PermanentProviderError,
    ProviderConfigError,
    RetryableProviderError,
)
from widget_server.providers.http import USER_AGENT, HTTPProvider, shared_session


class EchoProvider(HTTPProvider):
    name = "echo"
    default_base_url = "https://echo.invalid"
    seen: ClassVar[list[dict[str, Any]]] = []

    def originate(self, call: CallRequest) -> OriginateResult:
        body = self.json(self.request("POST", "/calls", json={"to": call.visitor_e164}))
        return OriginateResult(provider_call_id=body["id"])


def answering(status: int, body: str = '{"id": "c1"}', delay: float = 0) -> Any:
    @Request.application
    def app(request: Request) -> Response:
        EchoProvider.seen.append({"ua": request.headers.get("User-Agent")})
        time.sleep(delay)
        return Response(body, status=status, content_type="application/json")

    return app


CALL = CallRequest(
    callback_id="cb", attempt=1, agent="1001", visitor_e164="+12015550123", timeout=20
)


@pytest.mark.parametrize(
    ("status", "body", "error", "cause"),
    [
        (200, '{"id": "c1"}', None, None),
        (400, "{}", PermanentProviderError, "http_400"),
        (401, "{}", PermanentProviderError, "auth_failed"),
        (403, "{}", PermanentProviderError, "auth_failed"),
        (404, "{}", PermanentProviderError, "http_404"),
        (422, "{}", PermanentProviderError, "http_422"),
        (429, "{}", RetryableProviderError, "http_429"),
        (500, "{}", RetryableProviderError, "http_500"),
        (503, "{}", RetryableProviderError, "http_503"),
        (200, "<html>oops</html>", PermanentProviderError, "malformed_answer"),
    ],
)
def test_answers_map_to_typed_errors(
    status: int, body: str, error: type[Exception] | None, cause: str | None
) -> None:
    with serve_wsgi(answering(status, body)) as base_url:
        provider = EchoProvider({"base_url": base_url}, egress=LOCAL)
        if error is None:
            assert provider.originate(CALL).provider_call_id == "c1"
            return
        with pytest.raises(error) as raised:
            provider.originate(CALL)
        assert raised.value.cause == cause  # type: ignore[attr-defined]


def test_read_timeout_is_retryable() -> None:
    with serve_wsgi(answering(200, delay=1.0)) as base_url:
        provider = EchoProvider({"base_url": base_url, "read_timeout": 0.2}, egress=LOCAL)
        with pytest.raises(RetryableProviderError) as raised:
            provider.originate(CALL)
        assert raised.value.cause == "timeout"


def test_connection_refused_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = EchoProvider({"base_url": f"http://127.0.0.1:{port}"}, egress=LOCAL)
    with pytest.raises(RetryableProviderError) as raised:
        provider.originate(CALL)
    assert raised.value.cause == "connection_error"


def test_one_session_with_our_user_agent_and_explicit_timeouts() -> None:
    EchoProvider.seen = []
    with serve_wsgi(answering(200)) as base_url:
        first = EchoProvider({"base_url": base_url}, egress=LOCAL)
        second = EchoProvider(
            {"base_url": base_url, "connect_timeout": 1, "read_timeout": 2}, egress=LOCAL
        )
        first.originate(CALL)
    assert first.session is second.session is shared_session(LOCAL)
    assert EchoProvider.seen[0]["ua"] == USER_AGENT
    assert first.timeout == (3.05, 15.0) and second.timeout == (1.0, 2.0)


def test_paths_are_appended_to_the_base_url_and_its_own_path() -> None:
    paths = []

    @Request.application
    def app(request: Request) -> Response:
        paths.append(request.path)
        return Response('{"id": "c1"}', content_type="application/json")

    with serve_wsgi(app) as base_url:
        for configured in (f"{base_url}/gateway", f"{base_url}/gateway/"):
            EchoProvider({"base_url": configured}, egress=LOCAL).originate(CALL)
    assert paths == ["/gateway/calls", "/gateway/calls"]


@pytest.mark.parametrize("base_url", ["ftp://x", "javascript:alert(1)", 5, ""])
def test_base_url_must_be_http(base_url: object) -> None:
    with pytest.raises(ProviderConfigError) as raised:
        EchoProvider({"base_url": base_url}, egress=LOCAL)
    assert "base_url" in raised.value.fields


@pytest.mark.parametrize(
    ("status", "error", "cause"),
    [
        (404, None, None),
        (302, PermanentProviderError, "http_302"),  # a redirect is never followed, even here
        (401, PermanentProviderError, "auth_failed"),
        (410, PermanentProviderError, "http_410"),
        (503, RetryableProviderError, "http_503"),
    ],
)
def test_a_not_found_answer_is_returned_only_when_asked_for(
    status: int, error: type[Exception] | None, cause: str | None
) -> None:
    with serve_wsgi(answering(status, "{}")) as base_url:
        provider = EchoProvider({"base_url": base_url}, egress=LOCAL)
        if error is None:
            assert provider.request("GET", "/calls/c1", not_found_is_answer=True).status_code == 404
            return
        with pytest.raises(error) as raised:
            provider.request("GET", "/calls/c1", not_found_is_answer=True)
        assert raised.value.cause == cause  # type: ignore[attr-defined]


# Each HTTP status query that reads a 404 as "no such call", with settings at `base_url`.
STATUS_QUERIES: dict[str, tuple[Any, str]] = {
    "twilio": (
        lambda base_url: {
            "account_sid": "AC" + "0" * 32,
            "auth_token": "token",
            "base_url": base_url,
        },
        "CA" + "0" * 32,
    ),
    "webhook": (
        lambda base_url: {
            "url": f"{base_url}/hook",
            "status_url": f"{base_url}/status",
            "secret": "whsec-0123456789abcdef",
        },
        "wh-1",
    ),
}


@pytest.mark.parametrize("name", sorted(STATUS_QUERIES))
def test_status_queries_read_not_found_as_not_placed(name: str) -> None:
    settings, call_id = STATUS_QUERIES[name]
    with serve_wsgi(answering(404, "{}")) as base_url:
        provider = providers.build(name, settings(base_url), egress=LOCAL)
        assert provider.call_status(call_id, "cb-1").placed is False


@pytest.mark.parametrize("name", [*sorted(STATUS_QUERIES), "kazoo"])
def test_status_queries_fail_like_every_other_request(name: str) -> None:
    kazoo = (
        lambda base_url: {
            "base_url": base_url,
            "account_id": "0" * 32,
            "auth_token": "token",
            "clicktocall_id": "c2c",
        },
        "call-1",
    )
    settings, call_id = STATUS_QUERIES.get(name, kazoo)
    with serve_wsgi(answering(200, delay=0.5)) as base_url:
        provider = providers.build(name, {**settings(base_url), "read_timeout": 0.2}, egress=LOCAL)
        with pytest.raises(RetryableProviderError) as raised:
            provider.call_status(call_id, "cb-1")
        assert raised.value.cause == "timeout"
    provider = providers.build(name, settings(closed_port_url()), egress=LOCAL)
    with pytest.raises(RetryableProviderError) as raised:
        provider.call_status(call_id, "cb-1")
    assert raised.value.cause == "connection_error"
    with serve_wsgi(answering(503, "{}")) as base_url:
        with pytest.raises(RetryableProviderError) as raised:
            providers.build(name, settings(base_url), egress=LOCAL).call_status(call_id, "cb-1")
        assert raised.value.cause == "http_503"
