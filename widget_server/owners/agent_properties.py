"""A widget's agents and departments, saved consistently: `extension` stays the first
agent (Kazoo clients know only it), and every agent is one the provider can ring."""

from __future__ import annotations

import re
from typing import Any

from .. import providers
from ..calls import hours
from ..core.i18n import N_
from ..core.reasons import Reason
from .property_checks import EXTENSION

# An agent the primary provider can ring and the secondary cannot.
SECONDARY_CANNOT_RING = N_("the secondary provider cannot ring it: %(reason)s")


def with_agents(
    merged: dict[str, Any], values: dict[str, Any], current: dict[str, Any]
) -> dict[str, Any]:
    """Return `merged` with `extension` and `agents` agreeing, whichever of them was sent."""
    agents, extension = merged.get("agents"), merged.get("extension")
    if not isinstance(agents, list) or not all(isinstance(a, dict) for a in agents):
        return merged  # refused by the agents check, naming the property
    agents_sent = "agents" in values and values["agents"] != current.get("agents")
    extension_sent = "extension" in values and values["extension"] != current.get("extension")
    first = agents[0].get("extension") if agents else None
    if agents and (agents_sent or not extension_sent):
        if isinstance(first, str):
            return {**merged, "extension": first}
        return merged
    if isinstance(extension, str) and re.fullmatch(EXTENSION, extension):
        # A Kazoo client changed the extension: it replaces the first agent's, the rest stay.
        rest = agents[1:] if agents else []
        head = {**agents[0], "extension": extension} if agents else {"extension": extension}
        return {**merged, "agents": [head, *rest]}
    return merged


def routing_errors(cleaned: dict[str, Any]) -> dict[str, str]:
    """Name each agent the provider (or the secondary) cannot ring and each bad set of hours."""
    errors: dict[str, str] = {}
    groups = [("agents", cleaned["agents"])] + [
        (f"departments.{d}.agents", department["agents"])
        for d, department in enumerate(cleaned["departments"])
    ]
    for role, settings_key in (
        ("provider", "provider_settings"),
        ("secondary_provider", "secondary_provider_settings"),
    ):
        if cleaned.get(role) is None:
            continue
        provider = providers.provider_class(cleaned[role])
        settings = cleaned[settings_key]
        for field, agents in groups:
            for index, agent in enumerate(agents):
                key = f"{field}.{index}.extension"
                try:
                    provider.validate_agent(agent["extension"], settings)
                except providers.ProviderConfigError as exc:
                    why = next(iter(exc.fields.values()))
                    if role == "provider":
                        errors.setdefault(key, why)
                    else:
                        errors.setdefault(key, Reason(SECONDARY_CANNOT_RING, reason=why))
    for field, agents in groups:
        for index, agent in enumerate(agents):
            if "business_hours" in agent:
                errors.update(
                    hours.validation_errors(
                        agent["business_hours"], f"{field}.{index}.business_hours"
                    )
                )
    for d, department in enumerate(cleaned["departments"]):
        if "business_hours" in department:
            errors.update(
                hours.validation_errors(
                    department["business_hours"], f"departments.{d}.business_hours"
                )
            )
    return errors
