"""Widget properties, defined once: Kazoo's clicktocall fields plus this product's.

The model checks what the admin API, the dashboard and the CLI save (`widgets.clean`) and is
the OpenAPI document's schema of a clicktocall. Checks too intricate for field constraints
(regexes that must not match everything, time zones, origins, texts) run as validators
(`property_checks`); checks across properties stay in `widgets.clean`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from .. import providers
from ..core.origins import normalise_origin
from ..core.reasons import Reason
from ..core.text import has_control, has_unpaired_surrogate
from ..core.validation import REFUSED, checked, constraint, refusal
from ..intake import human_checks, phone_policy
from . import display
from . import property_checks as checks
from .texts import errors as text_errors

EXTENSION = checks.EXTENSION
REALM = r"[A-Za-z0-9](?:[A-Za-z0-9\-.]{0,251}[A-Za-z0-9])?"
CALLER_ID_NUMBER = r"\+?[0-9]{2,20}"
LOCALE = r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*"
REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
TEXT = (
    "name",
    "extension",
    "realm",
    "caller_id_number",
    "outbound_callee_id_name",
    "outbound_callee_id_number",
    "locale",
)


def whole(pattern: str) -> str:
    """Anchor `pattern` at both ends, as the JSON Schema and pydantic search with it."""
    return f"^(?:{pattern})$"


def whole_or_empty(pattern: str) -> str:
    # An optional property may be sent as "" and is stored so.
    return f"^(?:{pattern})?$"


def _registered_providers(schema: dict[str, Any]) -> None:
    # Read when the document is built: tests and deployments may register more providers.
    schema["enum"] = sorted(providers.REGISTRY)


def _normalised_origins(origins: list[str]) -> list[str]:
    return [str(normalise_origin(origin)) for origin in origins]  # checks.origins passed them


def _one_of(values: Iterable[str]) -> dict[str, Any]:
    return {"enum": list(values)}


def _items(**item: Any) -> dict[str, Any]:
    return {"items": {"type": "string", **item}}


AGENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["extension"],
    "additionalProperties": False,
    "properties": {
        "extension": {"type": "string", "pattern": whole(EXTENSION)},
        "label": {"type": "string", "minLength": 1, "maxLength": checks.NAME_LIMIT},
        "business_hours": {"type": "object"},
    },
}
DEPARTMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["key", "names", "agents"],
    "additionalProperties": False,
    "properties": {
        "key": {"type": "string", "pattern": whole(checks.DEPARTMENT_KEY)},
        "names": {"type": "object", "additionalProperties": {"type": "string"}},
        "agents": {"type": "array", "items": AGENT_SCHEMA, "minItems": 1},
        "business_hours": {"type": "object"},
    },
}


class WidgetProperties(BaseModel):
    """A clicktocall's writable properties (Kazoo's names where Kazoo has the property)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=128, description="Kazoo: human-friendly name")
    extension: str = Field(
        min_length=1,
        max_length=255,
        pattern=whole(EXTENSION),
        description="Kazoo: agent DID, extension or SIP URI, rung first",
    )
    realm: str | None = Field(
        None,
        max_length=253,
        pattern=whole_or_empty(REALM),
        description="Kazoo: SIP realm (FQDN or IP)",
    )
    auth_required: bool = Field(True, description="Kazoo: /connect needs a key")
    whitelist: Annotated[list[str], checked(checks.whitelist)] = Field(
        default_factory=list,
        description="Kazoo: regexes a number (E.164) must full-match; `.*` is refused",
    )
    throttle: int = Field(0, ge=0, le=10_000, description="Kazoo: calls in progress, 0 = no limit")
    caller_id_number: str | None = Field(
        None,
        max_length=21,
        pattern=whole_or_empty(CALLER_ID_NUMBER),
        description="Shown to the agent",
    )
    outbound_callee_id_name: str | None = Field(
        None, max_length=64, description="Shown to the visitor"
    )
    outbound_callee_id_number: str | None = Field(
        None,
        max_length=21,
        pattern=whole_or_empty(CALLER_ID_NUMBER),
        description="Shown to the visitor",
    )
    provider: Annotated[str, checked(checks.provider)] = Field(
        "simulator", json_schema_extra=_registered_providers
    )
    provider_settings: dict[str, Any] = Field(
        default_factory=dict,
        description="The provider's settings; secrets are write-only (answers show a hint)",
    )
    secondary_provider: Annotated[str | None, checked(checks.secondary_provider)] = Field(
        None,
        description="Failover: takes an attempt the primary provider refused for a retryable "
        'reason before accepting it (one of the provider names; null or "" for none)',
    )
    secondary_provider_settings: dict[str, Any] = Field(
        default_factory=dict,
        description="The secondary provider's settings. Write-only: answers show a masked "
        "hint per setting",
    )
    scheduling: Literal["auto", "provider", "server"] = Field(
        "auto",
        description="Who books a scheduled callback: provider (its own scheduler, at booking "
        "time; needs the scheduling capability), server (dialled at its time), auto (the "
        "provider when it can)",
    )
    default_region: Annotated[str, checked(checks.region)] = Field(
        "US", json_schema_extra=_one_of(REGIONS)
    )
    allowed_regions: Annotated[list[str], checked(checks.regions)] = Field(
        default_factory=list, json_schema_extra=_items(enum=REGIONS)
    )
    allowed_number_types: Annotated[list[str], checked(checks.number_types)] = Field(
        default_factory=list, json_schema_extra=_items(enum=list(phone_policy.NUMBER_TYPES))
    )
    allowed_origins: Annotated[
        list[str], checked(checks.origins), AfterValidator(_normalised_origins)
    ] = Field(default_factory=list, json_schema_extra={"maxItems": checks.MAX_ORIGINS})
    timeout: int = Field(20, ge=1, le=300, description="Agent leg ring time, in seconds")
    max_retries: int = Field(0, ge=0, le=10)
    retry_delay: int = Field(60, ge=5, le=86_400, description="Seconds between attempts")
    time_zone: Annotated[str, checked(checks.time_zone)] = "UTC"
    # Business hours get one reason per part (day, window, holiday): `widgets.clean` checks.
    business_hours: dict[str, Any] = Field(default_factory=dict)
    texts: Annotated[dict[str, Any], checked(text_errors)] = Field(default_factory=dict)
    theme: Annotated[dict[str, Any], checked(display.theme_errors)] = Field(
        default_factory=dict,
        description="The button's and form's look: color, position, radius, icon, color_scheme",
        json_schema_extra={
            "properties": {
                "color": {"type": "string", "pattern": whole(display.COLOR.pattern)},
                "position": _one_of(display.POSITIONS),
                "radius": {"type": "integer", "minimum": 0, "maximum": display.MAX_RADIUS},
                "icon": _one_of(display.ICONS),
                "color_scheme": _one_of(display.COLOR_SCHEMES),
            },
            "additionalProperties": False,
        },
    )
    locale: str = Field("en", min_length=1, max_length=16, pattern=whole(LOCALE))
    require_consent: bool = False
    enabled: bool = True
    closed: bool = Field(False, description="The owner's switch: no calls now, whatever the hours")
    limits: Annotated[dict[str, str], checked(checks.rate_limits)] = Field(
        default_factory=dict, json_schema_extra={"propertyNames": {"enum": list(checks.LIMIT_KEYS)}}
    )
    # One reason per field of the human check: `widgets.clean` checks.
    human_check: dict[str, Any] = Field(
        default_factory=dict,
        description="{} (off), or a kind with its keys; secret_key is write-only (answers "
        "show a masked hint)",
        json_schema_extra={"properties": {"kind": _one_of(sorted(human_checks.REGISTRY))}},
    )
    webhook_url: Annotated[str | None, checked(checks.webhook_url)] = Field(
        None, description='https URL the widget\'s events are posted to; "" clears it'
    )
    webhook_secret: str | None = Field(
        None,
        min_length=16,
        max_length=256,
        description="Write-only: answers show only whether it is set",
    )
    notify_emails: Annotated[list[str], checked(checks.notify_emails)] = Field(
        default_factory=list, json_schema_extra={"maxItems": checks.MAX_NOTIFY_EMAILS}
    )
    display_rules: Annotated[dict[str, Any], checked(display.rules_errors)] = Field(
        default_factory=dict,
        description="show_on/hide_on path patterns, delay_seconds, outside_hours, call_now",
    )
    # Routing: `extension` is the first agent, kept for Kazoo clients (`widgets.clean`).
    agents: Annotated[list[dict[str, Any]], checked(checks.agents)] = Field(
        default_factory=list,
        description="Agents rung by `strategy`, each with its own optional business hours; "
        "[] rings `extension` alone",
        json_schema_extra={"items": AGENT_SCHEMA, "maxItems": checks.MAX_AGENTS},
    )
    strategy: Literal["ordered", "round_robin", "simultaneous"] = Field(
        "ordered",
        description="ordered: the next agent after a ring timeout; round_robin: the first "
        "agent rotates across callbacks; simultaneous: all at once (where the provider can)",
    )
    departments: Annotated[list[dict[str, Any]], checked(checks.departments)] = Field(
        default_factory=list,
        description="Departments the visitor picks in the form, each with its own agents and hours",
        json_schema_extra={"items": DEPARTMENT_SCHEMA, "maxItems": checks.MAX_DEPARTMENTS},
    )
    whisper: bool | None = Field(
        None,
        description="The agent hears who is calling and presses 1 to take the call; "
        "null: on where the provider can",
    )
    machine_detection: bool | None = Field(
        None,
        description="A visitor's voicemail ends the attempt as visitor_voicemail; "
        "null: on where the provider can",
    )

    @field_validator("*", mode="before")
    @classmethod
    def _whole_characters(cls, value: Any) -> Any:
        # Stored in text and JSON columns and sent on to providers: neither takes one.
        if has_unpaired_surrogate(value):
            raise refusal(Reason("must be valid Unicode text"))
        return value

    @field_validator(*TEXT, mode="before")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        if isinstance(value, str) and has_control(value):
            raise refusal(Reason("must not contain control characters"))
        return value

    @field_validator("secondary_provider", mode="before")
    @classmethod
    def _cleared_secondary_provider(cls, name: object) -> object:
        return name or None  # "" clears it

    @field_validator("webhook_url")
    @classmethod
    def _cleared_webhook_url(cls, url: str | None) -> str | None:
        return url or None  # "" clears it

    @field_validator("webhook_secret")
    @classmethod
    def _printable_secret(cls, secret: str | None) -> str | None:
        reason = checks.printable_secret(secret)
        if reason:
            raise refusal(reason)
        return secret


