"""Migrations: the app refuses an unmigrated database, and `db upgrade` fixes it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import inspect

from tests.helpers import SECRET
from widget_server.core import db
from widget_server.core.models import Base

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def empty_app(make_app: Callable[..., Flask], tmp_path: Path) -> Flask:
    return make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}")


def test_unmigrated_database_is_refused_with_the_fix(empty_app: Flask) -> None:
    with pytest.raises(db.SchemaOutOfDate, match="flask --app widget_server db upgrade"):
        db.require_current_schema(empty_app)
    response = empty_app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["error"] == "unavailable"


def test_db_upgrade_command_migrates_and_the_app_serves(empty_app: Flask) -> None:
    result = empty_app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"database at {db.head_revision(empty_app)}" in result.output
    db.require_current_schema(empty_app)
    assert empty_app.test_client().get("/healthz").status_code == 200


def test_migrations_build_exactly_the_models_schema(empty_app: Flask) -> None:
    db.upgrade(empty_app)
    tables = set(inspect(db.make_engine(empty_app.config["DATABASE_URL"])).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_downgrade_to_nothing_and_back(empty_app: Flask) -> None:
    config = db.alembic_config(empty_app.config["DATABASE_URL"])
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    assert db.current_revision(empty_app) is None
    command.upgrade(config, "head")
    assert db.current_revision(empty_app) == db.head_revision(empty_app)


def test_wsgi_entry_point_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "WIDGET_SERVER_SECRET_KEY": SECRET,
        "WIDGET_SERVER_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
        "WIDGET_SERVER_INSTANCE_PATH": str(tmp_path),
        "WIDGET_SERVER_PUBLIC_ORIGIN": "https://callback.example.com",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SchemaOutOfDate" in result.stderr
    assert "db upgrade" in result.stderr


def test_wsgi_entry_point_keeps_its_start_up_objects_out_of_garbage_collection(
    empty_app: Flask, tmp_path: Path
) -> None:
    db.upgrade(empty_app)
    env = {
        **os.environ,
        "WIDGET_SERVER_SECRET_KEY": SECRET,
        "WIDGET_SERVER_DATABASE_URL": empty_app.config["DATABASE_URL"],
        "WIDGET_SERVER_INSTANCE_PATH": str(tmp_path),
        "WIDGET_SERVER_PUBLIC_ORIGIN": "https://callback.example.com",
    }
    script = (
        "import gc, time, wsgi\n"
        "started = time.perf_counter(); gc.collect()\n"
        "print(gc.get_freeze_count(), len(gc.get_objects()), time.perf_counter() - started)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    frozen, still_collected, _seconds = result.stdout.split()
    # The app's own objects are frozen; a full collection walks only the few made since.
    assert int(frozen) > 50_000
    assert int(still_collected) < int(frozen) // 10


def test_upgrade_from_the_first_revision_keeps_existing_widgets(empty_app: Flask) -> None:
    db.upgrade(empty_app, "0001")
    engine = db.make_engine(empty_app.config["DATABASE_URL"])
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO accounts (id, name, created_at) VALUES "
            "('a1', 'Acme', '2026-01-01 00:00:00')"
        )
        connection.exec_driver_sql(
            "INSERT INTO widgets (id, account_id, name, extension, auth_required, whitelist, "
            "throttle, provider, provider_settings, default_region, allowed_regions, "
            "allowed_number_types, allowed_origins, timeout, max_retries, retry_delay, "
            "time_zone, business_hours, texts, theme, locale, require_consent, enabled, "
            "created_at, updated_at) VALUES ('w1', 'a1', 'Sales', '1001', 1, '[]', 0, "
            "'simulator', '{}', 'US', '[]', '[]', '[]', 20, 0, 60, 'UTC', '{}', '{}', '{}', "
            "'en', 0, 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
    db.upgrade(empty_app)
    with empty_app.app_context():
        from widget_server.core.models import Widget

        widget = db.session().get(Widget, "w1")
        assert widget is not None and widget.limits == {} and widget.human_check == {}
    engine.dispose()
