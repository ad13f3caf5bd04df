"""Widget properties: Kazoo's clicktocall fields plus this product's, checked before saving."""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

from flask import current_app, has_app_context

from .. import providers
from ..calls import hours
from ..core import egress
from ..core.numbers import whitelist_errors
from ..core.origins import normalise_origin
from ..intake import human_checks, phone_policy
from . import display, texts

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
EXTENSION = re.compile(r"(\+?[0-9*#]{2,20}|sips?:[A-Za-z0-9._~+\-]+@[A-Za-z0-9.\-]+(:\d{1,5})?)")
REALM = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-.]{0,251}[A-Za-z0-9])?")
CALLER_ID_NUMBER = re.compile(r"\+?[0-9]{2,20}")

DEFAULTS: dict[str, Any] = {
    "realm": None,
    "auth_required": True,
    "whitelist": [],
    "throttle": 0,
    "caller_id_number": None,
    "outbound_callee_id_name": None,
    "outbound_callee_id_number": None,
    "provider": "simulator",
    "provider_settings": {},
    "default_region": "US",
    "allowed_regions": [],
    "allowed_number_types": [],
    "allowed_origins": [],
    "timeout": 20,
    "max_retries": 0,
    "retry_delay": 60,
    "time_zone": "UTC",
    "business_hours": {},
    "texts": {},
    "theme": {},
    "locale": "en",
    "require_consent": False,
    "enabled": True,
    "closed": False,  # the owner's switch: no calls now, whatever the business hours say
    "limits": {},
    "human_check": {},
    "webhook_url": None,
    "webhook_secret": None,  # write-only: answers show only whether it is set
    "notify_emails": [],
    "display_rules": {},
}
PROPERTIES = ("name", "extension", *DEFAULTS)


class WidgetInvalid(ValueError):
    """Properties that cannot be saved; `fields` maps each property to its reason."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def clean(values: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge `values` over `current` (or the defaults), check everything, return the result."""
    merged = dict(current if current is not None else DEFAULTS)
    errors = {key: "unknown property" for key in values if key not in PROPERTIES}
    merged.update({k: v for k, v in values.items() if k in PROPERTIES})
    for key, check in CHECKS.items():
        message = check(merged.get(key))
        if message:
            errors[key] = message
    # Business hours get one reason per part (day, window, holiday), not one for the object.
    errors.update(hours.validation_errors(merged.get("business_hours")))
    if not errors:
        try:
            merged["provider_settings"] = providers.validate(
                merged["provider"], merged["provider_settings"], agent=merged["extension"]
            )
        except providers.ProviderConfigError as exc:
            for key, reason in exc.fields.items():
                errors["extension" if key == "agent" else f"provider_settings.{key}"] = reason
        else:
            errors.update(endpoint_errors(merged["provider"], merged["provider_settings"]))
    # One reason per field of the human check ("human_check.site_key": "is required").
    errors.update(human_checks.validate(merged.get("human_check")))
    if (
        not errors
        and merged["allowed_regions"]
        and (merged["default_region"] not in merged["allowed_regions"])
    ):
        errors["default_region"] = "must be one of allowed_regions"
    if not errors and merged["webhook_url"] and not merged["webhook_secret"]:
        errors["webhook_secret"] = "is required when webhook_url is set"
    if errors:
        raise WidgetInvalid(errors)
    merged["allowed_origins"] = [normalise_origin(o) for o in merged["allowed_origins"]]
    merged["webhook_url"] = merged["webhook_url"] or None  # "" clears it
    return merged


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


def _text(limit: int, required: bool = False, pattern: re.Pattern[str] | None = None) -> Any:
    def check(value: object) -> str | None:
        if value is None or value == "":
            return "is required" if required else None
        if not isinstance(value, str):
            return "must be a string"
        if len(value) > limit:
            return f"must be at most {limit} characters"
        if CONTROL.search(value):
            return "must not contain control characters"
        if pattern is not None and not pattern.fullmatch(value):
            return "has the wrong format"
        return None

    return check


def _integer(low: int, high: int) -> Any:
    def check(value: object) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"must be an integer from {low} to {high}"
        return None

    return check


def _boolean(value: object) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _object(value: object) -> str | None:
    return None if isinstance(value, dict) else "must be an object"


def _regions(value: object) -> str | None:
    if not isinstance(value, list) or not all(phone_policy.valid_region(r) for r in value):
        return "must be a list of ISO 3166 region codes such as ZA or US"
    return None


