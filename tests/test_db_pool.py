"""PostgreSQL's pool: a connection the database closed is replaced before it is used."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import create_engine, event
from sqlalchemy.pool import NullPool

from tests import postgres
from tests.helpers import ORIGIN, callbacks, submit_json

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not postgres.enabled(), reason="needs WIDGET_SERVER_TEST_POSTGRES"),
]


def read_config(app: Flask, widget_id: str) -> int:
    client = app.test_client()
    return client.get(f"/v1/widgets/{widget_id}/config", headers={"Origin": ORIGIN}).status_code


def test_a_connection_the_database_closed_is_replaced(app: Flask, widget_id: str) -> None:
    assert read_config(app, widget_id) == 200
    engine = app.extensions["db_engine"]
    with engine.connect() as connection:  # the pool's one connection, as requests use it
        backend = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    # As a database restart or a proxy's idle timeout would.
    other = create_engine(app.config["DATABASE_URL"], poolclass=NullPool)
    with other.connect() as connection:
        connection.exec_driver_sql(f"SELECT pg_terminate_backend({int(backend or 0)})")
    other.dispose()
    assert read_config(app, widget_id) == 200
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() != backend


def test_a_submission_after_the_database_closed_every_connection_is_stored(
    app: Flask, widget_id: str
) -> None:
    client = app.test_client()
    assert submit_json(client, widget_id, phone="+1 201 555 0123").status_code == 202
    engine = app.extensions["db_engine"]
    other = create_engine(app.config["DATABASE_URL"], poolclass=NullPool)
    with other.connect() as connection:  # every session but this one: the pool's, the reader's
        connection.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    other.dispose()
    checked_out: list[int] = []
    event.listen(engine, "checkout", lambda *_args: checked_out.append(1))
    # The stale connection is found at checkout, with no statement sent, and replaced.
    assert submit_json(client, widget_id, phone="+1 201 555 0124").status_code == 202
    assert len(callbacks(app)) == 2
    assert checked_out
