"""The "from" and "to" days of a dashboard filter, read the same way on every page."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from flask_babel import gettext

NAMES = ("from", "to")


def read_days(
    args: Mapping[str, str], errors: dict[str, str], *, in_order: bool = True
) -> dict[str, date | None]:
    """Return the "from" and "to" days of `args` (None when left empty).

    A day that is not YYYY-MM-DD adds its reason to `errors` under its name; so does an end
    before the start, unless `in_order` is False (a page that fills in defaults checks after).
    """
    days: dict[str, date | None] = {}
    for name in NAMES:
        raw = (args.get(name) or "").strip()
        days[name] = None
        if raw:
            try:
                days[name] = date.fromisoformat(raw)
            except ValueError:
                errors[name] = gettext("Enter a date as YYYY-MM-DD.")
    first, last = days["from"], days["to"]
    if in_order and first and last and first > last:
        errors["to"] = end_before_start()
    return days


def end_before_start() -> str:
    return gettext("The end date is before the start date.")