def _number_types(value: object) -> str | None:
    if not isinstance(value, list) or not all(t in phone_policy.NUMBER_TYPES for t in value):
        return "must be a list of: " + ", ".join(phone_policy.NUMBER_TYPES)
    return None


def _origins(value: object) -> str | None:
    if not isinstance(value, list) or len(value) > 50:
        return "must be a list of origins such as https://www.example.com"
    bad = [o for o in value if normalise_origin(o) is None]
    return f"not an origin (scheme://host[:port]): {bad[0]!r}" if bad else None


def _whitelist(value: object) -> str | None:
    errors = whitelist_errors(value)
    return "; ".join(errors) if errors else None


def _time_zone(value: object) -> str | None:
    try:
        zoneinfo.ZoneInfo(str(value))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "must be an IANA time zone such as Africa/Johannesburg"
    return None


def _provider(value: object) -> str | None:
    return (
        None
        if value in providers.REGISTRY
        else "must be one of " + ", ".join(sorted(providers.REGISTRY))
    )


LIMIT_KEYS = ("per_number", "per_prefix", "distinct_numbers_per_ip", "per_widget")


def _limits(value: object) -> str | None:
    from limits import parse_many

    if not isinstance(value, dict) or set(value) - set(LIMIT_KEYS):
        return "must be an object with keys among " + ", ".join(LIMIT_KEYS)
    for key, limit in value.items():
        try:
            if not isinstance(limit, str) or not parse_many(limit):
                raise ValueError(limit)
        except ValueError:
            return f"{key}: not a rate limit such as '1 per 10 minutes;3 per day'"
    return None


def _webhook_url(value: object) -> str | None:
    if value is None or value == "":
        return None
    # Stricter unless the server allows more (development, tests against a local receiver).
    config = current_app.config if has_app_context() else {}
    problem = egress.url_problem(
        value,
        allow_http=bool(config.get("WEBHOOK_ALLOW_HTTP")),
        allow_private=bool(config.get("WEBHOOK_ALLOW_PRIVATE")),
    )
    # A name is looked up too: one that resolves to a private address is refused now, as
    # it would be at every delivery.
    return problem or egress.webhook_policy(config).url_problem(str(value))


WEBHOOK_SECRET_MIN = 16


def _webhook_secret(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        return "must be a string"
    if not WEBHOOK_SECRET_MIN <= len(value) <= 256:
        return f"must be {WEBHOOK_SECRET_MIN} to 256 characters"
    if not value.isprintable() or value != value.strip():
        return "must be printable characters without surrounding spaces"
    return None


# Deliberately simple: one address per item, no display names, nothing that could add a
# header (commas, angle brackets, line breaks); the mail server decides the rest.
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
MAX_NOTIFY_EMAILS = 10


def _notify_emails(value: object) -> str | None:
    if not isinstance(value, list) or len(value) > MAX_NOTIFY_EMAILS:
        return f"must be a list of at most {MAX_NOTIFY_EMAILS} email addresses"
    for item in value:
        if not isinstance(item, str) or len(item) > 254 or not EMAIL.fullmatch(item):
            return f"not an email address such as owner@example.com: {item!r}"
    return None


CHECKS = {
    "name": _text(128, required=True),
    "extension": _text(255, required=True, pattern=EXTENSION),
    "realm": _text(253, pattern=REALM),
    "auth_required": _boolean,
    "whitelist": _whitelist,
    "throttle": _integer(0, 10_000),
    "caller_id_number": _text(21, pattern=CALLER_ID_NUMBER),
    "outbound_callee_id_name": _text(64),
    "outbound_callee_id_number": _text(21, pattern=CALLER_ID_NUMBER),
    "provider": _provider,
    "provider_settings": _object,
    "default_region": lambda v: None if phone_policy.valid_region(v) else "not a region code",
    "allowed_regions": _regions,
    "allowed_number_types": _number_types,
    "allowed_origins": _origins,
    "timeout": _integer(1, 300),
    "max_retries": _integer(0, 10),
    "retry_delay": _integer(5, 86_400),
    "time_zone": _time_zone,
    "texts": texts.errors,
    "theme": display.theme_errors,
    "locale": _text(16, required=True, pattern=re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*")),
    "require_consent": _boolean,
    "enabled": _boolean,
    "closed": _boolean,
    "limits": _limits,
    "webhook_url": _webhook_url,
    "webhook_secret": _webhook_secret,
    "notify_emails": _notify_emails,
    "display_rules": display.rules_errors,
}
