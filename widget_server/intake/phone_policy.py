"""Decide whether a visitor's number may be called, and normalise it to E.164.

Everything later (limits, storage, providers) sees only the E.164 string this module
regenerates from the parsed number, never what the visitor typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from babel import Locale, UnknownLocaleError
from flask_babel import get_locale, gettext
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType, shortnumberinfo

MAX_INPUT_LENGTH = 40

NUMBER_TYPES: dict[str, int] = {
    "fixed_line": PhoneNumberType.FIXED_LINE,
    "mobile": PhoneNumberType.MOBILE,
    "fixed_line_or_mobile": PhoneNumberType.FIXED_LINE_OR_MOBILE,
    "toll_free": PhoneNumberType.TOLL_FREE,
    "premium_rate": PhoneNumberType.PREMIUM_RATE,
    "shared_cost": PhoneNumberType.SHARED_COST,
    "voip": PhoneNumberType.VOIP,
    "personal_number": PhoneNumberType.PERSONAL_NUMBER,
    "pager": PhoneNumberType.PAGER,
    "uan": PhoneNumberType.UAN,
    "voicemail": PhoneNumberType.VOICEMAIL,
    "unknown": PhoneNumberType.UNKNOWN,
}
DEFAULT_NUMBER_TYPES = ("fixed_line", "mobile", "fixed_line_or_mobile")

# Whitelists applied to the E.164 form. "click2dial-za" admits exactly the South African
# numbers the click2dial API takes in its national (0…, 10 digits) and 27… (11 digits)
# forms; "click2dial-international" adds its 00… form (13-16 digits, so 11-14 after "+").
WHITELIST_PRESETS: dict[str, list[str]] = {
    "click2dial-za": [r"\+27[1-9]\d{8}"],
    "click2dial-international": [r"\+27[1-9]\d{8}", r"\+[1-9]\d{10,13}"],
}


class PolicyRefusal(ValueError):
    """The number may not be called; `reason` is a stable code, `message` is for the visitor."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class NumberPolicy:
    default_region: str
    allowed_regions: Sequence[str]
    allowed_types: Sequence[str] = DEFAULT_NUMBER_TYPES
    whitelist: Sequence[str] = ()


@dataclass(frozen=True)
class AcceptedNumber:
    e164: str
    region: str
    number_type: str


def check(raw: object, policy: NumberPolicy, region_hint: str | None = None) -> AcceptedNumber:
    """Parse what the visitor typed and apply the policy; raise PolicyRefusal when refused."""
    if not isinstance(raw, str) or not raw.strip():
        raise PolicyRefusal("missing", gettext("Enter your phone number."))
    if len(raw) > MAX_INPUT_LENGTH:
        raise PolicyRefusal("unparsable", gettext("That is too long to be a phone number."))
    parse_region: str = (
        region_hint
        if region_hint and region_hint in policy.allowed_regions
        else policy.default_region
    )
    try:
        number = phonenumbers.parse(raw, parse_region)
    except NumberParseException:
        raise PolicyRefusal("unparsable", _example_message(parse_region)) from None
    if _is_emergency(raw, number, parse_region):
        raise PolicyRefusal(
            "emergency", gettext("Emergency and service numbers cannot be called back.")
        )
    if not phonenumbers.is_valid_number(number):
        if shortnumberinfo.is_valid_short_number(number):
            raise PolicyRefusal(
                "short_number", gettext("Short service numbers cannot be called back.")
            )
        raise PolicyRefusal("invalid", _example_message(parse_region))
    # The region comes from the number's own ranges: +1 covers the US and also Caribbean
    # states with high-cost ranges, so the calling code alone decides nothing.
    region = phonenumbers.region_code_for_number(number)
    if region is None or region not in policy.allowed_regions:
        raise PolicyRefusal("region_not_allowed", gettext("We can't call numbers in that country."))
    type_name = _type_name(phonenumbers.number_type(number))
    if type_name not in (policy.allowed_types or DEFAULT_NUMBER_TYPES):
        raise PolicyRefusal("type_not_allowed", gettext("We can't call this kind of number."))
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if policy.whitelist and not any(p.fullmatch(e164) for p in compile_whitelist(policy.whitelist)):
        raise PolicyRefusal("not_whitelisted", gettext("We can't call this number."))
    return AcceptedNumber(e164=e164, region=region, number_type=type_name)


def _is_emergency(raw: str, number: phonenumbers.PhoneNumber, region: str) -> bool:
    national = str(number.national_number)
    digits = "".join(ch for ch in raw if ch.isdigit())
    return any(
        shortnumberinfo.is_emergency_number(candidate, region)
        for candidate in (national, digits)
        if candidate and len(candidate) <= 6
    )


def _type_name(number_type: int) -> str:
    for name, value in NUMBER_TYPES.items():
        if value == number_type:
            return name
    return "unknown"


def _example_message(region: str) -> str:
    shown = _example_shown(region)
    if shown is None:
        return gettext("Enter a valid phone number.")
    return gettext("Enter a valid phone number, for example %(example)s.", example=shown)


@lru_cache(maxsize=512)  # one per region a policy names; parsing the example costs more
def _example_shown(region: str) -> str | None:  # than the refusal it is shown in
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    if example is None:
        return None
    return ltr(phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL))


def ltr(number: str) -> str:
    """Isolate a number as left-to-right text, so right-to-left text around it keeps it whole.

    Unicode isolates (LRI…PDI) rather than markup: the text is also sent as JSON and shown
    with textContent, where a <bdi> would not survive.
    """
    return f"\u2066{number}\u2069"


def example_number(region: str) -> str:
    """A mobile number of `region` as its people write it, for the field's placeholder."""
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    if example is None:
        return ""
    return phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL)


def flag(region: str) -> str:
    """The region's flag emoji (two regional indicator letters)."""
    return "".join(chr(0x1F1E6 + ord(letter) - ord("A")) for letter in region.upper())


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def compile_whitelist(patterns: Iterable[str]) -> list[re.Pattern[str]]:
    return [_compile(p) for p in patterns]


def region_choices(regions: Iterable[str]) -> list[tuple[str, str]]:
    """List (region, "South Africa +27") pairs for a country chooser, in the visitor's language."""
    names = _territory_names()
    # The flag goes last: a select's type-to-search matches from the first character.
    return [
        (
            region,
            f"{names.get(region, region)} {ltr(f'+{phonenumbers.country_code_for_region(region)}')}"
            f" {flag(region)}",
        )
        for region in regions
    ]


def _territory_names() -> dict[str, str]:
    # CLDR's country names (shipped with Babel) in the current request's language.
    try:
        return dict(Locale.parse(str(get_locale() or "en")).territories)
    except (UnknownLocaleError, ValueError):
        return {}


def valid_region(region: object) -> bool:
    return isinstance(region, str) and region in phonenumbers.SUPPORTED_REGIONS
