"""The shared HTTP base: one session, explicit timeouts, typed errors for every failure."""

from __future__ import annotations

import socket
import time
from typing import Any, ClassVar

import pytest
from werkzeug.wrappers import Request, Response

from tests.fakes.server import serve_wsgi
from tests.providers.common import LOCAL
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


@pytest.mark.parametrize("base_url", ["ftp://x", "javascript:alert(1)", 5, ""])
def test_base_url_must_be_http(base_url: object) -> None:
    with pytest.raises(ProviderConfigError) as raised:
        EchoProvider({"base_url": base_url}, egress=LOCAL)
    assert "base_url" in raised.value.fields
