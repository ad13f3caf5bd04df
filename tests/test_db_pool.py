"""PostgreSQL's pool: a connection the database closed is replaced before it is used."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from tests import postgres
from tests.helpers import ORIGIN

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
