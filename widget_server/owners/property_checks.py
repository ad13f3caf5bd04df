"""The checks of widget properties too intricate for field constraints, one per property.

Each returns the reason a value cannot be saved, or None; `widget_properties` runs them.
"""

from __future__ import annotations

import re
import zoneinfo

from flask import current_app, has_app_context

from .. import providers
from ..core import egress
from ..core.i18n import N_
from ..core.numbers import whitelist_errors
from ..core.origins import normalise_origin
from ..core.reasons import Reason
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
# Templates more than one check says.
OBJECT = Reason("must be an object")
ONE_OF = N_("must be one of %(choices)s")
UNKNOWN_KEY = N_("unknown key; use %(keys)s")
NOT_AN_ORIGIN = N_("not an origin (scheme://host[:port]): %(origin)s")
# Deliberately simple: one address per item, no display names, nothing that could add a
# header (commas, angle brackets, line breaks); the mail server decides the rest.
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


def region(value: object) -> Reason | None:
    return None if phone_policy.valid_region(value) else Reason("not a region code")


def regions(value: object) -> Reason | None:
    if not isinstance(value, list) or not all(phone_policy.valid_region(r) for r in value):
        return Reason("must be a list of ISO 3166 region codes such as ZA or US")
    return None


def number_types(value: object) -> Reason | None:
    if not isinstance(value, list) or not all(
        isinstance(t, str) and t in phone_policy.NUMBER_TYPES for t in value
    ):
        return Reason(
            "must be a list of: %(choices)s", choices=", ".join(phone_policy.NUMBER_TYPES)
        )
    return None


def origins(value: object) -> Reason | None:
    if not isinstance(value, list) or len(value) > MAX_ORIGINS:
        return Reason("must be a list of origins such as https://www.example.com")
    bad = [o for o in value if normalise_origin(o) is None]
    return Reason(NOT_AN_ORIGIN, origin=repr(bad[0])) if bad else None


def whitelist(value: object) -> Reason | None:
    errors = whitelist_errors(value)
    return Reason.joined(errors) if errors else None


def time_zone(value: object) -> Reason | None:
    try:
        zoneinfo.ZoneInfo(str(value))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return Reason("must be an IANA time zone such as Africa/Johannesburg")
    return None


def provider(value: object) -> Reason | None:
    if isinstance(value, str) and value in providers.REGISTRY:
        return None
    return Reason(ONE_OF, choices=", ".join(sorted(providers.REGISTRY)))


def secondary_provider(value: object) -> Reason | None:
    if value is None:
        return None
    return provider(value)


def rate_limits(value: object) -> Reason | None:
    from limits import parse_many

    if not isinstance(value, dict) or set(value) - set(LIMIT_KEYS):
        return Reason("must be an object with keys among %(keys)s", keys=", ".join(LIMIT_KEYS))
    for key, limit in value.items():
        try:
            if not isinstance(limit, str) or not parse_many(limit):
                raise ValueError(limit)
        except ValueError:
            return Reason("not a rate limit such as '1 per 10 minutes;3 per day'").at(key)
    return None


def webhook_url(value: object) -> Reason | None:
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


def printable_secret(value: str | None) -> Reason | None:
    if value is not None and (not value.isprintable() or value != value.strip()):
        return Reason("must be printable characters without surrounding spaces")
    return None


def notify_emails(value: object) -> Reason | None:
    if not isinstance(value, list) or len(value) > MAX_NOTIFY_EMAILS:
        return Reason(
            "must be a list of at most %(count)s email addresses", count=MAX_NOTIFY_EMAILS
        )
    for item in value:
        if not isinstance(item, str) or len(item) > 254 or not EMAIL.fullmatch(item):
            return Reason(
                "not an email address such as owner@example.com: %(item)s", item=repr(item)
            )
    return None


def agents(value: object) -> Reason | None:
    """Check a list of agents' shape; their hours and the provider's view come later."""
    if not isinstance(value, list) or len(value) > MAX_AGENTS:
        return Reason("must be a list of at most %(count)s agents", count=MAX_AGENTS)
    for index, agent in enumerate(value):
        if not isinstance(agent, dict):
            return Reason('must be an object such as {"extension": "1001"}').at(index)
        problem = _agent(agent)
        if problem:
            return problem.at(index)
    return None


def _agent(agent: dict[str, object]) -> Reason | None:
    unknown = sorted(set(agent) - set(AGENT_KEYS))
    if unknown:
        return Reason(UNKNOWN_KEY, keys=", ".join(AGENT_KEYS)).at(unknown[0])
    extension = agent.get("extension")
    if not isinstance(extension, str) or not re.fullmatch(EXTENSION, extension):
        return Reason("must be an extension, a number or a SIP URI").at("extension")
    label = agent.get("label")
    if label is not None and not _plain_name(label):
        return Reason("must be text of 1 to %(limit)s characters", limit=NAME_LIMIT).at("label")
    if "business_hours" in agent and not isinstance(agent["business_hours"], dict):
        return Reason(OBJECT).at("business_hours")
    return None


def departments(value: object) -> Reason | None:
    """Check departments' shape: a unique key, a name per language, agents of their own."""
    if not isinstance(value, list) or len(value) > MAX_DEPARTMENTS:
        return Reason("must be a list of at most %(count)s departments", count=MAX_DEPARTMENTS)
    seen: set[str] = set()
    for index, department in enumerate(value):
        if not isinstance(department, dict):
            return Reason("must be an object with key, names and agents").at(index)
        problem = _department(department, seen)
        if problem:
            return problem.at(index)
    return None


def _department(department: dict[str, object], seen: set[str]) -> Reason | None:
    unknown = sorted(set(department) - set(DEPARTMENT_KEYS))
    if unknown:
        return Reason(UNKNOWN_KEY, keys=", ".join(DEPARTMENT_KEYS)).at(unknown[0])
    key = department.get("key")
    if not isinstance(key, str) or not re.fullmatch(DEPARTMENT_KEY, key):
        return Reason("must be 1 to 32 lower-case letters, digits, - or _").at("key")
    if key in seen:
        return Reason("%(key)s is used twice", key=repr(key)).at("key")
    seen.add(key)
    names = department.get("names")
    if (
        not isinstance(names, dict)
        or not names
        or not all(isinstance(lang, str) and _plain_name(name) for lang, name in names.items())
    ):
        return Reason('must be an object of names by language, such as {"en": "Sales"}').at("names")
    listed = department.get("agents")
    if not isinstance(listed, list) or not listed:
        return Reason("must list at least one agent").at("agents")
    problem = agents(listed)
    if problem:
        return problem.at("agents")
    if "business_hours" in department and not isinstance(department["business_hours"], dict):
        return Reason(OBJECT).at("business_hours")
    return None


def _plain_name(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value.strip()) <= NAME_LIMIT
        and not has_control(value)
        and not has_unpaired_surrogate(value)
    )
