"""Check the shape of JSON submissions before the domain sees them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..core.errors import BadRequest
from ..owners.widgets import CONTROL

MAX_EXTRA_KEYS = 20
MAX_EXTRA_VALUE = 256
MAX_HUMAN_CHECK = 4096  # Turnstile tokens reach 2048 characters, ALTCHA payloads ~400
KNOWN_FIELDS = {
    "phone",
    "token",
    "name",
    "page_url",
    "extra",
    "region",
    "consent",
    "website",
    "human_check",
    "scheduled_for",
}


def callback_fields(body: dict[str, Any]) -> dict[str, Any]:
    """Return Submission keyword arguments from a JSON body; raise BadRequest naming fields."""
    errors: dict[str, str] = {}
    for key in ("phone", "token"):
        if key not in body:
            errors[key] = "This field is required."
        elif not isinstance(body[key], str):
            errors[key] = "Must be a string."
    name = _optional_string(body, "name", 100, errors)
    region = _optional_string(body, "region", 2, errors)
    page_url = _optional_string(body, "page_url", 2048, errors)
    scheduled_for = _optional_string(body, "scheduled_for", 64, errors)  # checked by the domain
    if page_url and urlsplit(page_url).scheme not in ("http", "https"):
        errors["page_url"] = "Must be an http(s) URL."
    extra = body.get("extra", {})
    if not isinstance(extra, dict):
        errors["extra"] = "Must be an object."
    elif len(extra) > MAX_EXTRA_KEYS or not all(
        isinstance(k, str)
        and len(k) <= 64
        and isinstance(v, str)
        and len(v) <= MAX_EXTRA_VALUE
        and not CONTROL.search(k + v)
        for k, v in extra.items()
    ):
        errors["extra"] = (
            f"At most {MAX_EXTRA_KEYS} keys, each a string of at most 64 characters with a "
            f"string value of at most {MAX_EXTRA_VALUE}, without control characters."
        )
    consent = body.get("consent", False)
    if not isinstance(consent, bool):
        errors["consent"] = "Must be true or false."
    honeypot = body.get("website", "")
    if not isinstance(honeypot, str):
        errors["website"] = "Must be a string."
    human_check = body.get("human_check")
    if human_check is not None and (
        not isinstance(human_check, str) or len(human_check) > MAX_HUMAN_CHECK
    ):
        errors["human_check"] = f"Must be a string of at most {MAX_HUMAN_CHECK} characters."
    for key in sorted(set(body) - KNOWN_FIELDS):
        errors[key] = "Unknown field."
    if errors:
        raise BadRequest("Some fields are missing or have the wrong type.", fields=errors)
    return {
        "phone": body["phone"],
        "token": body["token"],
        "name": name,
        "region": region,
        "page_url": page_url,
        "extra": extra,
        "consent": consent,
        "honeypot": honeypot,
        "human_check": human_check,
        "scheduled_for": scheduled_for,
    }


def _optional_string(
    body: dict[str, Any], key: str, limit: int, errors: dict[str, str]
) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        errors[key] = "Must be a string."
        return None
    if len(value) > limit:
        errors[key] = f"At most {limit} characters."
        return None
    if CONTROL.search(value):
        # Control characters (NUL above all, which PostgreSQL refuses) have no place here.
        errors[key] = "Must not contain control characters."
        return None
    return value.strip() or None
