"""Read the daily rows and their monthly sums into what the analytics page shows."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ...core.models import AnalyticsDay, AnalyticsMonth, Widget
from . import steps
from .steps import Step

# The funnel, in order; "submitted" is every submission, accepted or refused.
SUBMITTED = "submitted"
FUNNEL = (Step.SHOWN, Step.OPENED, SUBMITTED, Step.ACCEPTED, Step.CONNECTED, Step.COMPLETED)
DAILY = (Step.SHOWN, Step.OPENED, SUBMITTED, Step.CONNECTED)
BREAKDOWN_STEPS = (Step.SHOWN, Step.OPENED, Step.ACCEPTED, Step.CONNECTED)
BREAKDOWNS = (steps.PATH, *steps.UTM_DIMENSIONS)
MAX_RANGE_DAYS = 366

Spans = tuple[date, date]  # a first and a last day (or month), both included


@dataclass(frozen=True)
class FunnelStep:
    step: str
    count: int
    conversion: float | None  # from the step before, None for the first or after a 0


@dataclass(frozen=True)
class Breakdown:
    value: str
    counts: dict[str, int]  # per BREAKDOWN_STEPS


@dataclass
class Report:
    first: date
    last: date
    funnel: list[FunnelStep] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    daily: list[tuple[date, dict[str, int]]] = field(default_factory=list)
    refused: list[tuple[str, int]] = field(default_factory=list)  # reason, count; most first
    failed: list[tuple[str, int]] = field(default_factory=list)  # ending status, count
    breakdowns: dict[str, list[Breakdown]] = field(default_factory=dict)
    connect_median: int | None = None  # seconds
    connect_p90: int | None = None
    connects_timed: int = 0
    # [weekday][hour] -> (answered, missed), Monday first, in the widgets' time zones.
    hours: list[list[tuple[int, int]]] = field(default_factory=list)


def report(
    session: Session, account_id: str, widget_id: str | None, first: date, last: date
) -> Report:
    """Sum the account's (or one of its widgets') rows from `first` to `last`.

    The day-by-day totals come from the daily rows (a few per day, kept apart by their
    index); the breakdowns over the range from the monthly sums for each whole month in
    it and from the daily rows for the days before and after them. So a long range costs
    about what its two partial months do, however many months lie between.
    """
    # The ids first, as a list: each is then a range of the primary key (widget, day),
    # where SQLite would scan the whole table for an IN (subquery).
    widget_ids = list(session.scalars(select(Widget.id).where(Widget.account_id == account_id)))
    if widget_id is not None:
        widget_ids = [one for one in widget_ids if one == widget_id]
    found = Report(first, last)
    # Plain rows through the connection: the ORM's result handling costs more than these
    # sums of a few thousand rows do to read.
    connection = session.connection()
    per_day: dict[date, Counter[str]] = defaultdict(Counter)
    for day, step, count in connection.execute(
        select(AnalyticsDay.day, AnalyticsDay.step, func.sum(AnalyticsDay.count))
        .where(AnalyticsDay.widget_id.in_(widget_ids), AnalyticsDay.dimension == steps.TOTAL)
        .where(AnalyticsDay.day.between(first, last))
        .group_by(AnalyticsDay.day, AnalyticsDay.step)
    ):
        per_day[day][step] += int(count)
    split: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    months, days = _whole_months(first, last)
    queries = [_breakdowns(AnalyticsDay, AnalyticsDay.day, widget_ids, *span) for span in days]
    if months is not None:
        queries.append(_breakdowns(AnalyticsMonth, AnalyticsMonth.month, widget_ids, *months))
    for query in queries:
        for step, dimension, value, count in connection.execute(query):
            split[(step, dimension)][value] += int(count)
    totals: Counter[str] = Counter()
    for counts in per_day.values():
        counts[SUBMITTED] = counts[Step.ACCEPTED] + counts[Step.REFUSED]
        totals.update(counts)
    found.totals = dict(totals)
    found.funnel = _funnel(totals)
    found.daily = [
        (day, {step: per_day[day][step] for step in DAILY}) for day in _days(first, last)
    ]
    found.refused = _most_first(split[(Step.REFUSED, steps.REASON)])
    found.failed = _most_first(split[(Step.FAILED, steps.REASON)])
    found.breakdowns = {name: _breakdown(split, name) for name in BREAKDOWNS}
    seconds = split[(Step.CONNECTED, steps.SECONDS)]
    found.connects_timed = sum(seconds.values())
    found.connect_median = percentile(seconds, 0.5)
    found.connect_p90 = percentile(seconds, 0.9)
    found.hours = [
        [
            (
                split[(Step.ANSWERED, steps.HOUR)][f"{weekday}-{hour}"],
                split[(Step.MISSED, steps.HOUR)][f"{weekday}-{hour}"],
            )
            for hour in range(24)
        ]
        for weekday in range(7)
    ]
    return found


def _breakdowns(
    model: type[AnalyticsDay] | type[AnalyticsMonth],
    key: Any,
    widget_ids: list[str],
    first: date,
    last: date,
) -> Select[str, str, str, int]:
    """The breakdown counts (every dimension but the total) of `model`'s rows in a span."""
    return (
        select(model.step, model.dimension, model.value, func.sum(model.count))
        .where(model.widget_id.in_(widget_ids), model.dimension != steps.TOTAL)
        .where(key.between(first, last))
        .group_by(model.step, model.dimension, model.value)
    )


def _whole_months(first: date, last: date) -> tuple[Spans | None, list[Spans]]:
    """The first days of the first and last whole months from `first` to `last` (None when
    there is none), and the spans of days before and after them (all of it when none)."""
    start = first if first.day == 1 else _next_month(first)
    after = _next_month(last)
    end = after if after - timedelta(days=1) == last else last.replace(day=1)
    # Whole months are those starting at or after `start` and ending before `end`.
    if start >= end:
        return None, [(first, last)]
    edges = [(first, start - timedelta(days=1)), (end, last)]
    return (start, _previous_month(end)), [(a, b) for a, b in edges if a <= b]


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def _most_first(counts: Counter[str]) -> list[tuple[str, int]]:
    # Ties by name: the rows come from several queries, whose order must not show.
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _funnel(totals: Counter[str]) -> list[FunnelStep]:
    funnel: list[FunnelStep] = []
    before: int | None = None
    for step in FUNNEL:
        count = totals[step]
        conversion = count / before if before else None
        funnel.append(FunnelStep(str(step), count, conversion))
        before = count
    return funnel


def _breakdown(split: dict[tuple[str, str], Counter[str]], dimension: str) -> list[Breakdown]:
    values: Counter[str] = Counter()
    for step in BREAKDOWN_STEPS:
        values.update(split[(step, dimension)])
    return [
        Breakdown(value, {step: split[(step, dimension)][value] for step in BREAKDOWN_STEPS})
        for value, _ in sorted(values.items(), key=lambda item: (-item[1], item[0]))
    ]


def percentile(buckets: Counter[str], share: float) -> int | None:
    """The smallest bucket (seconds) at or below which `share` of the counts fall."""
    total = sum(buckets.values())
    if not total:
        return None
    seen = 0
    for seconds in sorted(int(value) for value in buckets if value.isdigit()):
        seen += buckets[str(seconds)]
        if seen >= share * total:
            return seconds
    return None


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
