"""The submission revision: which state of widgets and block lists a process may keep.

Database triggers (migration 0014) move the counter on every change to those tables,
whoever makes it, so a process that kept something it read at revision N knows it is still
current as long as the counter reads N.

Every public request reads the counter, refusals included, so the read must cost next to
nothing: it is one statement on a connection of its own in autocommit (a few kept per
process), outside any request's transaction. A refusal that needs nothing else from the
database then never checks out a pooled connection, never begins a transaction (nor, on
SQLite, takes a lock) and, on PostgreSQL, costs one round trip instead of a ping, a BEGIN,
the read and a ROLLBACK. The value is read once per unit of work of a session (until its
commit or rollback): what it vouches for is as fresh as rows read at that moment, and a
row loaded afterwards in the session's transaction is never older than its label.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import weakref
from typing import Any

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from .models import ChangeCounter

log = logging.getLogger(__name__)

SUBMISSION = "submission"
_READ = select(ChangeCounter.value).where(ChangeCounter.name == SUBMISSION)
_SQL = f"SELECT value FROM {ChangeCounter.__tablename__} WHERE name = '{SUBMISSION}'"
_MEMO = "widget_server_submission_revision"  # session.info: the value of this unit of work
KEPT_IDLE = 4  # idle reading connections kept per process and database


def submission_revision(session: Session) -> int:
    """Return the counter as read once in this session's unit of work."""
    memo = session.info.get(_MEMO)
    if memo is not None:
        return int(memo)
    engine = session.get_bind()
    value = _reader(engine).read() if isinstance(engine, Engine) else None
    if value is None:  # no connection of its own to be had: read it in the transaction
        value = session.connection().execute(_READ).scalar_one()
    session.info[_MEMO] = value
    return int(value)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    # The next unit of work reads it again: a long-lived session (a job's) never serves
    # a revision older than its latest transaction.
    session.info.pop(_MEMO, None)


class _Reader:
    """A few autocommit DB-API connections of one database (each with its cursor), for the
    counter's one read."""

    def __init__(self, engine: Engine) -> None:
        self.dialect = engine.dialect.name
        self.dbapi = engine.dialect.loaded_dbapi
        self.connect_args = engine.dialect.create_connect_args(engine.url)
        # An in-memory SQLite database is one per connection: only its engine's can read it.
        self.usable = engine.url.database not in (None, "", ":memory:")
        self.pid = os.getpid()
        self.idle: collections.deque[Any] = collections.deque()

    def close(self) -> None:
        """Close the idle connections (the engine was disposed: its database may go)."""
        while self.idle:
            _close_quietly(self.idle.pop())

    def read(self) -> int | None:
        """The counter now; None when it cannot be read here (the caller reads it itself)."""
        if not self.usable:
            return None
        if self.pid != os.getpid():
            # A forked child must not share its parent's sockets: start with none. (The
            # drivers close nothing of a connection their process did not open.)
            self.pid, self.idle = os.getpid(), collections.deque()
        try:
            cursor = self.idle.pop()  # a cursor of its connection, kept with it
        except IndexError:
            cursor = None
        try:
            cursor = cursor or self._connect()
            cursor.execute(_SQL)
            (value,) = cursor.fetchone()
        except Exception as exc:  # noqa: BLE001 - the database itself will say what is wrong
            # A connection the database dropped (a restart): the caller's read through its
            # session meets the outage, or the pool's fresh connection, and says so.
            log.info("revision read fell back to the session: %s", type(exc).__name__)
            _close_quietly(cursor)
            self.close()  # what broke one (a restart) broke the others kept with it
            return None
        if len(self.idle) < KEPT_IDLE:
            self.idle.append(cursor)
        else:
            _close_quietly(cursor)
        return int(value)

    def _connect(self) -> Any:
        args, kwargs = self.connect_args
        if self.dialect == "sqlite":
            # Used by one thread at a time, though not always the thread that opened it.
            options = {**kwargs, "isolation_level": None, "check_same_thread": False}
            connection = self.dbapi.connect(*args, **options)
            # Autocommit: each read sees the newest commit and holds no lock afterwards.
            connection.execute("PRAGMA query_only = ON")
        else:
            connection = self.dbapi.connect(*args, **kwargs)
            connection.autocommit = True  # one statement, no BEGIN and no ROLLBACK around it
        return connection.cursor()


def _close_quietly(cursor: Any) -> None:
    if cursor is None:
        return
    try:
        cursor.connection.close()
    except Exception:  # noqa: BLE001, S110 - already broken; it is being dropped anyway
        pass


_readers: weakref.WeakKeyDictionary[Engine, _Reader] = weakref.WeakKeyDictionary()
_readers_lock = threading.Lock()


def _reader(engine: Engine) -> _Reader:
    reader = _readers.get(engine)
    if reader is None:
        with _readers_lock:
            reader = _readers.get(engine)
            if reader is None:
                reader = _readers[engine] = _Reader(engine)
                # Disposing of an engine lets go of every connection to its database.
                event.listen(engine, "engine_disposed", lambda _engine: reader.close())
    return reader
