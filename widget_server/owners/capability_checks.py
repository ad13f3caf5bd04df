"""Which widget properties need which provider capability, so a widget that asks its
provider for something it cannot do is refused naming the property."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..providers.base import Capability

# What the refusal says the provider cannot do.
ABILITY = {
    Capability.SIMULTANEOUS_RING: "ring several agents at once",
    Capability.WHISPER: "play a whisper to the agent and collect an accept key",
    Capability.AMD: "detect a visitor's answering machine",
}


def required_capabilities(properties: Mapping[str, Any]) -> dict[str, Capability]:
    """Return, by property, the capability the provider needs for what `properties` ask."""
    required: dict[str, Capability] = {}
    if properties.get("strategy") == "simultaneous":
        required["strategy"] = Capability.SIMULTANEOUS_RING
    # None means "where the provider can": only an explicit true asks for it.
    if properties.get("whisper") is True:
        required["whisper"] = Capability.WHISPER
    if properties.get("machine_detection") is True:
        required["machine_detection"] = Capability.AMD
    return required


def capability_errors(
    provider: str, capabilities: frozenset[Capability], properties: Mapping[str, Any]
) -> dict[str, str]:
    """Name each property whose capability `capabilities` (the provider's) lacks."""
    return {
        name: f"the {provider} provider cannot {ABILITY.get(needed, needed.value)}"
        for name, needed in required_capabilities(properties).items()
        if needed not in capabilities
    }
