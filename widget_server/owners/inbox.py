"""The owners' callbacks inbox: an account's callbacks, filtered, a page at a time.

Pages are keyset pages on (created_at, id), newest first: a page costs the same wherever
it is in the list, and a callback arriving while the owner reads does not shift the next
page. Every query is scoped to one account through its widgets.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import phonenumbers
from flask_babel import gettext
from phonenumbers import NumberParseException
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, contains_eager

from ..core import ids
from ..core.models import Callback, Widget
from ..core.statuses import Status
from ..intake.number_hash import candidates
from .date_range import read_days

PAGE_SIZE = 50
MIN_FRAGMENT_DIGITS = 3
MAX_NUMBER_INPUT = 32
# A changes poll also returns what moved just before its cursor: a transaction that
# committed late with an earlier timestamp is still seen, and the page replaces rows by id.
CHANGES_OVERLAP = timedelta(seconds=2)
MAX_CHANGES = 100
CATCHING_UP = "more:"


class FilterInvalid(ValueError):
    """Filters that cannot be applied; `fields` names each one and why."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


@dataclass(frozen=True)
class Cursor:
    """A place in the list: the (created_at, id) of a row, and which way to read from it."""

    created_at: datetime
    callback_id: str
    backwards: bool = False  # True: the rows newer than this one ("previous")

    def encode(self) -> str:
        raw = json.dumps([self.created_at.isoformat(), self.callback_id]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str, backwards: bool = False) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            created, callback_id = json.loads(raw)
            if not isinstance(callback_id, str) or not ids.plausible(callback_id):
                raise ValueError("bad callback id")
            moment = datetime.fromisoformat(created)
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
            raise ValueError("bad cursor") from None
        return cls(moment if moment.tzinfo else moment.replace(tzinfo=UTC), callback_id, backwards)


@dataclass(frozen=True)
class InboxFilter:
    status: str | None = None
    widget_id: str | None = None
    created_from: date | None = None
    created_to: date | None = None
    # A full number, as the E.164 values it can mean, or else a run of digits.
    numbers: tuple[str, ...] = ()
    digits: str | None = None

    def is_empty(self) -> bool:
        return self == InboxFilter()


@dataclass(frozen=True)
class InboxPage:
    callbacks: list[Callback]
    newer: str | None  # cursor for "previous", None on the first page
    older: str | None  # cursor for "next", None on the last page


def parse_filter(args: Mapping[str, str], widgets: list[Widget]) -> InboxFilter:
    """Read the inbox's filters from a query string; raise FilterInvalid naming bad ones.

    `widgets` are the account's own: a widget id of another account is refused like a
    made-up one.
    """
    errors: dict[str, str] = {}
    status = (args.get("status") or "").strip() or None
    if status is not None and status not in {s.value for s in Status}:
        errors["status"] = gettext("Choose a status from the list.")
    widget_id = (args.get("widget") or "").strip() or None
    chosen = next((w for w in widgets if w.id == widget_id), None)
    if widget_id is not None and chosen is None:
        errors["widget"] = gettext("Choose a widget from the list.")
    days = read_days(args, errors)
    numbers: tuple[str, ...] = ()
    digits = None
    raw_number = (args.get("number") or "").strip()
    if raw_number:
        regions = [chosen.default_region] if chosen else sorted({w.default_region for w in widgets})
        if len(raw_number) <= MAX_NUMBER_INPUT:
            numbers = full_numbers(raw_number, regions or ["US"])
        if not numbers:
            digits = "".join(ch for ch in raw_number if ch.isdigit())
            if len(digits) < MIN_FRAGMENT_DIGITS or len(raw_number) > MAX_NUMBER_INPUT:
                errors["number"] = gettext(
                    "Enter at least 3 digits of the number, or the whole number."
                )
    if errors:
        raise FilterInvalid(errors)
    return InboxFilter(status, widget_id, days["from"], days["to"], numbers, digits)


def full_numbers(raw: str, regions: list[str]) -> tuple[str, ...]:
    """Return the E.164 numbers `raw` can be read as in these regions (none: a fragment)."""
    found: list[str] = []
    for region in regions if not raw.startswith("+") else [None]:
        try:
            parsed = phonenumbers.parse(raw, region)
        except NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            if e164 not in found:
                found.append(e164)
    return tuple(found)


