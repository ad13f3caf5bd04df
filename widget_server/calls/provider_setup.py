"""A provider's one-time set-up for a widget (Kazoo's clicktocall), done once, before a call.

Some providers need a resource created before the first call (`Provider.needs_setup`):
the dialer lets one dial job create it while it holds a lease named after the widget and
the provider's role; a second first call at the same moment finds the lease taken and
waits a few seconds for the stored result instead of creating its own. The created
settings (an id) are merged into the widget's stored settings under a row lock.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from .. import providers
from ..core.models import Lease, Widget
from . import leases

log = logging.getLogger(__name__)

SETUP_LEASE_SECONDS = 120  # longer than any set-up request may take
SETUP_WAIT_SECONDS = 2.0  # how soon a job that found the set-up under way looks again


def needed(widget: Widget) -> bool:
    adapter = providers.REGISTRY.get(widget.provider)
    return adapter is not None and adapter.needs_setup(widget.provider_settings or {})


def _key(widget: Widget) -> str:
    return f"provider_setup:{widget.id}:primary"


def claim(session: Session, widget: Widget, holder: str) -> bool:
    """Take the widget's set-up lease, committed; False: another job is setting it up."""
    taken = leases.take(session, _key(widget), holder, SETUP_LEASE_SECONDS)
    if taken:
        session.commit()
    else:
        session.rollback()
    return taken


def store(session: Session, widget_id: str, created: dict[str, Any]) -> None:
    """Merge what the set-up created into the widget's settings and end the lease."""
    widget = session.get(Widget, widget_id, with_for_update=True, populate_existing=True)
    if widget is not None and created:
        widget.provider_settings = {**(widget.provider_settings or {}), **created}
        log.info(
            "widget=%s provider %s set up: stored %s", widget.id, widget.provider, sorted(created)
        )
    release(session, widget_id)
    session.commit()


def release(session: Session, widget_id: str) -> None:
    session.execute(delete(Lease).where(Lease.key == f"provider_setup:{widget_id}:primary"))
