"""Business hours: opening windows, holidays and slots in local time, across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from widget_server.calls import hours
from widget_server.calls.hours import is_open, next_open, schedule_for, slots
from widget_server.owners import widgets


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def plan(time_zone: str, **business_hours: Any) -> hours.Schedule:
    assert hours.validation_errors(business_hours) == {}
    return schedule_for(business_hours, time_zone)


SUNDAY_NIGHT = {"sun": [["01:00", "04:00"]]}


def test_berlin_spring_forward_skips_the_missing_hour() -> None:
    # 2026-03-29: at 02:00 CET the clocks jump to 03:00 CEST; 02:00-02:59 never happens.
    berlin = plan("Europe/Berlin", windows=SUNDAY_NIGHT, slot_minutes=30, lead_minutes=0)
    now = utc(2026, 3, 28, 23, 0)  # 00:00 CET
    assert slots(berlin, now, 4) == [
        utc(2026, 3, 29, 0, 0),  # 01:00 CET
        utc(2026, 3, 29, 0, 30),  # 01:30 CET
        utc(2026, 3, 29, 1, 0),  # 03:00 CEST, straight after 01:59:59 CET
        utc(2026, 3, 29, 1, 30),  # 03:30 CEST
    ]
    assert is_open(berlin, utc(2026, 3, 29, 0, 59))  # 01:59 CET
    assert is_open(berlin, utc(2026, 3, 29, 1, 59))  # 03:59 CEST
    assert not is_open(berlin, utc(2026, 3, 29, 2, 0))  # 04:00 CEST
    assert not is_open(berlin, utc(2026, 3, 28, 23, 59))  # 00:59 CET


def test_berlin_fall_back_does_not_offer_the_repeated_hour_twice() -> None:
    # 2026-10-25: at 03:00 CEST the clocks go back to 02:00 CET; 02:00-02:59 happens twice.
    berlin = plan("Europe/Berlin", windows=SUNDAY_NIGHT, slot_minutes=30, lead_minutes=0)
    offered = slots(berlin, utc(2026, 10, 24, 21, 0), 10)
    assert offered[:6] == [
        utc(2026, 10, 24, 23, 0),  # 01:00 CEST
        utc(2026, 10, 24, 23, 30),  # 01:30 CEST
        utc(2026, 10, 25, 0, 0),  # 02:00 CEST (first time)
        utc(2026, 10, 25, 0, 30),  # 02:30 CEST (first time)
        utc(2026, 10, 25, 2, 0),  # 03:00 CET
        utc(2026, 10, 25, 2, 30),  # 03:30 CET
    ]
    labels = [slot.astimezone(berlin.zone).strftime("%a %H:%M") for slot in offered[:6]]
    assert len(set(labels)) == len(labels)
    # Both real hours with a 02:xx wall time are inside the window.
    assert is_open(berlin, utc(2026, 10, 25, 0, 15)) and is_open(berlin, utc(2026, 10, 25, 1, 15))
    assert not is_open(berlin, utc(2026, 10, 25, 3, 0))  # 04:00 CET


def test_new_york_spring_forward_and_fall_back() -> None:
    new_york = plan("America/New_York", windows=SUNDAY_NIGHT, slot_minutes=60, lead_minutes=0)
    # 2026-03-08: 02:00 EST becomes 03:00 EDT.
    assert slots(new_york, utc(2026, 3, 8, 5, 0), 2) == [
        utc(2026, 3, 8, 6, 0),  # 01:00 EST
        utc(2026, 3, 8, 7, 0),  # 03:00 EDT
    ]
    # 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:00-01:59 happens twice.
    assert slots(new_york, utc(2026, 11, 1, 4, 0), 3) == [
        utc(2026, 11, 1, 5, 0),  # 01:00 EDT, offered once
        utc(2026, 11, 1, 7, 0),  # 02:00 EST
        utc(2026, 11, 1, 8, 0),  # 03:00 EST
    ]


def test_next_open_follows_the_local_clock_across_a_dst_change() -> None:
    berlin = plan("Europe/Berlin", windows={"mon": [["09:00", "17:00"]]})
    # Saturday noon CET; Monday opens at 09:00 CEST, one hour earlier in UTC than a week ago.
    assert next_open(berlin, utc(2026, 3, 28, 11, 0)) == utc(2026, 3, 30, 7, 0)
    assert next_open(berlin, utc(2026, 3, 21, 11, 0)) == utc(2026, 3, 23, 8, 0)
    assert next_open(berlin, utc(2026, 3, 30, 8, 0)) is None  # open now
    # A window that starts inside the spring-forward gap opens when the clocks jump.
    gap = plan("Europe/Berlin", windows={"sun": [["02:30", "05:00"]]})
    assert next_open(gap, utc(2026, 3, 28, 23, 0)) == utc(2026, 3, 29, 1, 0)


def test_holidays_close_a_whole_day() -> None:
    weekdays = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    shop = plan(
        "Africa/Johannesburg",
        windows=weekdays,
        holidays=["2026-12-25"],
        slot_minutes=60,
        lead_minutes=0,
    )
    christmas_morning = utc(2026, 12, 25, 8, 0)  # Friday 10:00 SAST
    assert not is_open(shop, christmas_morning)
    assert is_open(shop, utc(2026, 12, 24, 8, 0))
    # Thursday evening: Friday is skipped, the next slot is Monday 09:00 SAST.
    assert slots(shop, utc(2026, 12, 24, 16, 0), 1) == [utc(2026, 12, 28, 7, 0)]
    assert next_open(shop, utc(2026, 12, 24, 16, 0)) == utc(2026, 12, 28, 7, 0)


def test_several_windows_a_day_and_the_lead_time() -> None:
    split = {"mon": [["13:30", "17:00"], ["09:00", "12:30"]]}  # any order
    office = plan("UTC", windows=split, slot_minutes=60, lead_minutes=0)
    monday = [utc(2026, 11, 23, h, m) for h, m in ((9, 0), (10, 0), (11, 0), (13, 30))]
    monday += [utc(2026, 11, 23, 14, 30), utc(2026, 11, 23, 15, 30)]
    assert slots(office, utc(2026, 11, 23, 0, 0), 6) == monday  # a slot must fit its window
    assert not is_open(office, utc(2026, 11, 23, 12, 45))
    assert is_open(office, utc(2026, 11, 23, 13, 30))
    assert not is_open(office, utc(2026, 11, 23, 17, 0))
    lead = plan("UTC", windows=split, slot_minutes=30, lead_minutes=15)
    assert slots(lead, utc(2026, 11, 23, 8, 50), 1) == [utc(2026, 11, 23, 9, 30)]
    assert hours.is_offered(lead, utc(2026, 11, 23, 9, 30), utc(2026, 11, 23, 8, 50))
    assert not hours.is_offered(lead, utc(2026, 11, 23, 9, 0), utc(2026, 11, 23, 8, 50))
    assert not hours.is_offered(lead, utc(2026, 11, 23, 9, 10), utc(2026, 11, 23, 8, 0))


def test_an_empty_schedule_is_always_open_and_a_window_may_end_at_midnight() -> None:
    always = plan("Pacific/Auckland")
    assert is_open(always, utc(2026, 1, 1, 0, 0)) and next_open(always, utc(2026, 1, 1)) is None
    late = plan("UTC", windows={"fri": [["22:00", "24:00"]]}, slot_minutes=60, lead_minutes=0)
    assert is_open(late, utc(2026, 11, 27, 23, 59))
    assert not is_open(late, utc(2026, 11, 28, 0, 0))
    assert slots(late, utc(2026, 11, 27, 0, 0), 2) == [
        utc(2026, 11, 27, 22, 0),
        utc(2026, 11, 27, 23, 0),
    ]


@pytest.mark.parametrize(
    ("business_hours", "field", "words"),
    [
        ([], "business_hours", "must be an object"),
        ({"windows": {"funday": []}}, "business_hours.windows.funday", "not a day"),
        ({"windows": {"mon": [["9:00", "17:00"]]}}, "business_hours.windows.mon", "'9:00'"),
        ({"windows": {"mon": [["09:00", "25:00"]]}}, "business_hours.windows.mon", "HH:MM"),
        ({"windows": {"mon": [["17:00", "09:00"]]}}, "business_hours.windows.mon", "not after"),
        ({"windows": {"mon": [["09:00", "09:00"]]}}, "business_hours.windows.mon", "not after"),
        (
            {"windows": {"tue": [["09:00", "12:00"], ["11:00", "13:00"]]}},
            "business_hours.windows.tue",
            "overlap",
        ),
        ({"windows": {"mon": ["09:00-17:00"]}}, "business_hours.windows.mon", "pair"),
        ({"windows": [["09:00", "17:00"]]}, "business_hours.windows", "object"),
        ({"holidays": ["2026-02-30"]}, "business_hours.holidays", "'2026-02-30'"),
        ({"holidays": ["25.12.2026"]}, "business_hours.holidays", "YYYY-MM-DD"),
        ({"holidays": "2026-12-25"}, "business_hours.holidays", "list"),
        ({"slot_minutes": 3}, "business_hours.slot_minutes", "from 5 to 240"),
        ({"lead_minutes": True}, "business_hours.lead_minutes", "whole number"),
        ({"opening": {}}, "business_hours.opening", "unknown key"),
    ],
)
def test_validation_names_the_part_and_the_reason(
    business_hours: object, field: str, words: str
) -> None:
    with pytest.raises(widgets.WidgetInvalid) as refused:
        widgets.clean({"name": "Sales", "extension": "1001", "business_hours": business_hours})
    assert words in refused.value.fields[field], refused.value.fields


def test_a_valid_schedule_and_the_closed_switch_are_saved() -> None:
    business_hours = {
        "windows": {"mon": [["09:00", "12:30"], ["13:30", "17:00"]], "sat": []},
        "holidays": ["2026-12-25"],
        "slot_minutes": 15,
        "lead_minutes": 0,
        "horizon_days": 30,
    }
    cleaned = widgets.clean(
        {"name": "Sales", "extension": "1001", "business_hours": business_hours, "closed": True}
    )
    assert cleaned["business_hours"] == business_hours and cleaned["closed"] is True
    with pytest.raises(widgets.WidgetInvalid) as refused:
        widgets.clean({"name": "Sales", "extension": "1001", "closed": "yes"})
    assert refused.value.fields == {"closed": "must be true or false"}
