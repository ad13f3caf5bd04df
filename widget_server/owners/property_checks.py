"""The checks of widget properties too intricate for field constraints, one per property.

Each returns the reason a value cannot be saved, or None; `widget_properties` runs them.
"""

from __future__ import annotations

import re
import zoneinfo

from flask import current_app, has_app_context

from .. import providers
from ..core import egress
from ..core.numbers import whitelist_errors
from ..core.origins import normalise_origin
from ..core.text import has_control, has_unpaired_surrogate
from ..intake import phone_policy

EXTENSION = r"\+?[0-9*#]{2,20}|sips?:[A-Za-z0-9._~+\-]+@[A-Za-z0-9.\-]+(:\d{1,5})?"
DEPARTMENT_KEY = r"[a-z0-9][a-z0-9_-]{0,31}"
MAX_AGENTS = 20
MAX_DEPARTMENTS = 10
AGENT_KEYS = ("extension", "label", "business_hours")
DEPARTMENT_KEYS = ("key", "names", "agents", "business_hours")
NAME_LIMIT = 64
LIMIT_KEYS = ("per_number", "per_prefix", "distinct_numbers_per_ip", "per_widget")
MAX_ORIGINS = 50
MAX_NOTIFY_EMAILS = 10
# Deliberately simple: one address per item, no display names, nothing that could add a
# header (commas, angle brackets, line breaks); the mail server decides the rest.
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


def region(value: object) -> str | None:
    return None if phone_policy.valid_region(value) else "not a region code"


def regions(value: object) -> str | None:
    if not isinstance(value, list) or not all(phone_policy.valid_region(r) for r in value):
        return "must be a list of ISO 3166 region codes such as ZA or US"
    return None


def number_types(value: object) -> str | None:
    if not isinstance(value, list) or not all(
        isinstance(t, str) and t in phone_policy.NUMBER_TYPES for t in value
    ):
        return "must be a list of: " + ", ".join(phone_policy.NUMBER_TYPES)
    return None


def origins(value: object) -> str | None:
    if not isinstance(value, list) or len(value) > MAX_ORIGINS:
        return "must be a list of origins such as https://www.example.com"
    bad = [o for o in value if normalise_origin(o) is None]
    return f"not an origin (scheme://host[:port]): {bad[0]!r}" if bad else None


def whitelist(value: object) -> str | None:
    errors = whitelist_errors(value)
    return "; ".join(errors) if errors else None


def time_zone(value: object) -> str | None:
    try:
        zoneinfo.ZoneInfo(str(value))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "must be an IANA time zone such as Africa/Johannesburg"
    return None


def provider(value: object) -> str | None:
    if isinstance(value, str) and value in providers.REGISTRY:
        return None
    return "must be one of " + ", ".join(sorted(providers.REGISTRY))


def secondary_provider(value: object) -> str | None:
    if value is None:
        return None
    return provider(value)


def rate_limits(value: object) -> str | None:
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


def webhook_url(value: object) -> str | None:
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


def printable_secret(value: str | None) -> str | None:
    if value is not None and (not value.isprintable() or value != value.strip()):
        return "must be printable characters without surrounding spaces"
    return None


def notify_emails(value: object) -> str | None:
    if not isinstance(value, list) or len(value) > MAX_NOTIFY_EMAILS:
        return f"must be a list of at most {MAX_NOTIFY_EMAILS} email addresses"
    for item in value:
        if not isinstance(item, str) or len(item) > 254 or not EMAIL.fullmatch(item):
            return f"not an email address such as owner@example.com: {item!r}"
    return None


def agents(value: object) -> str | None:
    """Check a list of agents' shape; their hours and the provider's view come later."""
    if not isinstance(value, list) or len(value) > MAX_AGENTS:
        return f"must be a list of at most {MAX_AGENTS} agents"
    for index, agent in enumerate(value):
        if not isinstance(agent, dict):
            return f'{index}: must be an object such as {{"extension": "1001"}}'
        problem = _agent(agent)
        if problem:
            return f"{index}.{problem}"
    return None


def _agent(agent: dict[str, object]) -> str | None:
    unknown = sorted(set(agent) - set(AGENT_KEYS))
    if unknown:
        return f"{unknown[0]}: unknown key; use " + ", ".join(AGENT_KEYS)
    extension = agent.get("extension")
    if not isinstance(extension, str) or not re.fullmatch(EXTENSION, extension):
        return "extension: must be an extension, a number or a SIP URI"
    label = agent.get("label")
    if label is not None and not _plain_name(label):
        return f"label: must be text of 1 to {NAME_LIMIT} characters"
    if "business_hours" in agent and not isinstance(agent["business_hours"], dict):
        return "business_hours: must be an object"
    return None


def departments(value: object) -> str | None:
    """Check departments' shape: a unique key, a name per language, agents of their own."""
    if not isinstance(value, list) or len(value) > MAX_DEPARTMENTS:
        return f"must be a list of at most {MAX_DEPARTMENTS} departments"
    seen: set[str] = set()
    for index, department in enumerate(value):
        if not isinstance(department, dict):
            return f"{index}: must be an object with key, names and agents"
        problem = _department(department, seen)
        if problem:
            return f"{index}.{problem}"
    return None


def _department(department: dict[str, object], seen: set[str]) -> str | None:
    unknown = sorted(set(department) - set(DEPARTMENT_KEYS))
    if unknown:
        return f"{unknown[0]}: unknown key; use " + ", ".join(DEPARTMENT_KEYS)
    key = department.get("key")
    if not isinstance(key, str) or not re.fullmatch(DEPARTMENT_KEY, key):
        return "key: must be 1 to 32 lower-case letters, digits, - or _"
    if key in seen:
        return f"key: {key!r} is used twice"
    seen.add(key)
    names = department.get("names")
    if (
        not isinstance(names, dict)
        or not names
        or not all(isinstance(lang, str) and _plain_name(name) for lang, name in names.items())
    ):
        return 'names: must be an object of names by language, such as {"en": "Sales"}'
    listed = department.get("agents")
    if not isinstance(listed, list) or not listed:
        return "agents: must list at least one agent"
    problem = agents(listed)
    if problem:
        return f"agents.{problem}"
    if "business_hours" in department and not isinstance(department["business_hours"], dict):
        return "business_hours: must be an object"
    return None


def _plain_name(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value.strip()) <= NAME_LIMIT
        and not has_control(value)
        and not has_unpaired_surrogate(value)
    )
