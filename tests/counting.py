"""A provider that counts the calls it is asked to place: what every attack test asserts on.

`calls` (a fixture, registered in conftest.py) puts it in the registry as "counting" and
yields the list of CallRequests it received.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import pytest

from widget_server import providers
from widget_server.providers import CallRequest, Capability, OriginateResult, Provider
from widget_server.providers.simulator import SimulatorProvider


class CountingProvider(Provider):
    """Counts originate calls; reports only "ringing", like a provider whose events get lost."""

    name = "counting"
    capabilities = frozenset({Capability.REPORTS_STATUS})  # its events would say more
    calls: ClassVar[list[CallRequest]] = []

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        return dict(settings)

    def originate(self, call: CallRequest) -> OriginateResult:
        CountingProvider.calls.append(call)
        return OriginateResult(provider_call_id=f"c{len(self.calls)}", status="agent_ringing")


class QuickCalls(CountingProvider):
    """Counts originate calls; each call ends at once, so no lease holds the next one back."""

    def originate(self, call: CallRequest) -> OriginateResult:
        CountingProvider.calls.append(call)
        return OriginateResult(provider_call_id=f"c{len(self.calls)}", status="completed")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[CallRequest]]:
    monkeypatch.setitem(providers.REGISTRY, "counting", CountingProvider)
    CountingProvider.calls = []
    yield CountingProvider.calls


@pytest.fixture
def originates(monkeypatch: pytest.MonkeyPatch) -> list[CallRequest]:
    """Count the simulator's originates (each one would be a real call)."""
    seen: list[CallRequest] = []
    original = SimulatorProvider.originate

    def counting(self: SimulatorProvider, call: CallRequest) -> OriginateResult:
        seen.append(call)
        return original(self, call)

    monkeypatch.setattr(SimulatorProvider, "originate", counting)
    return seen
