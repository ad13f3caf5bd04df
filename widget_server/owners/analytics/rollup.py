"""Flush the tally and roll the call events up into the daily rows and their months.

Both add to a row's count with one upsert per row (INSERT ... ON CONFLICT DO UPDATE
SET count = count + excluded.count), so several processes flushing at once each add
their own counts and none is lost or counted twice. The call events are read past a
watermark, under the watermark row's lock, in the transaction that adds their counts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ...core.models import (
    AnalyticsDay,
    AnalyticsMonth,
    AnalyticsWatermark,
    Callback,
    CallEvent,
    Widget,
)
from ...core.statuses import Status, is_silenced
from . import steps
from .steps import Step
from .tally import Key, Tally

DAYS = cast(Table, AnalyticsDay.__table__)
MONTHS = cast(Table, AnalyticsMonth.__table__)
WATERMARKS = cast(Table, AnalyticsWatermark.__table__)
EVENTS_WATERMARK = "call_events"
BATCH = 5000


class Row(NamedTuple):
    widget_id: str
    day: date
    step: str
    dimension: str
    value: str


def add_counts(session: Session, counts: Counter[Row]) -> None:
    """Add counts to the daily rows and to their months' rows (created at 0 when missing),
    in the open transaction: a month's row is always the exact sum of its days'."""
    if not counts:
        return
    months: Counter[tuple[str, date, str, str, str]] = Counter()
    for row, count in counts.items():
        months[(row.widget_id, month_of(row.day), row.step, row.dimension, row.value)] += count
    _upsert(session, DAYS, [(*row, count) for row, count in counts.items()])
    _upsert(session, MONTHS, [(*key, count) for key, count in months.items()])


def month_of(day: date) -> date:
    """The first day of `day`'s month: the key of its row in the monthly sums."""
    return day.replace(day=1)


def _upsert(session: Session, table: Table, rows: list[tuple[Any, ...]]) -> None:
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    names = [column.name for column in table.primary_key.columns] + ["count"]
    # In key order, so two flushes writing the same rows lock them in the same order.
    values = [dict(zip(names, row, strict=True)) for row in sorted(rows) if row[-1]]
    for start in range(0, len(values), 1000):
        statement = insert(table).values(values[start : start + 1000])
        session.execute(
            statement.on_conflict_do_update(
                index_elements=names[:-1],
                set_={"count": table.c.count + statement.excluded.count},
            )
        )


def flush_tally(session: Session, tally: Tally) -> int:
    """Move the tally's counts into the daily rows; return how many events were flushed."""
    counts = tally.drain()
    if not counts:
        return 0
    try:
        rows = _rows_for(session, counts)
        add_counts(session, _capped(session, rows))
        session.commit()
    except Exception:
        session.rollback()
        tally.restore(counts)  # flushed by the next run instead
        raise
    return sum(count for key, count in counts.items() if key.dimension == steps.TOTAL)


def _rows_for(session: Session, counts: Counter[Key]) -> Counter[Row]:
    zones = dict(
        session.execute(
            select(Widget.id, Widget.time_zone).where(
                Widget.id.in_({key.widget_id for key in counts})
            )
        ).all()
    )
    rows: Counter[Row] = Counter()
    for key, count in counts.items():
        if key.widget_id not in zones:
            continue  # deleted since: its counts went with it
        day = steps.local_day(key.moment(), zones[key.widget_id])
        rows[Row(key.widget_id, day, key.step, key.dimension, key.value)] += count
    return rows


def _capped(session: Session, rows: Counter[Row]) -> Counter[Row]:
    """Count breakdown values past a widget's MAX_VALUES_PER_DAY that day as OTHER."""
    capped_dimensions = (steps.PATH, *steps.UTM_DIMENSIONS)
    pairs = {(row.widget_id, row.day) for row in rows if row.dimension in capped_dimensions}
    if not pairs:
        return rows
    known: dict[tuple[str, date, str], set[str]] = defaultdict(set)
    stored = session.execute(
        select(DAYS.c.widget_id, DAYS.c.day, DAYS.c.dimension, DAYS.c.value)
        .where(tuple_(DAYS.c.widget_id, DAYS.c.day).in_(list(pairs)))
        .where(DAYS.c.dimension.in_(capped_dimensions))
        .distinct()
    )
    for widget_id, day, dimension, value in stored:
        known[(widget_id, day, dimension)].add(value)
    capped: Counter[Row] = Counter()
    for row, count in sorted(rows.items(), key=lambda item: -item[1]):
        if row.dimension in capped_dimensions:
            values = known[(row.widget_id, row.day, row.dimension)]
            if row.value not in values:
                if len(values) >= steps.MAX_VALUES_PER_DAY:
                    row = row._replace(value=steps.OTHER)
                values.add(row.value)
        capped[row] += count
    return capped


class Seen(NamedTuple):
    """One applied call event with what its callback says about it."""

    id: int
    callback_id: str
    status: str
    occurred_at: datetime
    created_at: datetime
    scheduled_for: datetime | None
    final_status: str
    final_cause: str | None
    page_url: str | None
    widget_id: str
    time_zone: str


ANSWERED = frozenset({Status.AGENT_ANSWERED, Status.VISITOR_RINGING, Status.CONNECTED})
FIRST = frozenset({Status.QUEUED, Status.SCHEDULED})
ENDED_UNCOMPLETED = frozenset(
    {
        Status.FAILED,
        Status.NO_ANSWER,
        Status.BUSY,
        Status.CANCELED,
        Status.REJECTED,
        Status.VISITOR_VOICEMAIL,
    }
)


