"""Phone-number helpers every stage shares: masking for logs and pages, whitelist sanity.

Masking lives here rather than in the number policy because logs, status pages, emails and
the CLI all show masked numbers, and none of them should depend on the intake stage.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException

from .reasons import Reason


def whitelist_errors(patterns: object) -> list[Reason]:
    """Return what is wrong with a whitelist (empty when it can be saved)."""
    if not isinstance(patterns, list):
        return [Reason("must be a list of regular expressions")]
    errors = []
    for index, pattern in enumerate(patterns):
        if not isinstance(pattern, str) or not pattern:
            errors.append(Reason("entry %(index)s: must be a non-empty string", index=index))
            continue
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            errors.append(
                Reason(
                    "entry %(index)s: not a valid regular expression (%(error)s)",
                    index=index,
                    error=str(exc),
                )
            )
            continue
        # A pattern that admits any string (".*", "\\+?.*") would switch the whitelist off.
        if any(compiled.fullmatch(probe) for probe in ("", "x", "+0", "+999999999999999")):
            errors.append(
                Reason("entry %(index)s: matches anything; list the numbers you allow", index=index)
            )
    return errors


def mask(e164: str | None) -> str:
    """Hide most digits for logs and visitor-facing pages: +27 82 ••• ••34."""
    if not e164:
        return ""
    split = _country_and_national(e164)
    if split is None:
        return "•••"
    country, national = split
    head, tail = national[:2], national[-2:]
    return f"+{country} {head} ••• ••{tail}" if len(national) > 4 else f"+{country} ••{tail}"


def _country_and_national(e164: str) -> tuple[str, str] | None:
    digits = e164[1:]
    if e164.startswith("+") and digits.isascii() and digits.isdigit() and digits[:1] != "0":
        # What parsing would find, without parsing: the country code is the one prefix of
        # one to three digits that is a calling code (no code is a prefix of another). Every
        # accepted number is logged masked, so this runs once per submission. Leading zeros
        # of the national part (Italy's, Gabon's) are left out, as the parsed national
        # number leaves them out; anything shorter than a number is left to the parser.
        for length in (1, 2, 3):
            if int(digits[:length]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                national = digits[length:].lstrip("0")
                if len(national) >= 2:
                    return digits[:length], national
                break
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return None
    return str(number.country_code), str(number.national_number)
