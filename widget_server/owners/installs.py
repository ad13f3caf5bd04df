"""A widget's installation: the snippet to paste, and where the widget was seen loading.

The loader's config request names the host page (Origin, else Referer). Each one is noted
as a sighting of that origin, allowed or refused, so the owner sees where the widget runs
and where it tried to but was not allowed. A load costs at most one small write per widget
and origin every SIGHTING_INTERVAL, and a widget keeps at most MAX_REFUSED_ORIGINS refused
origins (the oldest go first), so no stream of invented Origin headers can grow the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core.models import OriginSighting, Widget
from ..core.origins import normalise_origin
from ..core.reasons import Reason
from . import admin
from .property_checks import NOT_AN_ORIGIN
from .widgets import WidgetInvalid

SIGHTING_INTERVAL = timedelta(minutes=5)
MAX_REFUSED_ORIGINS = 50


def snippet(widget_id: str, base_url: str) -> str:
    """Return the script tag a site owner pastes into a page, loading from `base_url`."""
    src = escape(f"{base_url.rstrip('/')}/widget.js", quote=True)
    return f'<script async src="{src}" data-widget="{escape(widget_id, quote=True)}"></script>'


def record_load(
    session: Session, widget_id: str, origin: str, allowed: bool, now: datetime
) -> bool:
    """Note that the widget loaded (or was refused) on `origin`; say whether it wrote.

    Nothing is written when the same answer was noted for this origin less than
    SIGHTING_INTERVAL ago. The caller commits.
    """
    found = session.scalars(
        select(OriginSighting).where(
            OriginSighting.widget_id == widget_id, OriginSighting.origin == origin
        )
    ).first()
    if found is not None:
        if found.allowed == allowed and found.last_seen_at > now - SIGHTING_INTERVAL:
            return False
        found.allowed = allowed
        found.last_seen_at = now
        session.flush()
        if not allowed:
            _drop_oldest_refused(session, widget_id)
        return True
    try:
        with session.begin_nested():
            session.add(
                OriginSighting(
                    widget_id=widget_id,
                    origin=origin,
                    allowed=allowed,
                    first_seen_at=now,
                    last_seen_at=now,
                )
            )
    except IntegrityError:
        return False  # another process noted the same origin a moment ago
    if not allowed:
        _drop_oldest_refused(session, widget_id)
    return True


def _drop_oldest_refused(session: Session, widget_id: str) -> None:
    kept = (
        select(OriginSighting.id)
        .where(OriginSighting.widget_id == widget_id, OriginSighting.allowed.is_(False))
        .order_by(OriginSighting.last_seen_at.desc(), OriginSighting.id.desc())
        .limit(MAX_REFUSED_ORIGINS)
    )
    session.execute(
        delete(OriginSighting)
        .where(
            OriginSighting.widget_id == widget_id,
            OriginSighting.allowed.is_(False),
            OriginSighting.id.not_in(kept.scalar_subquery()),
        )
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class AllowedOrigin:
    origin: str
    last_seen_at: datetime | None  # None: never seen loading there


@dataclass(frozen=True)
class RefusedOrigin:
    origin: str
    first_seen_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class Installation:
    allowed: list[AllowedOrigin]
    refused: list[RefusedOrigin]  # newest first


def installation(session: Session, widget: Widget) -> Installation:
    """Return each allowed origin with its last load, and the refused ones still refused."""
    rows = {
        row.origin: row
        for row in session.scalars(
            select(OriginSighting).where(OriginSighting.widget_id == widget.id)
        )
    }
    allowed_origins = list(widget.allowed_origins)
    allowed = []
    for origin in allowed_origins:
        row = rows.get(normalise_origin(origin) or origin)
        # A load refused before the origin was allowed is not a load.
        seen = row.last_seen_at if row is not None and row.allowed else None
        allowed.append(AllowedOrigin(origin, seen))
    admitted = {normalise_origin(o) or o for o in allowed_origins}
    refused = sorted(
        (
            RefusedOrigin(row.origin, row.first_seen_at, row.last_seen_at)
            for row in rows.values()
            if not row.allowed and row.origin not in admitted
        ),
        key=lambda item: item.last_seen_at,
        reverse=True,
    )
    return Installation(allowed, refused)


def allow_origin(session: Session, widget: Widget, origin: object) -> str:
    """Add `origin` to the widget's allowed origins, checked as any property is; return it.

    Raises WidgetInvalid naming `allowed_origins` when it cannot be saved.
    """
    normalised = normalise_origin(origin)
    if normalised is None:
        raise WidgetInvalid(
            {"allowed_origins": Reason(NOT_AN_ORIGIN, origin=repr(str(origin)[:80]))}
        )
    if normalised not in widget.allowed_origins:
        values = {"allowed_origins": [*widget.allowed_origins, normalised]}
        admin.update_widget(session, widget, values, replace=False)
    return normalised
