"""Telephony providers, found by name in one registry (docs/providers.md: how to add one)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from ..core.egress import PUBLIC, EgressPolicy
from ..core.reasons import Reason
from .base import (
    CallRequest,
    CallState,
    Capability,
    EventRefused,
    EventReply,
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
from .setting_fields import SettingField, secret_hint

# Every adapter, as "<module>.<class>" under this package: adding a provider is one line
# here, and everything that offers providers (widget settings, the OpenAPI document, the
# event endpoint) reads REGISTRY.
ADAPTERS = (
    "simulator.SimulatorProvider",
    "extramobile.ExtraMobileProvider",
    "kazoo.KazooProvider",
    "click2dial.Click2DialProvider",
    "telecmi.TeleCMIProvider",
    "voiptech.VoiptechProvider",
    "twilio.TwilioProvider",
    "asterisk.AsteriskProvider",
    "freeswitch.FreeSwitchProvider",
    "webhook.WebhookProvider",
)


def _adapter(path: str) -> type[Provider]:
    module, _, name = path.rpartition(".")
    adapter = getattr(importlib.import_module(f".{module}", __name__), name)
    if not (isinstance(adapter, type) and issubclass(adapter, Provider)):
        raise TypeError(f"{path} is not a Provider")
    return adapter


REGISTRY: dict[str, type[Provider]] = {adapter.name: adapter for adapter in map(_adapter, ADAPTERS)}


def provider_class(name: str) -> type[Provider]:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ProviderConfigError(
            {"provider": Reason("unknown provider %(name)s", name=repr(name))}
        ) from None


def provider_capabilities(name: str) -> frozenset[Capability]:
    """Return what the provider called `name` can do (empty for an unknown name)."""
    found = REGISTRY.get(name)
    return found.capabilities if found is not None else frozenset()


def capability_setting(name: str, capability: Capability) -> str | None:
    """Return the setting the provider called `name` needs to offer `capability` (or None)."""
    found = REGISTRY.get(name)
    return found.capability_settings.get(capability) if found is not None else None


def build(name: str, settings: Mapping[str, Any], *, egress: EgressPolicy = PUBLIC) -> Provider:
    """Return a ready provider for a widget's provider name and settings.

    `egress` is the operator's policy (see core.egress): every connection the provider
    opens goes to an address it allows, whatever the settings say.
    """
    return provider_class(name)(settings, egress=egress)


def endpoints(name: str, settings: Mapping[str, Any]) -> dict[str, tuple[str, int]]:
    """Return the host and port of each endpoint the settings name, by setting."""
    found = REGISTRY.get(name)
    return found.endpoints(settings) if found is not None else {}


def destination(name: str, settings: object) -> tuple[str, ...]:
    """Say where a provider with these (possibly unchecked) settings sends credentials."""
    found = REGISTRY.get(name) if isinstance(name, str) else None
    if found is None or not isinstance(settings, Mapping):
        return (str(name),)
    return found.destination(settings)


def masked_settings(name: str, settings: Mapping[str, Any]) -> frozenset[str]:
    """Name the stored settings an answer may only hint at: the declared secrets, and every
    setting of a provider that declares none or that its declaration does not name."""
    found = REGISTRY.get(name)
    fields = found.setting_fields if found is not None else ()
    shown = {field.name for field in fields if not field.secret}
    return frozenset(key for key in settings if key not in shown)


def shown_settings(name: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Return settings as an answer may show them: secrets as a hint, the rest as stored."""
    hidden = masked_settings(name, settings)
    return {key: secret_hint(value) if key in hidden else value for key, value in settings.items()}


def validate(name: str, settings: object, agent: object = None) -> dict[str, Any]:
    """Return settings with defaults filled in; raise ProviderConfigError when unusable.

    With `agent`, also check that the provider can ring that agent leg (the widget's
    extension), so a widget that could never place a call is refused when it is saved.
    """
    if not isinstance(settings, Mapping):
        raise ProviderConfigError({"provider_settings": Reason("must be an object")})
    provider = provider_class(name)
    values = provider.validate_settings(settings)
    if agent is not None:
        provider.validate_agent(agent, values)
    return values


__all__ = [
    "capability_setting",
    "ADAPTERS",
    "REGISTRY",
    "CallRequest",
    "CallState",
    "Capability",
    "EventRefused",
    "EventReply",
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
    "SettingField",
    "build",
    "destination",
    "endpoints",
    "masked_settings",
    "provider_capabilities",
    "secret_hint",
    "shown_settings",
    "provider_class",
    "validate",
]
