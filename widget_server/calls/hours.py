"""Business hours: weekly opening windows and holidays in a widget's time zone.

A schedule is a JSON object such as::

    {"windows": {"mon": [["09:00", "12:30"], ["13:30", "17:00"]], ...},
     "holidays": ["2026-12-25"], "slot_minutes": 30, "lead_minutes": 15}

An empty schedule (or one without ``windows``) means open all day, every day but holidays.
Windows are local wall-clock times, so opening hours follow daylight-saving changes: a
slot whose local time does not exist (spring forward) is skipped, and one whose local time
happens twice (fall back) is offered once, at its first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..core.reasons import Reason

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KEYS = ("windows", "holidays", "slot_minutes", "lead_minutes", "horizon_days")
HH_MM = re.compile(r"([01]\d|2[0-3]):[0-5]\d|24:00")
DEFAULT_SLOT_MINUTES = 30
DEFAULT_LEAD_MINUTES = 15
DEFAULT_HORIZON_DAYS = 14
MAX_HOLIDAYS = 366
MAX_WINDOWS_PER_DAY = 12
ALL_DAY = ((0, 24 * 60),)


@dataclass(frozen=True)
class Schedule:
    """A checked schedule: minutes since local midnight per weekday (0 = Monday)."""

    zone: ZoneInfo
    windows: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[date]
    slot: timedelta
    lead: timedelta
    horizon_days: int

    def windows_on(self, day: date) -> tuple[tuple[int, int], ...]:
        return () if day in self.holidays else self.windows[day.weekday()]


def schedule_for(business_hours: Mapping[str, Any], time_zone: str) -> Schedule:
    """Build a Schedule from a stored (already validated) business_hours object."""
    raw = business_hours.get("windows")
    if raw is None:
        windows: tuple[tuple[tuple[int, int], ...], ...] = (ALL_DAY,) * 7
    else:
        windows = tuple(
            tuple(sorted((_minutes(start), _minutes(end)) for start, end in raw.get(day, [])))
            for day in DAYS
        )
    return Schedule(
        zone=ZoneInfo(time_zone),
        windows=windows,
        holidays=frozenset(date.fromisoformat(d) for d in business_hours.get("holidays", [])),
        slot=timedelta(minutes=business_hours.get("slot_minutes", DEFAULT_SLOT_MINUTES)),
        lead=timedelta(minutes=business_hours.get("lead_minutes", DEFAULT_LEAD_MINUTES)),
        horizon_days=business_hours.get("horizon_days", DEFAULT_HORIZON_DAYS),
    )


def is_open(schedule: Schedule, instant: datetime) -> bool:
    """Say whether `instant` (timezone-aware) falls inside an opening window."""
    local = instant.astimezone(schedule.zone)
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in schedule.windows_on(local.date()))


def next_open(schedule: Schedule, now: datetime) -> datetime | None:
    """Return when the next opening window starts after `now` (None: open now, or never)."""
    if is_open(schedule, now):
        return None
    for day in _days(schedule, now):
        for start, _end in schedule.windows_on(day):
            opening = _first_instant_at_or_after(schedule.zone, day, start)
            if opening is not None and opening > now and is_open(schedule, opening):
                return opening
    return None


def slots(schedule: Schedule, now: datetime, count: int) -> list[datetime]:
    """Return up to `count` slot starts (UTC), each at least the lead time after `now`."""
    return [slot for slot, _ in zip(_slots_from(schedule, now), range(count), strict=False)]


def is_offered(schedule: Schedule, instant: datetime, now: datetime) -> bool:
    """Say whether `instant` is a slot start the schedule offers at `now`."""
    if instant < now + schedule.lead:
        return False
    day = instant.astimezone(schedule.zone).date()
    if day not in set(_days(schedule, now)):
        return False
    # Only that local day's slots are compared, so a forged far-off value costs no more
    # than an honest one.
    return any(slot == instant for slot in _day_slots(schedule, day))


def _slots_from(schedule: Schedule, now: datetime) -> Iterator[datetime]:
    earliest = now + schedule.lead
    for day in _days(schedule, now):
        for slot in _day_slots(schedule, day):
            if slot >= earliest:
                yield slot


def _day_slots(schedule: Schedule, day: date) -> Iterator[datetime]:
    step = int(schedule.slot.total_seconds() // 60)
    for start, end in schedule.windows_on(day):
        for minute in range(start, end - step + 1, step):
            instant = _instant(schedule.zone, day, minute)
            # None: a wall time skipped by spring-forward, which no clock ever shows.
            if instant is not None:
                yield instant


def _days(schedule: Schedule, now: datetime) -> Iterator[date]:
    today = now.astimezone(schedule.zone).date()
    for offset in range(schedule.horizon_days + 1):
        yield today + timedelta(days=offset)


def _instant(zone: ZoneInfo, day: date, minute: int) -> datetime | None:
    """Return the UTC instant of a local wall time, or None if that time does not exist."""
    if minute >= 24 * 60:
        day, minute = day + timedelta(days=1), minute - 24 * 60
    naive = datetime.combine(day, time(minute // 60, minute % 60))
    # fold=0 picks the first of two equal wall times in the fall-back hour, never both.
    aware = naive.replace(tzinfo=zone, fold=0)
    utc = aware.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return utc


def _first_instant_at_or_after(zone: ZoneInfo, day: date, minute: int) -> datetime | None:
    # A window opening inside the spring-forward gap opens when the clocks jump.
    for later in range(minute, minute + 3 * 60):
        instant = _instant(zone, day, later)
        if instant is not None:
            return instant
    return None


def _minutes(hh_mm: str) -> int:
    hours, minutes = hh_mm.split(":")
    return int(hours) * 60 + int(minutes)


# Validation ---------------------------------------------------------------------------


def validation_errors(value: object, field: str = "business_hours") -> dict[str, Reason]:
    """Return {field path: reason} for everything wrong with a business_hours object."""
    if not isinstance(value, dict):
        return {field: Reason("must be an object")}
    errors: dict[str, Reason] = {}
    for key in sorted(set(value) - set(KEYS)):
        errors[f"{field}.{key}"] = Reason("unknown key; allowed: %(keys)s", keys=", ".join(KEYS))
    if "windows" in value:
        errors.update(_window_errors(value["windows"], f"{field}.windows"))
    if "holidays" in value:
        errors.update(_holiday_errors(value["holidays"], f"{field}.holidays"))
    for key, low, high in (
        ("slot_minutes", 5, 240),
        ("lead_minutes", 0, 24 * 60),
        ("horizon_days", 1, 60),
    ):
        number = value.get(key)
        if key in value and (
            isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high
        ):
            errors[f"{field}.{key}"] = Reason(
                "must be a whole number from %(low)s to %(high)s", low=low, high=high
            )
    return errors


def _window_errors(windows: object, field: str) -> dict[str, Reason]:
    if not isinstance(windows, dict):
        return {field: Reason('must be an object such as {"mon": [["09:00", "17:00"]]}')}
    errors: dict[str, Reason] = {}
    for day, ranges in windows.items():
        path = f"{field}.{day}"
        if day not in DAYS:
            errors[path] = Reason("not a day; use %(days)s", days=", ".join(DAYS))
            continue
        reason = _ranges_error(ranges)
        if reason:
            errors[path] = reason
    return errors


def _ranges_error(ranges: object) -> Reason | None:
    if not isinstance(ranges, list) or len(ranges) > MAX_WINDOWS_PER_DAY:
        return Reason(
            'must be a list of at most %(count)s ["HH:MM", "HH:MM"] pairs',
            count=MAX_WINDOWS_PER_DAY,
        )
    spans: list[tuple[int, int]] = []
    for number, pair in enumerate(ranges, start=1):
        if not (isinstance(pair, list) and len(pair) == 2):
            return Reason('window %(number)s: must be a ["HH:MM", "HH:MM"] pair', number=number)
        bad = [t for t in pair if not (isinstance(t, str) and HH_MM.fullmatch(t))]
        if bad:
            return Reason(
                "window %(number)s: %(time)s is not a time HH:MM from 00:00 to 24:00",
                number=number,
                time=repr(bad[0]),
            )
        start, end = _minutes(pair[0]), _minutes(pair[1])
        if end <= start:
            return Reason(
                "window %(number)s: ends at %(end)s, not after it starts at %(start)s",
                number=number,
                end=pair[1],
                start=pair[0],
            )
        spans.append((start, end))
    spans.sort()
    for (_, first_end), (second_start, _) in zip(spans, spans[1:], strict=False):
        if second_start < first_end:
            return Reason(
                "windows overlap: %(time)s is inside another window", time=_hh_mm(second_start)
            )
    return None


def _holiday_errors(holidays: object, field: str) -> dict[str, Reason]:
    if not isinstance(holidays, list) or len(holidays) > MAX_HOLIDAYS:
        return {
            field: Reason(
                "must be a list of at most %(count)s dates YYYY-MM-DD", count=MAX_HOLIDAYS
            )
        }
    for entry in holidays:
        try:
            if not isinstance(entry, str) or len(entry) != 10:
                raise ValueError(entry)
            date.fromisoformat(entry)
        except ValueError:
            return {field: Reason("%(entry)s is not a date YYYY-MM-DD", entry=repr(entry))}
    return {}


def _hh_mm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
