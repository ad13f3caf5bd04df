"""Work to start only once a transaction has committed: jobs about rows it wrote.

A job enqueued before its rows are committed can run first and find nothing; one enqueued
for a transaction that then rolls back acts on rows that never existed. Callers register
a callable on the session instead; it runs after a successful commit and is dropped on a
rollback. A failing callable is logged and never undoes or fails the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_KEY = "widget_server.after_commit"


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once the session's current transaction commits."""
    session.info.setdefault(_KEY, []).append(action)


@event.listens_for(Session, "after_commit")
def _run(session: Session) -> None:
    actions: list[Callable[[], None]] = session.info.pop(_KEY, [])
    for action in actions:
        try:
            action()
        except Exception as exc:  # the commit stands whatever a follow-up does
            log.error("after-commit action failed: %s", exc.__class__.__name__)


@event.listens_for(Session, "after_soft_rollback")
def _drop(session: Session, _previous: Any) -> None:
    session.info.pop(_KEY, None)
