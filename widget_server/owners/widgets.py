"""Saving widget properties: merge them over the stored ones, check everything, or refuse."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app, has_app_context
from pydantic import ValidationError

from .. import providers
from ..calls import hours
from ..core import egress
from ..core.i18n import N_
from ..core.reasons import Reason
from ..core.validation import first_errors
from ..intake import human_checks
from . import agent_properties
from .capability_checks import capability_errors
from .widget_properties import WidgetProperties, reason

FIELDS = WidgetProperties.model_fields
PROPERTIES = tuple(FIELDS)
DEFAULTS: dict[str, Any] = {
    name: field.get_default(call_default_factory=True)
    for name, field in FIELDS.items()
    if not field.is_required()
}


class WidgetInvalid(ValueError):
    """Properties that cannot be saved; `fields` maps each property to its reason."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        # Each reason is a core.reasons.Reason where the domain gave one.
        self.fields = dict(fields)


class WidgetUnsupported(WidgetInvalid):
    """Valid properties asking for a feature the widget's provider cannot offer (a 422)."""


def clean(values: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge `values` over `current` (or the defaults), check everything, return the result."""
    base = current if current is not None else DEFAULTS
    merged = agent_properties.with_agents({**base, **values}, values, base)
    errors: dict[str, str] = {}
    try:
        cleaned = WidgetProperties.model_validate(merged).model_dump()
    except ValidationError as exc:
        errors = {
            name: reason(error, FIELDS.get(name)) for name, error in first_errors(exc).items()
        }
    # Business hours get one reason per part (day, window, holiday), not one for the object.
    errors.update(hours.validation_errors(merged.get("business_hours")))
    if not errors:
        errors.update(_provider_errors(cleaned, "provider", "provider_settings"))
        if cleaned["secondary_provider"] is None:
            cleaned["secondary_provider_settings"] = {}
        else:
            errors.update(
                _provider_errors(cleaned, "secondary_provider", "secondary_provider_settings")
            )
            errors.update(_secondary_setup_errors(cleaned))
        if not errors:
            errors.update(agent_properties.routing_errors(cleaned))
    # One reason per field of the human check ("human_check.site_key": "is required").
    errors.update(human_checks.validate(merged.get("human_check")))
    if not errors and cleaned["allowed_regions"]:
        if cleaned["default_region"] not in cleaned["allowed_regions"]:
            errors["default_region"] = Reason("must be one of allowed_regions")
    if not errors and cleaned["webhook_url"] and not cleaned["webhook_secret"]:
        errors["webhook_secret"] = Reason("is required when webhook_url is set")
    if errors:
        raise WidgetInvalid(errors)
    unsupported = capability_errors(cleaned)
    if unsupported:
        raise WidgetUnsupported(unsupported)
    return cleaned


def _secondary_setup_errors(cleaned: dict[str, Any]) -> dict[str, str]:
    """A secondary must be ready as it is: the one-time set-up (a Kazoo clicktocall) runs
    for the primary only, and a failover is no moment to create resources."""
    adapter = providers.REGISTRY.get(cleaned["secondary_provider"])
    settings = cleaned["secondary_provider_settings"]
    if adapter is None or not isinstance(settings, dict) or not adapter.needs_setup(settings):
        return {}
    return {
        "secondary_provider_settings": Reason(
            "must name what the primary would create once (for kazoo: clicktocall_id)"
        )
    }


def _provider_errors(cleaned: dict[str, Any], role: str, settings_key: str) -> dict[str, str]:
    """Check one provider's settings (and that it can ring the extension) in place."""
    errors: dict[str, str] = {}
    try:
        cleaned[settings_key] = providers.validate(
            cleaned[role], cleaned[settings_key], agent=cleaned["extension"]
        )
    except providers.ProviderConfigError as exc:
        for key, why in exc.fields.items():
            if key == "agent":
                errors["extension" if role == "provider" else role] = (
                    why if role == "provider" else Reason(CANNOT_RING, reason=why)
                )
            else:
                errors[f"{settings_key}.{key}"] = why
    else:
        errors.update(endpoint_errors(cleaned[role], cleaned[settings_key], settings_key))
    return errors


def endpoint_errors(
    provider: str, settings: dict[str, Any], settings_key: str = "provider_settings"
) -> dict[str, str]:
    """Name each provider endpoint that is, or resolves to, an address the server may not
    call: public ones only, and the private hosts the operator listed."""
    config = current_app.config if has_app_context() else {}
    policy = egress.provider_policy(config)
    errors: dict[str, str] = {}
    for key, (host, port) in providers.endpoints(provider, settings).items():
        problem = policy.host_problem(host, port)
        if problem:
            errors[f"{settings_key}.{key}"] = Reason(PRIVATE_HOSTS_HINT, problem=problem)
    return errors


PRIVATE_HOSTS_HINT = N_("%(problem)s (a private host must be allowed by the server's operator)")
CANNOT_RING = N_("cannot ring the extension: %(reason)s")
