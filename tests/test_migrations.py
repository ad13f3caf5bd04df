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
from widget_server import db
from widget_server.models import Base

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
    assert "database at 0001" in result.output
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
