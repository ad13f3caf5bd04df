"""Reading an account's audit log: filters, pages newest first, and a CSV of it.

Every query starts from the account's id, so no filter or page token can reach another
account's entries (or those recorded against no account). Pages are keyset: the next
page is the entries with an id below the last one shown, which stays right while new
entries arrive and costs the same on the thousandth page as on the first.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ..core.models import AuditEntry
from . import audit
from .admin import csv_safe
from .date_range import read_days

PAGE_SIZE = 50
EXPORT_BATCH = 500
CSV_COLUMNS = ("id", "at", "action", "actor", "address", "object_type", "object_id", "details")


class FilterInvalid(ValueError):
    """Filters that cannot be applied; `fields` names each one and why."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None
    day_from: date | None = None
    day_to: date | None = None


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    older: int | None  # the `before` of the next (older) page, None on the last


def parse_filter(args: Mapping[str, str], actors: list[str]) -> AuditFilter:
    """Read the log's filters from a query string; raise FilterInvalid naming bad ones."""
    errors: dict[str, str] = {}
    action = (args.get("action") or "").strip() or None
    if action is not None and action not in audit.ACTIONS:
        errors["action"] = gettext("Choose an action from the list.")
    actor = (args.get("person") or "").strip() or None
    if actor is not None and actor not in actors:
        errors["person"] = gettext("Choose a person from the list.")
    days = read_days(args, errors)
    if errors:
        raise FilterInvalid(errors)
    return AuditFilter(action, actor, days["from"], days["to"])


def read_before(raw: str | None) -> int | None:
    """Read a page token; anything but a positive whole number starts from the newest."""
    text = (raw or "").strip()
    return int(text) if text.isdigit() and 0 < len(text) <= 18 else None


def _filtered(account_id: str, wanted: AuditFilter) -> Select[Any]:
    query = select(AuditEntry).where(AuditEntry.account_id == account_id)
    if wanted.action:
        query = query.where(AuditEntry.action == wanted.action)
    if wanted.actor:
        query = query.where(AuditEntry.actor == wanted.actor)
    # Days are whole UTC days, as the inbox's date filters are.
    if wanted.day_from:
        query = query.where(AuditEntry.at >= datetime.combine(wanted.day_from, time(), UTC))
    if wanted.day_to:
        end = datetime.combine(wanted.day_to + timedelta(days=1), time(), UTC)
        query = query.where(AuditEntry.at < end)
    return query


def page(
    session: Session,
    account_id: str,
    wanted: AuditFilter,
    before: int | None = None,
    size: int = PAGE_SIZE,
) -> AuditPage:
    """Return one page of the account's entries, newest first, older than id `before`."""
    query = _filtered(account_id, wanted)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    rows = list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(size + 1)))
    shown = rows[:size]
    return AuditPage(shown, shown[-1].id if len(rows) > size else None)


def actors(session: Session, account_id: str) -> list[str]:
    """Return everyone who has acted on the account, for the person filter."""
    query = (
        select(AuditEntry.actor)
        .where(AuditEntry.account_id == account_id, AuditEntry.actor != "")
        .distinct()
    )
    return sorted(session.scalars(query))


def export(session: Session, account_id: str, wanted: AuditFilter) -> Iterator[str]:
    """Yield the filtered log as CSV lines, newest first, read in keyset batches."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    yield _drain(out)
    before: int | None = None
    while True:
        batch = page(session, account_id, wanted, before, EXPORT_BATCH)
        for entry in batch.entries:
            writer.writerow([csv_safe(cell) for cell in _row(entry)])
        yield _drain(out)
        if batch.older is None:
            return
        before = batch.older


def _row(entry: AuditEntry) -> list[Any]:
    details = json.dumps(entry.details, sort_keys=True, ensure_ascii=False)
    return [
        entry.id,
        entry.at.isoformat(),
        entry.action,
        entry.actor,
        entry.address,
        entry.object_type,
        entry.object_id,
        details,
    ]


def _drain(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text
