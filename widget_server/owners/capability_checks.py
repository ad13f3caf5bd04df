"""What a widget's properties ask of its provider, and the refusal when it cannot do it.

Each feature that needs a provider capability is one rule below: the property that asks
for it, when it asks, and the capability. A widget is checked against its provider and,
with failover, against its secondary too: an attempt the secondary takes over must offer
what the widget promised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..providers import Capability, provider_capabilities


@dataclass(frozen=True)
class Requirement:
    field: str  # the property that asks for the feature
    capability: Capability
    asks: Callable[[Mapping[str, Any]], bool]  # whether these properties ask for it


RULES: tuple[Requirement, ...] = (
    Requirement(
        "scheduling",
        Capability.SCHEDULING,
        lambda properties: properties.get("scheduling") == "provider",
    ),
)


def required_capabilities(properties: Mapping[str, Any]) -> dict[str, Capability]:
    """Return the capability each property of `properties` asks of the provider, by field."""
    return {rule.field: rule.capability for rule in RULES if rule.asks(properties)}


def capability_errors(properties: Mapping[str, Any]) -> dict[str, str]:
    """Name each property asking for a capability the widget's provider (or secondary) lacks."""
    errors: dict[str, str] = {}
    required = required_capabilities(properties)
    for role in ("provider", "secondary_provider"):
        name = properties.get(role)
        if not isinstance(name, str) or not name:
            continue
        offered = provider_capabilities(name)
        for field, capability in required.items():
            if capability not in offered and field not in errors:
                errors[field] = (
                    f"needs the {capability.value} capability, which the {role.replace('_', ' ')}"
                    f" {name!r} does not have"
                )
    return errors
