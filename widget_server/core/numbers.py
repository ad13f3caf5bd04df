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
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return "•••"
    country = str(number.country_code)
    national = str(number.national_number)
    head, tail = national[:2], national[-2:]
    return f"+{country} {head} ••• ••{tail}" if len(national) > 4 else f"+{country} ••{tail}"
