"""Migrations on PostgreSQL: from an empty database, from each earlier revision, and back.

Runs in the PostgreSQL pass of the suite (WIDGET_SERVER_TEST_POSTGRES; CI sets it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from tests import postgres
from tests.helpers import SECRET
from widget_server import create_app
from widget_server.core import db
from widget_server.core.models import Base

pytestmark = pytest.mark.postgres


@pytest.fixture
def empty_url() -> Iterator[str]:
    if not postgres.enabled():
        if os.environ.get("CI"):
            pytest.fail("CI must set WIDGET_SERVER_TEST_POSTGRES")
        print("\nskipping PostgreSQL migrations: WIDGET_SERVER_TEST_POSTGRES is not set")
        pytest.skip("needs WIDGET_SERVER_TEST_POSTGRES")
    url = postgres.empty_database()
    yield url
    postgres.drop(url)


def _revisions(url: str) -> list[str]:
    script = ScriptDirectory.from_config(db.alembic_config(url))
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


def _assert_schema_is_the_models(url: str) -> None:
    engine = db.make_engine(url)
    try:
        inspector = inspect(engine)
        for name, table in Base.metadata.tables.items():
            columns = {column["name"] for column in inspector.get_columns(name)}
            assert columns == set(table.columns.keys()), name
    finally:
        engine.dispose()


def _current(url: str) -> str | None:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def _seed_first_revision(url: str) -> None:
    engine = db.make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO accounts (id, name, created_at) "
                "VALUES ('a1', 'Acme', '2026-01-01 00:00:00+00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO widgets (id, account_id, name, extension, auth_required, whitelist, "
                "throttle, provider, provider_settings, default_region, allowed_regions, "
                "allowed_number_types, allowed_origins, timeout, max_retries, retry_delay, "
                "time_zone, business_hours, texts, theme, locale, require_consent, enabled, "
                "created_at, updated_at) VALUES ('w1', 'a1', 'Sales', '1001', true, '[]', 0, "
                "'simulator', '{}', 'US', '[]', '[]', '[]', 20, 0, 60, 'UTC', '{}', '{}', "
                "'{}', 'en', false, true, '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00')"
            )
        )
    engine.dispose()


def test_an_empty_database_migrates_to_the_models_schema(empty_url: str) -> None:
    config = db.alembic_config(empty_url)
    command.upgrade(config, "head")
    assert _current(empty_url) == _revisions(empty_url)[-1]
    _assert_schema_is_the_models(empty_url)


def test_each_earlier_revision_upgrades_to_head(empty_url: str) -> None:
    config = db.alembic_config(empty_url)
    revisions = _revisions(empty_url)
    assert len(revisions) >= 4
    command.upgrade(config, revisions[0])
    _seed_first_revision(empty_url)
    command.upgrade(config, "head")  # the first revision, with data, to head
    # Down to each earlier revision in turn, then up to head again from there.
    for revision in revisions[:-1]:
        command.downgrade(config, revision)
        assert _current(empty_url) == revision
        command.upgrade(config, "head")
        assert _current(empty_url) == revisions[-1]
    _assert_schema_is_the_models(empty_url)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "DATABASE_URL": empty_url,
            "QUEUE_BACKEND": "memory",
        }
    )
    with app.app_context():
        from widget_server.core.models import Widget

        widget = db.session().get(Widget, "w1")
        assert widget is not None
        assert widget.limits == {} and widget.closed is False and widget.notify_emails == []
    app.extensions["db_engine"].dispose()


def test_downgrade_to_nothing_and_back(empty_url: str) -> None:
    config = db.alembic_config(empty_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    engine = db.make_engine(empty_url)
    leftover = set(inspect(engine).get_table_names()) - {"alembic_version"}
    engine.dispose()
    assert leftover == set()
    command.upgrade(config, "head")
    _assert_schema_is_the_models(empty_url)
