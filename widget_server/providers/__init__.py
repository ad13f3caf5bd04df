"""Telephony providers, found by name in one registry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import (
    CallRequest,
    OriginateResult,
    PermanentProviderError,
    PlannedEvent,
    Provider,
    ProviderConfigError,
    ProviderError,
    ProviderEvent,
    RetryableProviderError,
)
from .simulator import SimulatorProvider

REGISTRY: dict[str, type[Provider]] = {
    SimulatorProvider.name: SimulatorProvider,
}


def provider_class(name: str) -> type[Provider]:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ProviderConfigError({"provider": f"unknown provider {name!r}"}) from None


def build(name: str, settings: Mapping[str, Any]) -> Provider:
    """Return a ready provider for a widget's provider name and settings."""
    return provider_class(name)(settings)


def validate(name: str, settings: object) -> dict[str, Any]:
    """Return settings with defaults filled in; raise ProviderConfigError when unusable."""
    if not isinstance(settings, Mapping):
        raise ProviderConfigError({"provider_settings": "must be an object"})
    return provider_class(name).validate_settings(settings)


__all__ = [
    "REGISTRY",
    "CallRequest",
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
