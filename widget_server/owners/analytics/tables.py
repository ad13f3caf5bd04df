"""The analytics page's tables: the same rows for the page, its screen readers and CSV."""

from __future__ import annotations

from dataclasses import dataclass

from babel.dates import get_day_names
from flask_babel import format_date, format_percent, get_locale, gettext, lazy_gettext

from ...core.i18n import N_
from ..callback_view import status_name
from . import steps
from .report import BREAKDOWN_STEPS, SUBMITTED, Report
from .steps import ReasonGroup, Step

STEP_NAMES = {
    Step.SHOWN: lazy_gettext("Button shown"),
    Step.OPENED: lazy_gettext("Opened"),
    SUBMITTED: lazy_gettext("Submitted"),
    Step.ACCEPTED: lazy_gettext("Accepted"),
    Step.ANSWERED: lazy_gettext("Agent answered"),
    Step.CONNECTED: lazy_gettext("Connected"),
    Step.COMPLETED: lazy_gettext("Completed"),
    Step.FAILED: lazy_gettext("Failed"),
    Step.REFUSED: lazy_gettext("Refused"),
    Step.MISSED: lazy_gettext("Missed"),
}
GROUP_NAMES = {
    ReasonGroup.NUMBER_POLICY: lazy_gettext("Number policy"),
    ReasonGroup.LIMITS: lazy_gettext("Limits"),
    ReasonGroup.BOT_CHECKS: lazy_gettext("Bot checks"),
    ReasonGroup.BLOCKED: lazy_gettext("Blocked or opted out"),
    ReasonGroup.OUTSIDE_HOURS: lazy_gettext("Outside hours"),
    ReasonGroup.ORIGIN: lazy_gettext("Site not allowed"),
    ReasonGroup.OTHER: lazy_gettext("Other"),
}
BREAKDOWN_TITLES = {
    steps.PATH: N_("By page"),
    "utm_source": N_("By UTM source"),
    "utm_medium": N_("By UTM medium"),
    "utm_campaign": N_("By UTM campaign"),
}
BREAKDOWN_COLUMNS = {
    steps.PATH: N_("Page path"),
    "utm_source": N_("Source"),
    "utm_medium": N_("Medium"),
    "utm_campaign": N_("Campaign"),
}


@dataclass(frozen=True)
class Table:
    name: str  # its CSV file's name
    title: str
    columns: list[str]
    rows: list[list[str]]  # as shown (localised numbers and dates)
    raw: list[list[str]]  # as exported (ISO dates, plain numbers)


def step_name(step: str) -> str:
    return str(STEP_NAMES.get(step, step))


def percent(share: float | None) -> str:
    return format_percent(share, "#,##0.#%") if share is not None else "–"


def value_name(value: str) -> str:
    return gettext("Other values") if value == steps.OTHER else value


def tables(found: Report) -> dict[str, Table]:
    """Every table of the page, by name."""
    built = [funnel(found), daily(found), refused(found), ended(found), connect(found)]
    built += [breakdown(found, name) for name in BREAKDOWN_TITLES]
    built.append(week(found))
    return {table.name: table for table in built}


def _both(
    name: str, title: str, columns: list[str], rows: list[tuple[list[str], list[str]]]
) -> Table:
    return Table(name, title, columns, [shown for shown, _ in rows], [raw for _, raw in rows])


def funnel(found: Report) -> Table:
    rows = []
    for step in found.funnel:
        share = percent(step.conversion)
        raw_share = f"{step.conversion:.4f}" if step.conversion is not None else ""
        rows.append(
            (
                [step_name(step.step), str(step.count), share],
                [step.step, str(step.count), raw_share],
            )
        )
    columns = [gettext("Step"), gettext("Count"), gettext("From the step before")]
    return _both("funnel", gettext("Funnel"), columns, rows)


def daily(found: Report) -> Table:
    order = [Step.SHOWN, Step.OPENED, SUBMITTED, Step.CONNECTED]
    rows = [
        (
            [format_date(day, "medium"), *(str(counts[step]) for step in order)],
            [day.isoformat(), *(str(counts[step]) for step in order)],
        )
        for day, counts in found.daily
    ]
    columns = [gettext("Day"), *(step_name(step) for step in order)]
    return _both("daily", gettext("Day by day"), columns, rows)


def refused(found: Report) -> Table:
    rows = [
        (
            [str(GROUP_NAMES[steps.reason_group(reason)]), reason, str(count)],
            [steps.reason_group(reason).value, reason, str(count)],
        )
        for reason, count in found.refused
    ]
    columns = [gettext("Kind"), gettext("Reason"), gettext("Count")]
    return _both("refused", gettext("Refused submissions"), columns, rows)


def ended(found: Report) -> Table:
    rows = [
        ([status_name(status), str(count)], [status, str(count)]) for status, count in found.failed
    ]
    columns = [gettext("Ended as"), gettext("Count")]
    return _both("failed", gettext("Calls that did not complete"), columns, rows)


def _seconds(value: int | None) -> str:
    if value is None:
        return "–"
    minutes, seconds = divmod(value, 60)
    return (
        gettext("%(minutes)d min %(seconds)d s", minutes=minutes, seconds=seconds)
        if minutes
        else gettext("%(seconds)d s", seconds=seconds)
    )


def connect(found: Report) -> Table:
    def raw(value: int | None) -> str:
        return "" if value is None else str(value)

    rows = [
        (
            [gettext("Median"), _seconds(found.connect_median)],
            ["median_seconds", raw(found.connect_median)],
        ),
        (
            [gettext("90th percentile"), _seconds(found.connect_p90)],
            ["p90_seconds", raw(found.connect_p90)],
        ),
        (
            [gettext("Calls timed"), str(found.connects_timed)],
            ["calls_timed", str(found.connects_timed)],
        ),
    ]
    columns = [gettext("Figure"), gettext("Time from submission to connected")]
    return _both("time_to_connect", gettext("Time to connect"), columns, rows)


def breakdown(found: Report, dimension: str) -> Table:
    rows = [
        (
            [value_name(row.value), *(str(row.counts[step]) for step in BREAKDOWN_STEPS)],
            [row.value, *(str(row.counts[step]) for step in BREAKDOWN_STEPS)],
        )
        for row in found.breakdowns.get(dimension, [])
    ]
    columns = [gettext(BREAKDOWN_COLUMNS[dimension]), *(step_name(s) for s in BREAKDOWN_STEPS)]
    return _both(dimension, gettext(BREAKDOWN_TITLES[dimension]), columns, rows)


def week(found: Report) -> Table:
    names = get_day_names("wide", locale=get_locale())
    rows = []
    for weekday, hours in enumerate(found.hours):
        for hour, (answered, missed) in enumerate(hours):
            if answered or missed:
                rows.append(
                    (
                        [names[weekday], f"{hour:02d}:00", str(answered), str(missed)],
                        [str(weekday), str(hour), str(answered), str(missed)],
                    )
                )
    columns = [gettext("Day of the week"), gettext("Hour"), gettext("Answered"), gettext("Missed")]
    return _both("hours", gettext("Answered and missed by hour of the week"), columns, rows)
