"""What a widget's properties ask of its provider, and the refusal when it cannot do it.

Each feature that needs a provider capability is one rule below: the property that asks
for it, when it asks, and the capability. A widget is checked against its provider and,
with failover, against its secondary too: an attempt the secondary takes over must offer
what the widget promised. A capability some adapters offer only with a setting of their
own (a PBX's whisper context) is refused, naming that setting, when it is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..core.i18n import N_
from ..core.reasons import Reason
from ..providers import Capability, capability_setting, provider_capabilities


@dataclass(frozen=True)
class Requirement:
    field: str  # the property that asks for the feature
    capability: Capability
    asks: Callable[[Mapping[str, Any]], bool]  # whether these properties ask for it
    lacking: Reason | None = None  # what a provider without it cannot do, said in a refusal


RULES: tuple[Requirement, ...] = (
    Requirement(
        "scheduling",
        Capability.SCHEDULING,
        lambda properties: properties.get("scheduling") == "provider",
    ),
    Requirement(
        "strategy",
        Capability.SIMULTANEOUS_RING,
        lambda properties: properties.get("strategy") == "simultaneous",
        Reason("it cannot ring several agents at once"),
    ),
    # None means "where the provider can": only an explicit true asks for it.
    Requirement(
        "whisper",
        Capability.WHISPER,
        lambda properties: properties.get("whisper") is True,
        Reason("it cannot play a whisper to the agent and collect an accept key"),
    ),
    Requirement(
        "machine_detection",
        Capability.AMD,
        lambda properties: properties.get("machine_detection") is True,
        Reason("it cannot detect a visitor's answering machine"),
    ),
)
ROLES = (("provider", "provider_settings"), ("secondary_provider", "secondary_provider_settings"))
# Each refusal said for the provider and for the secondary, as whole sentences to translate.
LACKS = {
    "provider": N_(
        "needs the %(capability)s capability, which the provider %(name)s does not have"
    ),
    "secondary_provider": N_(
        "needs the %(capability)s capability, which the secondary provider %(name)s does not have"
    ),
}
LACKS_BECAUSE = {
    "provider": N_(
        "needs the %(capability)s capability, which the provider %(name)s does not have: "
        "%(lacking)s"
    ),
    "secondary_provider": N_(
        "needs the %(capability)s capability, which the secondary provider %(name)s does not "
        "have: %(lacking)s"
    ),
}
NEEDS_SETTING = {
    "provider": N_(
        "needs the setting %(setting)s for the provider %(name)s (the dialplan context "
        "docs/providers.md gives)"
    ),
    "secondary_provider": N_(
        "needs the setting %(setting)s for the secondary provider %(name)s (the dialplan "
        "context docs/providers.md gives)"
    ),
}


def required_capabilities(properties: Mapping[str, Any]) -> dict[str, Capability]:
    """Return the capability each property of `properties` asks of the provider, by field."""
    return {rule.field: rule.capability for rule in RULES if rule.asks(properties)}


def capability_errors(properties: Mapping[str, Any]) -> dict[str, Reason]:
    """Name each property asking for a capability the widget's provider (or secondary) lacks."""
    errors: dict[str, Reason] = {}
    required = {rule.field: rule for rule in RULES if rule.asks(properties)}
    for role, settings_key in ROLES:
        name = properties.get(role)
        if not isinstance(name, str) or not name:
            continue
        offered = provider_capabilities(name)
        settings = properties.get(settings_key)
        settings = settings if isinstance(settings, Mapping) else {}
        for field, rule in required.items():
            capability = rule.capability
            if field in errors:
                continue
            if capability not in offered:
                named = {"capability": capability.value, "name": repr(name)}
                errors[field] = (
                    Reason(LACKS_BECAUSE[role], **named, lacking=rule.lacking)
                    if rule.lacking
                    else Reason(LACKS[role], **named)
                )
                continue
            needed = capability_setting(name, capability)
            if needed is not None and not settings.get(needed):
                errors[field] = Reason(
                    NEEDS_SETTING[role], setting=f"{settings_key}.{needed}", name=repr(name)
                )
    return errors
