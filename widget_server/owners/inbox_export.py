"""The inbox as CSV: the filtered list, streamed row by row, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy.orm import Session

from ..core.models import Callback
from ..core.numbers import mask
from . import inbox
from .callback_view import page_path, shown_number, status_name


def described(wanted: inbox.InboxFilter, masked: bool) -> dict[str, object]:
    """Describe an export for the audit log: the filter used, a searched number masked."""
    used: dict[str, object] = {
        "status": wanted.status,
        "widget": wanted.widget_id,
        "from": wanted.created_from.isoformat() if wanted.created_from else None,
        "to": wanted.created_to.isoformat() if wanted.created_to else None,
        "number": mask(wanted.numbers[0]) if wanted.numbers else None,
        "digits": len(wanted.digits) if wanted.digits else None,
    }
    filters = {name: value for name, value in used.items() if value is not None}
    return {"format": "csv", "filter": filters, "numbers_masked": masked}


COLUMNS = (
    "id",
    "created_at",
    "finished_at",
    "widget",
    "number",
    "name",
    "status",
    "status_name",
    "cause",
    "attempts",
    "page",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "handled_at",
    "handled_by",
)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """Quote a value so no spreadsheet reads it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def row(callback: Callback, masked: bool) -> list[str]:
    utm = callback.utm or {}
    values = [
        callback.id,
        _iso(callback.created_at),
        _iso(callback.finished_at),
        callback.widget.name,
        shown_number(callback, masked),
        callback.visitor_name or "",
        callback.status,
        status_name(callback.status),
        callback.cause or "",
        str(callback.attempts),
        page_path(callback.page_url),
        utm.get("utm_source") or "",
        utm.get("utm_medium") or "",
        utm.get("utm_campaign") or "",
        _iso(callback.handled_at),
        callback.handled_by or "",
    ]
    return [cell(value) for value in values]


def stream(
    session: Session, account_id: str, wanted: inbox.InboxFilter, masked: bool
) -> Iterator[str]:
    """Yield the CSV a line at a time: a header, then every matching callback."""
    out = io.StringIO()
    writer = csv.writer(out)

    def flushed() -> str:
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    writer.writerow(COLUMNS)
    yield flushed()
    for callback in inbox.every_match(session, account_id, wanted):
        writer.writerow(row(callback, masked))
        yield flushed()
