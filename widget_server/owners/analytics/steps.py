"""The funnel's steps, what they are broken down by, and which day an event belongs to."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ...intake import utm


class Step(StrEnum):
    SHOWN = "shown"  # the loader drew the button (beacon)
    OPENED = "opened"  # the visitor opened the panel (beacon)
    ACCEPTED = "accepted"  # a submission stored and queued
    REFUSED = "refused"  # a submission refused (by reason), silently refused ones included
    ANSWERED = "answered"  # an agent took the call
    CONNECTED = "connected"  # the visitor was put through
    COMPLETED = "completed"
    FAILED = "failed"  # ended without completing: no answer, busy, failed, canceled...
    MISSED = "missed"  # ended without an agent answering (hour of the week only)


BEACON_STEPS = (Step.SHOWN, Step.OPENED)

# What a step's count is broken down by; "" is the step's total.
TOTAL = ""
PATH = "path"
UTM_DIMENSIONS = ("utm_source", "utm_medium", "utm_campaign")
REASON = "reason"
HOUR = "hour"  # "<weekday 0-6>-<hour 0-23>" in the widget's time zone, Monday first
SECONDS = "seconds"  # seconds from submission to connected (a bucket, see connect_bucket)

MAX_VALUE = 200  # the column's width
# Distinct values one widget may have per day and dimension; past it they count as OTHER,
# so a page sending made-up paths cannot grow the table without bound.
MAX_VALUES_PER_DAY = 100
OTHER = "~other"
_REASON = re.compile(r"[a-z0-9_]{1,40}")


def zone(time_zone: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_day(moment: datetime, time_zone: str | None) -> date:
    """The day `moment` falls on in the widget's time zone (its business hours' zone)."""
    return moment.astimezone(zone(time_zone)).date()


def hour_of_week(moment: datetime, time_zone: str | None) -> str:
    local = moment.astimezone(zone(time_zone))
    return f"{local.weekday()}-{local.hour}"


def connect_bucket(seconds: float) -> int:
    """Round a time to connect: to the second up to 10 minutes, to the minute up to an
    hour, then one bucket; the median and the 90th percentile read from these buckets."""
    whole = max(0, int(seconds))
    if whole < 600:
        return whole
    if whole < 3600:
        return whole // 60 * 60
    return 3600


def page_dimensions(page_url: str | None) -> dict[str, str]:
    """The breakdowns a page URL gives: its path and its UTM source, medium and campaign.

    Nothing else of the URL is kept: not its host, other query parameters or fragment.
    """
    found: dict[str, str] = {}
    if not page_url:
        return found
    try:
        path = urlsplit(page_url).path or "/"
    except ValueError:
        return found
    found[PATH] = _printable(path)
    tags = utm.from_page_url(page_url)
    for key in UTM_DIMENSIONS:
        if tags.get(key):
            found[key] = _printable(tags[key])
    return found


def reason_value(reason: str | None) -> str:
    """A refusal's reason as stored: its stable code, or "other" for anything unexpected."""
    return reason if reason and _REASON.fullmatch(reason) else "other"


def _printable(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable())[:MAX_VALUE] or "/"


class ReasonGroup(StrEnum):
    NUMBER_POLICY = "number_policy"
    LIMITS = "limits"
    BOT_CHECKS = "bot_checks"
    BLOCKED = "blocked"
    OUTSIDE_HOURS = "outside_hours"
    ORIGIN = "origin"
    OTHER = "other"


_GROUPS = {
    ReasonGroup.NUMBER_POLICY: {
        "unparsable",
        "missing",
        "invalid",
        "type_not_allowed",
        "region_not_allowed",
        "not_whitelisted",
        "consent",
        "department_unknown",
    },
    ReasonGroup.BLOCKED: {"opted_out", "blocked_number", "blocked_prefix", "blocked_address"},
    ReasonGroup.OUTSIDE_HOURS: {"outside_hours", "slot_not_offered", "slot_invalid"},
    ReasonGroup.ORIGIN: {"origin_not_allowed", "host_not_allowed"},
    ReasonGroup.LIMITS: {"throttle", "destination_busy", "limit_store_down"},
}


def reason_group(reason: str) -> ReasonGroup:
    """Which kind of refusal a reason code is, for the page's chart."""
    for group, reasons in _GROUPS.items():
        if reason in reasons:
            return group
    if reason.endswith(("rate_limited", "_budget")) or reason.startswith("budget"):
        return ReasonGroup.LIMITS
    if reason.startswith(("human_check", "token_")) or reason == "honeypot":
        return ReasonGroup.BOT_CHECKS
    return ReasonGroup.OTHER
