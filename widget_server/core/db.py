"""The database: one engine per app, a session per request or job, Alembic migrations."""

from __future__ import annotations

import logging
import select
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app, g, has_app_context
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from .errors import Unavailable

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parents[1] / "migrations"


class SchemaOutOfDate(RuntimeError):
    """The database is missing migrations; the server must not run on it."""


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["db_engine"] = engine
    app.extensions["db_sessions"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)
    app.before_request(_refuse_unmigrated)


def _refuse_unmigrated() -> None:
    # Checked until it first succeeds; serving on an old schema would fail in odd places.
    app = current_app
    if app.extensions.get("schema_current"):
        return
    try:
        require_current_schema(app)
    except SchemaOutOfDate as exc:
        log.error("refusing requests: %s", exc)
        raise Unavailable(
            "The server's database needs an upgrade; the operator has been told."
        ) from None
    app.extensions["schema_current"] = True


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # Web threads and queue workers share the file: wait for locks instead of failing.
        engine = create_engine(url, connect_args={"timeout": 15, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "before_cursor_execute", _sqlite_lock_before_first_write)
        return engine
    return _server_engine(url)


RECYCLE_SECONDS = 1800  # no connection is kept longer than this, however busy


def _server_engine(url: str) -> Engine:
    # Every checkout is checked (below), so a connection that went stale while the database
    # restarted is replaced before a request or a job uses it. Checking only connections
    # that sat idle was tried: right after a restart, recently used connections then failed
    # the work they were given, and accepted callbacks waited for the reconciler instead of
    # being dialled.
    engine = create_engine(url, pool_recycle=RECYCLE_SECONDS)
    event.listen(engine, "checkout", _refuse_closed_by_server)
    return engine


def _refuse_closed_by_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pre-ping without the round trip: refuse a connection the server has closed.

    An idle connection has nothing to read: the server speaks only when asked. Something
    to read (its "terminating connection" notice, or the end of the stream) means the
    server ended the session, as a restart or an administrator does to every connection.
    DisconnectionError makes the pool replace it and check out another (pool_pre_ping's
    `SELECT 1` cost two round trips per checkout, a BEGIN included).
    """
    if _closed_by_server(dbapi_connection):
        raise DisconnectionError("the server closed the connection")


def _closed_by_server(dbapi_connection: Any) -> bool:
    if getattr(dbapi_connection, "closed", False) or getattr(dbapi_connection, "broken", False):
        return True
    try:
        descriptor = dbapi_connection.fileno()
    except Exception:  # noqa: BLE001 - no socket left: as good as closed
        return True
    waiting = select.poll()
    waiting.register(descriptor, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(waiting.poll(0))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Leave transactions to SQLAlchemy's "begin" event below.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


# The execution option of a transaction that begins without the write lock (SQLite).
DEFERRED_WRITE_LOCK = "widget_server_deferred_write_lock"
_DEFERRED = "widget_server_deferred"  # connection.info: began deferred, not written yet


def _sqlite_begin(connection: Any) -> None:
    # A deferred transaction that later writes can fail with "database is locked" at once;
    # taking the write lock up front makes writers queue on busy_timeout instead. Only a
    # transaction that asked to defer it begins without, and takes it before its first write.
    deferred = bool(connection.get_execution_options().get(DEFERRED_WRITE_LOCK)) or bool(
        has_app_context() and g.get(_REQUEST_DEFERS)
    )
    connection.info[_DEFERRED] = False  # BEGIN itself is no first write
    connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")
    connection.info[_DEFERRED] = deferred


def _sqlite_lock_before_first_write(
    connection: Any, cursor: Any, statement: str, *_args: Any
) -> None:
    if not connection.info.get(_DEFERRED) or statement.lstrip()[:6].upper() in _READS:
        return
    connection.info[_DEFERRED] = False
    if not cursor.connection.in_transaction:
        return
    # Upgrading a read transaction in place would not wait on busy_timeout: it fails at once
    # when another writer committed since it began. So its reads end here (they wrote
    # nothing) and the writes run in a transaction that queues for the lock from the start.
    cursor.execute("COMMIT")
    cursor.execute("BEGIN IMMEDIATE")


_READS = ("SELECT", "PRAGMA")


_REQUEST_DEFERS = "db_defer_write_lock"  # g: this request's transactions begin deferred


def defer_write_lock() -> None:
    """Begin this request's transactions without the write lock; take it at the first write.

    For requests that mostly read and often stop there (a submission refused by its checks
    writes nothing): on SQLite such a refusal never waits for, nor holds up, a writer. What
    a transaction read before its first write is not guarded by the lock, so use this only
    where those reads decide nothing a concurrent writer could invalidate; the writes and
    every read after the first write run under the lock as before. Nothing is opened here:
    a refusal that reads no table takes no connection at all. No effect on other databases,
    and none on a transaction this request already began.
    """
    g.setdefault(_REQUEST_DEFERS, True)


def engine() -> Engine:
    return current_app.extensions["db_engine"]


def session() -> Session:
    """Return this app context's session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessions"]()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(app: Flask, revision: str = "head") -> None:
    command.upgrade(alembic_config(app.config["DATABASE_URL"]), revision)


def current_revision(app: Flask) -> str | None:
    with app.extensions["db_engine"].connect() as connection:
        # Only reads: no reason to wait for (or hold up) a writer.
        connection.execution_options(**{DEFERRED_WRITE_LOCK: True})
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(app: Flask) -> str | None:
    return ScriptDirectory.from_config(
        alembic_config(app.config["DATABASE_URL"])
    ).get_current_head()


def require_current_schema(app: Flask) -> None:
    """Raise SchemaOutOfDate unless the database is at the newest migration."""
    try:
        current = current_revision(app)
    except SQLAlchemyError as exc:
        raise SchemaOutOfDate(f"cannot read the database: {exc.__class__.__name__}") from None
    head = head_revision(app)
    if current != head:
        raise SchemaOutOfDate(
            f"the database is at migration {current or 'none'}, the code needs {head}. "
            "Run: flask --app widget_server db upgrade"
        )
