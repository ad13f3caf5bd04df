"""Phone-number helpers shared by the adapters: E.164 checks, formatting and masking."""

from __future__ import annotations

import re
from typing import Any

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from ..core.reasons import Reason
from .base import CallRequest, PermanentProviderError, ProviderConfigError

E164_RE = re.compile(r"\+[1-9][0-9]{6,14}")
# What a typed phone number may contain before it is re-formatted from the parsed number.
PHONE_INPUT_RE = re.compile(r"\+[0-9 ().-]{6,30}")
NUMBER_IN_TEXT_RE = re.compile(r"\+?\d[\d ()-]{5,}\d")
EXAMPLE = "+14155550123"


def e164(value: object, example: str = EXAMPLE) -> str:
    """Return a valid phone number re-formatted in E.164; raise ValueError saying why not."""
    message = Reason(
        "must be a valid phone number in E.164 form, e.g. %(example)s", example=example
    )
    if not isinstance(value, str) or not PHONE_INPUT_RE.fullmatch(value):
        raise ValueError(message)
    try:
        number = phonenumbers.parse(value, None)
    except NumberParseException:
        raise ValueError(message) from None
    if number.extension or not phonenumbers.is_valid_number(number):
        raise ValueError(message)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def e164_field(value: object, field: str, example: str = EXAMPLE) -> str:
    """Return `value` in E.164; raise ProviderConfigError naming `field` when it is not one."""
    try:
        return e164(value, example)
    except ValueError as exc:
        raise ProviderConfigError({field: exc.args[0]}) from None


def e164_setting(
    values: dict[str, Any], key: str, errors: dict[str, str], example: str = EXAMPLE
) -> None:
    """Re-format an optional number setting in E.164 in place, or say in `errors` why not."""
    if values.get(key) is None:
        return
    try:
        values[key] = e164(values[key], example)
    except ValueError as exc:
        errors[key] = exc.args[0]


def visitor_e164(call: CallRequest) -> str:
    """Return the visitor's E.164 number, regenerated from the parsed number."""
    try:
        formatted = phonenumbers.format_number(call.visitor, PhoneNumberFormat.E164)
    except NumberParseException:
        formatted = None
    # Anything the parser skipped (spaces, junk after the digits) means it was never E.164.
    if formatted is None or formatted != call.visitor_e164:
        raise PermanentProviderError("visitor number is not in E.164 form", cause="number_format")
    return formatted


def mask_numbers(text: str) -> str:
    """Replace every phone number quoted in `text` with "[number]", so logs keep none."""
    return NUMBER_IN_TEXT_RE.sub("[number]", text)
