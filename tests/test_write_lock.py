"""SQLite's write lock: refused submissions never take it, accepted ones queue for it."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.helpers import ORIGIN, VALID_US, add_widget, callbacks, form_token, migrated_copy


@pytest.fixture
def sqlite_app(make_app: Callable[..., Flask], tmp_path: Path) -> Flask:
    # SQLite on every pass: the write lock is SQLite's (PostgreSQL locks rows).
    migrated_copy(tmp_path)
    return make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'test.db'}")


@pytest.fixture
def other_writer(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """Another process's connection to the same file (a queue worker, another web worker)."""
    connection = sqlite3.connect(
        tmp_path / "test.db", isolation_level=None, timeout=15, check_same_thread=False
    )
    yield connection
    connection.close()


def post(app: Flask, widget_id: str, **body: Any) -> Any:
    return app.test_client().post(
        f"/v1/widgets/{widget_id}/callbacks", json=body, headers={"Origin": ORIGIN}
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"phone": VALID_US, "token": "forged"}, 422),
        ({"phone": "12", "token": None}, 422),
        ({"phone": VALID_US}, 400),
    ],
)
def test_a_refusal_answers_while_another_writer_holds_the_lock(
    sqlite_app: Flask, other_writer: sqlite3.Connection, body: dict[str, Any], status: int
) -> None:
    widget_id = add_widget(sqlite_app)
    if "token" in body and body["token"] is None:
        body["token"] = form_token(sqlite_app.test_client(), widget_id)
    other_writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        response = post(sqlite_app, widget_id, **body)
        waited = time.monotonic() - started
    finally:
        other_writer.execute("ROLLBACK")
    assert response.status_code == status, response.get_json()
    assert waited < 5, "the refusal waited for the write lock"  # busy_timeout is 15 s


def test_an_accepted_submission_queues_for_the_lock_another_writer_holds(
    sqlite_app: Flask, other_writer: sqlite3.Connection
) -> None:
    widget_id = add_widget(sqlite_app)
    token = form_token(sqlite_app.test_client(), widget_id)
    other_writer.execute("BEGIN IMMEDIATE")
    # The other writer commits a change after the request's reads have begun: a read
    # transaction upgraded in place would now fail at once with "database is locked".
    other_writer.execute("UPDATE widgets SET name = 'Renamed' WHERE id = ?", (widget_id,))
    release = threading.Timer(0.5, other_writer.execute, ("COMMIT",))
    release.start()
    try:
        response = post(sqlite_app, widget_id, phone=VALID_US, token=token)
    finally:
        release.join()
    assert response.status_code == 202, response.get_json()
    assert [callback.widget_id for callback in callbacks(sqlite_app)] == [widget_id]
