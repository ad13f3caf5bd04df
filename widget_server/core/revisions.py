"""The submission revision: which state of widgets and block lists a process may keep.

Database triggers (migration 0014) move the counter on every change to those tables,
whoever makes it, so a process that kept something it read at revision N knows it is still
current as long as the counter reads N. The counter is read once per transaction: the
reads it vouches for are as fresh as reading the rows themselves at that moment.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ChangeCounter

SUBMISSION = "submission"
_READ = select(ChangeCounter.value).where(ChangeCounter.name == SUBMISSION)
_MEMO = "widget_server_submission_revision"  # session.info: (its transaction, the value)


def submission_revision(session: Session) -> int:
    """Return the counter as this transaction sees it (read once per transaction)."""
    transaction = session.get_transaction()
    memo = session.info.get(_MEMO)
    if memo is not None and transaction is not None and memo[0] is transaction:
        return int(memo[1])
    value = session.connection().execute(_READ).scalar_one()
    session.info[_MEMO] = (session.get_transaction(), value)
    return int(value)
