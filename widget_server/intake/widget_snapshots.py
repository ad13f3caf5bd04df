"""Widgets as a submission reads them, kept per process until the submission revision moves.

Loading a widget is the largest single cost of a public request: some forty columns, of
which the provider settings, the human check and the webhook secret are decrypted on every
load, for a 403 or 404 as much as for an accepted callback. A process keeps each widget it
loaded with the revision (core.revisions) it was read at, and serves it again while the
counter still reads the same. Any change to any widget or block-list entry, in any process,
moves the counter, so the next request in every process reads the rows again.

A request gets its own copy, merged into its session without a query, which behaves like
a widget the request loaded itself (`attached`). The checks a submission runs before it needs
the database read the kept object itself (`kept`): a refusal then costs no copy and opens
no session work at all, and `attached` makes the copy only for a submission that goes on.
The kept object is shared by every request of the process: it is read, never changed, and
never added to a session.
"""

from __future__ import annotations

import threading
import weakref

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ..core.models import Widget
from ..core.revisions import submission_revision

MAX_KEPT = 10_000  # widgets kept per process and database; past it the store starts over

# Widget id: (the revision it was read at, the widget, or None for an id that names none:
# a request for a widget that does not exist is a refusal, and refusals must stay cheap).
_Kept = dict[str, tuple[int, Widget | None]]
_kept: weakref.WeakKeyDictionary[Engine, _Kept] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def attached(session: Session, widget: Widget) -> Widget:
    """The session's own copy of a kept widget (no query); a widget of the session as is."""
    # The JSON values are shared with the kept widget, so a request must not change them in
    # place (none does; edits assign).
    return session.merge(widget, load=False)


def kept(session: Session, widget_id: str) -> Widget | None:
    """Return the widget as this process keeps it, current at this session's revision.

    Shared with every other request: read it, and hand it to `attached` before anything
    may change it or tie it to the session (a callback's `widget`).
    """
    revision = submission_revision(session)
    store = _store(session)
    found = store.get(widget_id)
    if found is None or found[0] != revision:
        if len(store) >= MAX_KEPT:  # ids sent at random fill it: they cost a reload, no more
            store.clear()
        # Stored under the revision read before the row: if a change landed in between, the
        # row is newer than its label, and the next request reads it again; never older.
        found = store[widget_id] = (revision, _load(session, widget_id))
    return found[1]


def _store(session: Session) -> _Kept:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    with _lock:
        return _kept.setdefault(engine, {})


def _load(session: Session, widget_id: str) -> Widget | None:
    # Read in a session of its own on the same connection (same transaction), so the kept
    # widget belongs to no request's session once this one closes.
    with Session(bind=session.connection()) as reading:
        return reading.get(Widget, widget_id)
