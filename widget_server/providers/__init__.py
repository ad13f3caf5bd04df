"""Telephony providers, found by name in one registry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .asterisk import AsteriskProvider
from .base import (
    CallRequest,
    CallState,
    EventRefused,
    EventRequest,
    EventUnreadable,
    OriginateResult,
    PermanentProviderError,
    PlannedEvent,
    Provider,
    ProviderConfigError,
    ProviderError,
    ProviderEvent,
    RetryableProviderError,
)
from .click2dial import Click2DialProvider
from .extramobile import ExtraMobileProvider
from .freeswitch import FreeSwitchProvider
from .kazoo import KazooProvider
from .simulator import SimulatorProvider
from .telecmi import TeleCMIProvider
from .twilio import TwilioProvider
from .voiptech import VoiptechProvider
from .webhook import WebhookProvider

REGISTRY: dict[str, type[Provider]] = {
    SimulatorProvider.name: SimulatorProvider,
    ExtraMobileProvider.name: ExtraMobileProvider,
    KazooProvider.name: KazooProvider,
    Click2DialProvider.name: Click2DialProvider,
    TeleCMIProvider.name: TeleCMIProvider,
    VoiptechProvider.name: VoiptechProvider,
    TwilioProvider.name: TwilioProvider,
    AsteriskProvider.name: AsteriskProvider,
    FreeSwitchProvider.name: FreeSwitchProvider,
    WebhookProvider.name: WebhookProvider,
}


def provider_class(name: str) -> type[Provider]:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ProviderConfigError({"provider": f"unknown provider {name!r}"}) from None


def build(name: str, settings: Mapping[str, Any]) -> Provider:
    """Return a ready provider for a widget's provider name and settings."""
    return provider_class(name)(settings)


def validate(name: str, settings: object, agent: object = None) -> dict[str, Any]:
    """Return settings with defaults filled in; raise ProviderConfigError when unusable.

    With `agent`, also check that the provider can ring that agent leg (the widget's
    extension), so a widget that could never place a call is refused when it is saved.
    """
    if not isinstance(settings, Mapping):
        raise ProviderConfigError({"provider_settings": "must be an object"})
    provider = provider_class(name)
    values = provider.validate_settings(settings)
    if agent is not None:
        provider.validate_agent(agent, values)
    return values


__all__ = [
    "REGISTRY",
    "CallRequest",
    "CallState",
    "EventRefused",
    "EventRequest",
    "EventUnreadable",
    "OriginateResult",
    "PermanentProviderError",
    "PlannedEvent",
    "Provider",
    "ProviderConfigError",
    "ProviderError",
    "ProviderEvent",
    "RetryableProviderError",
    "build",
    "provider_class",
    "validate",
]
