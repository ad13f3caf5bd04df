"""Fixtures shared by the provider tests.

A test module that uses `server` or `fake` imports its fake's class as `Fake` (from
tests/fakes/): `server` runs one instance of it for the whole module, and `fake` hands that
instance to each test freshly reset.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.providers.common import LOCAL


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[Any]:
    with request.module.Fake() as running:
        yield running


@pytest.fixture
def fake(server: Any) -> Any:
    server.reset()
    return server


@pytest.fixture
def session() -> Iterator[requests.Session]:
    """A session of the loopback-allowing policy: requests go through the egress guard."""
    with LOCAL.session() as opened:
        yield opened
