"""Which widget and days the analytics page shows, read from its query string."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext

from ...core.models import Widget
from ..date_range import end_before_start, read_days
from .report import MAX_RANGE_DAYS

DEFAULT_DAYS = 30


class PeriodInvalid(ValueError):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("invalid period")
        self.fields = fields


@dataclass(frozen=True)
class Period:
    widget: Widget | None  # None: every widget of the account
    first: date
    last: date

    def args(self) -> dict[str, str]:
        """The query string that shows this period again (the CSV links carry it)."""
        found = {"from": self.first.isoformat(), "to": self.last.isoformat()}
        if self.widget is not None:
            found["widget"] = self.widget.id
        return found


def default(today: date) -> Period:
    return Period(None, today - timedelta(days=DEFAULT_DAYS - 1), today)


def parse(args: Mapping[str, str], widgets: Sequence[Widget], today: date) -> Period:
    """Read widget, from and to; raise PeriodInvalid naming each field that is not valid.

    Missing dates default to the last 30 days up to `today`. A widget of another account
    is refused like a made-up one.
    """
    errors: dict[str, str] = {}
    widget_id = (args.get("widget") or "").strip()
    widget = next((w for w in widgets if w.id == widget_id), None)
    if widget_id and widget is None:
        errors["widget"] = gettext("Choose a widget from the list.")
    days = read_days(args, errors, in_order=False)
    last = days["to"] or today
    first = days["from"] or last - timedelta(days=DEFAULT_DAYS - 1)
    if not errors and first > last:
        errors["to"] = end_before_start()
    elif not errors and (last - first).days + 1 > MAX_RANGE_DAYS:
        errors["from"] = gettext("Choose at most %(days)d days.", days=MAX_RANGE_DAYS)
    if errors:
        raise PeriodInvalid(errors)
    return Period(widget, first, last)
