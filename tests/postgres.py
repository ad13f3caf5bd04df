"""Run the suite on PostgreSQL: one database per test, copied from a migrated template.

Set WIDGET_SERVER_TEST_POSTGRES to a server URL (e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/postgres); `make test` does so in CI.
"""

from __future__ import annotations

import os
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from widget_server import create_app
from widget_server.core import db

_template: str | None = None


def enabled() -> bool:
    return bool(os.environ.get("WIDGET_SERVER_TEST_POSTGRES"))


def _admin_engine():  # type: ignore[no-untyped-def]
    # CREATE/DROP DATABASE cannot run inside a transaction.
    return create_engine(os.environ["WIDGET_SERVER_TEST_POSTGRES"], isolation_level="AUTOCOMMIT")


def _url(name: str) -> str:
    url = make_url(os.environ["WIDGET_SERVER_TEST_POSTGRES"]).set(database=name)
    return url.render_as_string(hide_password=False)


def _ensure_template() -> str:
    global _template
    if _template is None:
        name = f"ws_template_{os.getpid()}"
        engine = _admin_engine()
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "x" * 40,
                "DATABASE_URL": _url(name),
                "QUEUE_BACKEND": "memory",
            }
        )
        db.upgrade(app)
        app.extensions["db_engine"].dispose()
        _template = name
    return _template


def database_for_test() -> str:
    """Create a fresh migrated database for one test; return its URL."""
    template = _ensure_template()
    name = f"ws_test_{uuid.uuid4().hex[:12]}"
    engine = _admin_engine()
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    engine.dispose()
    return _url(name)


def drop(url: str) -> None:
    name = make_url(url).database
    engine = _admin_engine()
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def empty_database() -> str:
    """Create an empty database (no migrations) for one test; return its URL."""
    name = f"ws_empty_{uuid.uuid4().hex[:12]}"
    engine = _admin_engine()
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return _url(name)
