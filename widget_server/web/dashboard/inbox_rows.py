"""How the inbox shows a callback: one row's values, times in the widget's zone, masking."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime
from flask_babel import get_locale
from sqlalchemy import select

from ...core import db
from ...core.models import Callback, Widget
from ...core.statuses import TERMINAL, is_silenced
from ...owners import inbox
from ...owners.callback_view import cause_name, page_path, shown_number, status_name
from ...owners.people import Role
from .access import Member


def masked_for(member: Member) -> bool:
    # A viewer reads the inbox but never sees a whole visitor number.
    return not member.role.at_least(Role.ADMIN)


def account_widgets(account_id: str) -> list[Widget]:
    return list(
        db.session().scalars(
            select(Widget).where(Widget.account_id == account_id).order_by(Widget.name)
        )
    )


def _zone(widget: Widget) -> ZoneInfo:
    try:
        return ZoneInfo(widget.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def when(moment: datetime | None, widget: Widget) -> dict[str, str] | None:
    """A time for `<time datetime>`: machine-readable UTC, shown in the widget's zone."""
    if moment is None:
        return None
    zone = _zone(widget)
    return {
        "iso": inbox.changes_cursor(moment),
        "text": format_datetime(moment, "medium", tzinfo=zone, locale=str(get_locale())),
        "zone": str(zone),
    }


def row_view(callback: Callback, masked: bool) -> dict[str, Any]:
    """What one row of the inbox shows of a callback."""
    widget = callback.widget
    silenced = is_silenced(callback.status, callback.cause)
    return {
        "id": callback.id,
        "number": shown_number(callback, masked),
        "erased": not callback.visitor_number,
        "name": callback.visitor_name or "",
        "widget": widget.name,
        "status": callback.status,
        "status_label": status_name(callback.status),
        "cause_label": cause_name(callback.cause) if callback.status in TERMINAL else None,
        "silenced": silenced,
        "created": when(callback.created_at, widget),
        "finished": when(callback.finished_at, widget),
        "path": page_path(callback.page_url),
        "utm_source": (callback.utm or {}).get("utm_source") or "",
        "handled": callback.handled_at is not None,
    }
