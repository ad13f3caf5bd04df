"""Saving widget properties: merge them over the stored ones, check everything, or refuse."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_app_context
from pydantic import ValidationError

from .. import providers
from ..calls import hours
from ..core import egress
from ..core.validation import first_errors
from ..intake import human_checks
from . import agent_properties
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

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


class WidgetUnsupported(WidgetInvalid):
    """Valid properties that ask the widget's provider for something it cannot do."""


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
        try:
            cleaned["provider_settings"] = providers.validate(
                cleaned["provider"], cleaned["provider_settings"], agent=cleaned["extension"]
            )
        except providers.ProviderConfigError as exc:
            for key, why in exc.fields.items():
                errors["extension" if key == "agent" else f"provider_settings.{key}"] = why
        else:
            errors.update(endpoint_errors(cleaned["provider"], cleaned["provider_settings"]))
            errors.update(agent_properties.routing_errors(cleaned))
    # One reason per field of the human check ("human_check.site_key": "is required").
    errors.update(human_checks.validate(merged.get("human_check")))
    if not errors and cleaned["allowed_regions"]:
        if cleaned["default_region"] not in cleaned["allowed_regions"]:
            errors["default_region"] = "must be one of allowed_regions"
    if not errors and cleaned["webhook_url"] and not cleaned["webhook_secret"]:
        errors["webhook_secret"] = "is required when webhook_url is set"
    if errors:
        raise WidgetInvalid(errors)
    unsupported = agent_properties.unsupported(cleaned)
    if unsupported:
        raise WidgetUnsupported(unsupported)
    return cleaned


def endpoint_errors(provider: str, settings: dict[str, Any]) -> dict[str, str]:
    """Name each provider endpoint that is, or resolves to, an address the server may not
    call: public ones only, and the private hosts the operator listed."""
    config = current_app.config if has_app_context() else {}
    policy = egress.provider_policy(config)
    errors = {}
    for key, (host, port) in providers.endpoints(provider, settings).items():
        problem = policy.host_problem(host, port)
        if problem:
            errors[f"provider_settings.{key}"] = f"{problem}{PRIVATE_HOSTS_HINT}"
    return errors


PRIVATE_HOSTS_HINT = " (a private host must be allowed by the server's operator)"