def roll_up_events(session: Session, settled_before: datetime, batch: int = BATCH) -> int:
    """Count the call events stored since the last run; return how many were read.

    Events newer than `settled_before` wait for the next run: on PostgreSQL an event id is
    taken before its transaction commits, so a slightly older id may still appear.
    """
    read = 0
    while True:
        last = _locked_watermark(session)
        events = _events_after(session, last, batch)
        settled = [event for event in events if event.occurred_at <= settled_before]
        if len(settled) < len(events):
            # Stop at the first unsettled event: the watermark never passes one.
            first_unsettled = next(e.id for e in events if e.occurred_at > settled_before)
            settled = [event for event in settled if event.id < first_unsettled]
        if not settled:
            session.rollback()
            return read
        add_counts(session, _count(session, settled))
        session.execute(
            WATERMARKS.update()
            .where(WATERMARKS.c.name == EVENTS_WATERMARK)
            .values(last_id=settled[-1].id)
        )
        session.commit()
        read += len(settled)
        if len(events) < batch or len(settled) < len(events):
            return read


def _locked_watermark(session: Session) -> int:
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(WATERMARKS).values(name=EVENTS_WATERMARK, last_id=0).on_conflict_do_nothing()
    )
    # Held until the commit: two jobs running at once take turns and never count twice
    # (SQLite's transactions already take the write lock when they begin).
    last = session.scalar(
        select(WATERMARKS.c.last_id).where(WATERMARKS.c.name == EVENTS_WATERMARK).with_for_update()
    )
    return int(last or 0)


def _events_after(session: Session, last: int, batch: int) -> list[Seen]:
    found = session.execute(
        select(
            CallEvent.id,
            CallEvent.callback_id,
            CallEvent.status,
            CallEvent.occurred_at,
            Callback.created_at,
            Callback.scheduled_for,
            Callback.status,
            Callback.cause,
            Callback.page_url,
            Widget.id,
            Widget.time_zone,
        )
        .join(Callback, Callback.id == CallEvent.callback_id)
        .join(Widget, Widget.id == Callback.widget_id)
        .where(CallEvent.id > last, CallEvent.applied.is_(True))
        .order_by(CallEvent.id)
        .limit(batch)
    )
    return [Seen(*row) for row in found]


def _count(session: Session, events: list[Seen]) -> Counter[Row]:
    ended = [e.callback_id for e in events if e.status in _ENDS]
    answered = _reached(session, ended, ANSWERED)
    connected = _reached(session, ended, {Status.CONNECTED})
    rows: Counter[Row] = Counter()
    for event in events:
        if is_silenced(event.final_status, event.final_cause):
            # Refused in silence (a bot, a blocked number): a refusal, never accepted.
            if event.status in FIRST:
                _add(
                    rows, event, Step.REFUSED, {steps.REASON: steps.reason_value(event.final_cause)}
                )
            continue
        reached = (event.callback_id in answered, event.callback_id in connected)
        for step, dimensions in _steps_of(event, *reached):
            _add(rows, event, step, dimensions)
    return rows


_ENDS = frozenset({Status.COMPLETED, *ENDED_UNCOMPLETED})


def _steps_of(
    event: Seen, was_answered: bool, was_connected: bool
) -> Iterable[tuple[Step, dict[str, str]]]:
    page = steps.page_dimensions(event.page_url)
    if event.status in FIRST:
        yield Step.ACCEPTED, page
    elif event.status == Status.AGENT_ANSWERED:
        yield Step.ANSWERED, {}
    elif event.status == Status.CONNECTED:
        since = event.scheduled_for or event.created_at
        seconds = (event.occurred_at - since).total_seconds()
        yield Step.CONNECTED, page | {steps.SECONDS: str(steps.connect_bucket(seconds))}
    if event.status in _ENDS:
        if event.status == Status.COMPLETED:
            if not was_connected:
                # Completed comes after connected: its connect was reported after its end
                # (providers' events can arrive out of order, and a late one is not
                # applied) or never. It was connected all the same; no time is known.
                yield Step.CONNECTED, page
            yield Step.COMPLETED, page
        else:
            yield Step.FAILED, {steps.REASON: event.status}
        hour = {steps.HOUR: steps.hour_of_week(event.created_at, event.time_zone)}
        yield (Step.ANSWERED if was_answered else Step.MISSED), hour


def _add(rows: Counter[Row], event: Seen, step: Step, dimensions: dict[str, str]) -> None:
    day = steps.local_day(event.created_at, event.time_zone)
    if step != Step.ANSWERED or steps.HOUR not in dimensions:
        rows[Row(event.widget_id, day, step, steps.TOTAL, "")] += 1
    for dimension, value in dimensions.items():
        rows[Row(event.widget_id, day, step, dimension, value)] += 1


def _reached(session: Session, callback_ids: list[str], statuses: Iterable[str]) -> set[str]:
    """The callbacks among these that were in one of `statuses` at some point."""
    if not callback_ids:
        return set()
    return set(
        session.scalars(
            select(CallEvent.callback_id)
            .where(CallEvent.callback_id.in_(callback_ids))
            .where(CallEvent.status.in_(list(statuses)), CallEvent.applied.is_(True))
            .distinct()
        )
    )


def run(session: Session, tally: Tally, now: datetime, settle_seconds: float) -> dict[str, int]:
    """Flush the tally and roll up the settled call events (the periodic job)."""
    return {
        "flushed": flush_tally(session, tally),
        "events": roll_up_events(session, now - timedelta(seconds=settle_seconds)),
    }
