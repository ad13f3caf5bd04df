"""A widget's webhook as its owner sets it up: the URL, the write-only secret, the log.

Saving goes through `admin.update_widget`, so the URL meets the same checks (https, no
private address, names resolved) as in the admin API; sending is `notify.webhooks`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.models import WebhookDelivery, Widget
from . import admin, audit

LOG_PAGE_SIZE = 25


def save(
    session: Session,
    widget: Widget,
    url: str,
    secret: str | None,
    actor: audit.Actor | None = None,
) -> None:
    """Set the widget's webhook URL; a new secret replaces the stored one, None keeps it.

    Raises WidgetInvalid naming `webhook_url` or `webhook_secret`.
    """
    values: dict[str, object] = {"webhook_url": url.strip()}
    if secret:
        values["webhook_secret"] = secret
    admin.update_widget(
        session, widget, values, replace=False, actor=actor, action=audit.WEBHOOK_CHANGED
    )


def clear(session: Session, widget: Widget, actor: audit.Actor | None = None) -> None:
    """Stop the widget's webhook: no URL and no secret kept for it."""
    values: dict[str, object] = {"webhook_url": "", "webhook_secret": None}
    admin.update_widget(
        session, widget, values, replace=False, actor=actor, action=audit.WEBHOOK_CLEARED
    )


@dataclass(frozen=True)
class LogPage:
    deliveries: list[WebhookDelivery]
    next_before: int | None  # the `before` of the next (older) page, None on the last


def log_page(
    session: Session, widget: Widget, before: int | None = None, size: int = LOG_PAGE_SIZE
) -> LogPage:
    """Return one page of the widget's deliveries, newest first, older than id `before`."""
    query = select(WebhookDelivery).where(WebhookDelivery.widget_id == widget.id)
    if before is not None:
        query = query.where(WebhookDelivery.id < before)
    rows = list(session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(size + 1)))
    following = rows[size - 1].id if len(rows) > size else None
    return LogPage(rows[:size], following)
