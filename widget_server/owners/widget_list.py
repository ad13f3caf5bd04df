"""The account's widgets as the dashboard lists them: each with the time of its last callback."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.models import Callback, Widget


@dataclass(frozen=True)
class WidgetRow:
    widget: Widget
    last_callback_at: datetime | None


def widget_rows(session: Session, account_id: str) -> list[WidgetRow]:
    """The account's widgets, oldest first, with their latest callback's time (one query)."""
    latest = (
        select(Callback.widget_id, func.max(Callback.created_at).label("last"))
        .group_by(Callback.widget_id)
        .subquery()
    )
    query = (
        select(Widget, latest.c.last)
        .outerjoin(latest, latest.c.widget_id == Widget.id)
        .where(Widget.account_id == account_id)
        .order_by(Widget.created_at, Widget.id)
    )
    return [WidgetRow(widget, last) for widget, last in session.execute(query)]