def _filtered(account_id: str, wanted: InboxFilter, config: Any = None) -> Select[Any]:
    statement = (
        select(Callback)
        .join(Widget, Callback.widget_id == Widget.id)
        .where(Widget.account_id == account_id)
        .options(contains_eager(Callback.widget))
    )
    if wanted.status is not None:
        statement = statement.where(Callback.status == wanted.status)
    if wanted.widget_id is not None:
        statement = statement.where(Callback.widget_id == wanted.widget_id)
    if wanted.created_from is not None:
        start = datetime.combine(wanted.created_from, time.min, UTC)
        statement = statement.where(Callback.created_at >= start)
    if wanted.created_to is not None:
        end = datetime.combine(wanted.created_to + timedelta(days=1), time.min, UTC)
        statement = statement.where(Callback.created_at < end)
    if wanted.numbers:
        # The keyed hash outlives retention: an erased callback is still found by its number.
        hashes = [digest for e164 in wanted.numbers for digest in candidates(e164, config)]
        statement = statement.where(
            Callback.visitor_number.in_(wanted.numbers) | Callback.number_hash.in_(hashes)
        )
    elif wanted.digits:
        # Only digits reach the pattern, so no LIKE wildcard can come from the owner.
        statement = statement.where(Callback.visitor_number.contains(wanted.digits))
    return statement


def page(
    session: Session,
    account_id: str,
    wanted: InboxFilter,
    cursor: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> InboxPage:
    """Return one page of the account's callbacks matching `wanted`, newest first."""
    statement = _filtered(account_id, wanted)
    if cursor is not None and cursor.backwards:
        statement = statement.where(
            Callback.created_at >= cursor.created_at,
            (Callback.created_at > cursor.created_at) | (Callback.id > cursor.callback_id),
        ).order_by(Callback.created_at.asc(), Callback.id.asc())
    else:
        if cursor is not None:
            # The plain bound on created_at is what lets the index seek to the cursor;
            # the pair decides ties.
            statement = statement.where(
                Callback.created_at <= cursor.created_at,
                (Callback.created_at < cursor.created_at) | (Callback.id < cursor.callback_id),
            )
        statement = statement.order_by(Callback.created_at.desc(), Callback.id.desc())
    rows: list[Callback] = list(session.scalars(statement.limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    if cursor is not None and cursor.backwards:
        rows.reverse()
        newer = _key(rows[0]) if more and rows else None
        older = _key(rows[-1]) if rows else None
    else:
        newer = _key(rows[0]) if cursor is not None and rows else None
        older = _key(rows[-1]) if more else None
    return InboxPage(rows, newer, older)


def _key(callback: Callback) -> str:
    return Cursor(callback.created_at, callback.id).encode()


def every_match(
    session: Session, account_id: str, wanted: InboxFilter, batch: int = 500
) -> Iterator[Callback]:
    """Yield every matching callback, newest first, a keyset batch at a time (for export)."""
    cursor: Cursor | None = None
    while True:
        found = page(session, account_id, wanted, cursor, batch)
        yield from found.callbacks
        if found.older is None:
            return
        cursor = Cursor.decode(found.older)
        session.expunge_all()  # a long export must not keep every row it wrote in memory


def find(session: Session, account_id: str, callback_id: str) -> Callback | None:
    """Return the account's callback by id; another account's callback is not found."""
    if not ids.plausible(callback_id):
        return None
    return session.scalars(
        select(Callback)
        .join(Widget, Callback.widget_id == Widget.id)
        .where(Callback.id == callback_id, Widget.account_id == account_id)
        .options(contains_eager(Callback.widget))
    ).first()


@dataclass(frozen=True)
class Changes:
    callbacks: list[Callback]
    cursor: str  # pass back as `since` on the next poll


def changes_cursor(moment: datetime, catching_up: bool = False) -> str:
    """A cursor for the changes poll; `catching_up` marks an answer that was cut short."""
    text = moment.astimezone(UTC).isoformat(timespec="microseconds")
    return CATCHING_UP + text if catching_up else text


@dataclass(frozen=True)
class Since:
    moment: datetime
    catching_up: bool = False  # the previous answer was full: read on, with no overlap


def read_since(value: str) -> Since:
    """Read a changes cursor; raise ValueError for anything that is not one."""
    catching_up = value.startswith(CATCHING_UP)
    moment = datetime.fromisoformat(value.removeprefix(CATCHING_UP))
    if moment.tzinfo is None:
        raise ValueError("a changes cursor carries its offset")
    return Since(moment, catching_up)


def changes(
    session: Session, account_id: str, wanted: InboxFilter, since: Since, now: datetime
) -> Changes:
    """Return the matching callbacks created or moved since `since`, oldest change first."""
    statement = _filtered(account_id, wanted)
    if since.catching_up:
        statement = statement.where(Callback.updated_at >= since.moment)
    else:
        statement = statement.where(Callback.updated_at > since.moment - CHANGES_OVERLAP)
    statement = statement.order_by(Callback.updated_at.asc(), Callback.id.asc()).limit(MAX_CHANGES)
    rows: list[Callback] = list(session.scalars(statement))
    if len(rows) == MAX_CHANGES:
        # More moved than one answer carries: the next poll reads on from the last one
        # returned, without the overlap, so that a burst cannot hold the cursor in place.
        return Changes(rows, changes_cursor(rows[-1].updated_at, catching_up=True))
    newest = max((row.updated_at for row in rows), default=since.moment)
    return Changes(rows, changes_cursor(max(newest, min(since.moment, now))))
