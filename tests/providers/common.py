"""Helpers shared by the provider tests: calls, closed ports, error tables, live settings."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from tests.helpers import LOOPBACK
from widget_server.core.egress import EgressPolicy
from widget_server.core.statuses import Status
from widget_server.providers.base import (
    CallRequest,
    CallState,
    PermanentProviderError,
    ProviderEvent,
    RetryableProviderError,
)

# The fakes listen on loopback: every provider under test is built with this policy, as an
# operator allows a PBX on the LAN (the default, public addresses only, would refuse them).
LOCAL = EgressPolicy.allowing(LOOPBACK)

# The usual mapping of an HTTP error status to a typed error and its cause; adapters that
# map differently keep their own table.
HTTP_ERRORS = [
    (400, PermanentProviderError, "http_400"),
    (401, PermanentProviderError, "auth_failed"),
    (403, PermanentProviderError, "auth_failed"),
    (404, PermanentProviderError, "http_404"),
    (429, RetryableProviderError, "http_429"),
    (500, RetryableProviderError, "http_500"),
    (503, RetryableProviderError, "http_503"),
]


def call_builder(**defaults: Any) -> Callable[..., CallRequest]:
    """Return make_call(**overrides): a CallRequest from `defaults` with `overrides` applied.

    Unless `defaults` says otherwise, the call is attempt 1 with a 20-second timeout.
    """
    values = {"attempt": 1, "timeout": 20, **defaults}

    def make_call(**overrides: Any) -> CallRequest:
        return CallRequest(**{**values, **overrides})

    return make_call


def closed_port_url() -> str:
    """Return an http:// URL on a loopback port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def live_env(names: Mapping[str, str], what: str) -> dict[str, str]:
    """Return {key: value of the environment variable names[key]} for a live test.

    Skip the test, saying which variables `what` needs, unless every one of them is set.
    """
    __tracebackhide__ = True  # report a skip at the calling test's line
    missing = [name for name in names.values() if not os.environ.get(name)]
    if missing:
        reason = f"{what} needs " + ", ".join(missing)
        print(reason)
        pytest.skip(reason)
    return {key: os.environ[name] for key, name in names.items()}


def channels_gone(call_id: str) -> CallState:
    """What a PBX adapter answers for a call none of whose channels is left."""
    event = ProviderEvent(
        Status.COMPLETED, provider_call_id=call_id, cause="unreported", details={"channel": "gone"}
    )
    return CallState(placed=True, event=event)