class Clicktocall(WidgetProperties):
    """A clicktocall as the admin API answers it: every property, secrets only hinted."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    id: str
    provider_settings: dict[str, Any] = Field(
        description="Each setting as stored, except secrets: a masked hint for those"
    )
    secondary_provider_settings: dict[str, Any] = Field(
        description="Each setting as stored, except secrets: a masked hint for those"
    )
    webhook_secret: str | None = Field(description="A mask when set")


def reason(error: ErrorDetails, field: FieldInfo | None) -> str:
    """Say what is wrong with one property, in the words Kazoo clients and the CLI show."""
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == REFUSED:
        refused = ctx["reason"]
        # A check's own Reason travels in the context; any other text is shown as it is.
        return refused if isinstance(refused, Reason) else str(refused)
    if kind == "missing" or (kind == "string_type" and error["input"] is None):
        return Reason("is required")
    if kind == "extra_forbidden":
        return Reason("unknown property")
    if kind in ("int_type", "greater_than_equal", "less_than_equal"):
        return Reason(
            "must be an integer from %(low)s to %(high)s",
            low=constraint(field, "ge"),
            high=constraint(field, "le"),
        )
    if kind == "literal_error":
        return Reason("must be one of %(choices)s", choices=ctx["expected"])
    if kind == "bool_type":
        return Reason("must be true or false")
    if kind == "dict_type":
        return Reason("must be an object")
    if kind == "string_type":
        return Reason("must be a string")
    low, high = constraint(field, "min_length"), constraint(field, "max_length")
    if kind in ("string_too_short", "string_too_long") and low and low > 1:
        return Reason("must be %(low)s to %(high)s characters", low=low, high=high)
    if kind == "string_too_short":
        return Reason("is required")
    if kind == "string_too_long":
        return Reason("must be at most %(limit)s characters", limit=high)
    if kind == "string_pattern_mismatch":
        return Reason("has the wrong format")
    # A type no property meets once its checks have run (they refuse a wrong shape first):
    # pydantic's own words, untranslated.
    return str(error["msg"])
