"""Fixtures: apps built through create_app on a real, migrated SQLite database."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from tests import postgres
from tests.counting import calls, originates  # noqa: F401 - counting providers' fixtures
from tests.helpers import TEST_REDIS_ENV, add_account, add_widget, base_config, migrated_copy
from widget_server import create_app
from widget_server.core import egress
from widget_server.web.limits import limiter


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests whose app is built by make_app, so on the stores the pass sets:
    the PostgreSQL pass runs these (and the postgres and redis ones), not those whose
    outcome cannot depend on the database."""
    for item in items:
        if "make_app" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.stores)


@pytest.fixture(autouse=True)
def loopback_resolver(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> dict[str, list[str]]:
    """Resolve names for the egress guard without asking DNS: tests send nothing off the
    machine. IP literals and localhost resolve as usual; a test maps other names here;
    any other name does not resolve. Live tests (real providers) keep the real resolver."""
    names: dict[str, list[str]] = {"localhost": ["127.0.0.1"]}
    if request.node.get_closest_marker("live"):
        return names
    real = egress.resolve

    def resolve(host: str, port: int) -> list[str]:
        if host.lower().rstrip(".") in names:
            return names[host.lower().rstrip(".")]
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            raise socket.gaierror(socket.EAI_NONAME, f"{host}: no such test host") from None
        return real(host, port)

    monkeypatch.setattr(egress, "resolve", resolve)
    return names


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []
    if redis_limits := os.environ.get(TEST_REDIS_ENV):
        # Each test starts with no limit counted, as with a fresh in-memory store; the apps
        # of one test share it, as processes of one deployment do.
        redis.Redis.from_url(redis_limits).flushdb()
    postgres_url = postgres.database_for_test() if postgres.enabled() else None

    def factory(**overrides: Any) -> Flask:
        if postgres_url and "DATABASE_URL" not in overrides:
            overrides["DATABASE_URL"] = postgres_url
        if not (tmp_path / "test.db").exists() and "DATABASE_URL" not in overrides:
            migrated_copy(tmp_path)
        app = create_app(base_config(tmp_path, **overrides))
        if app.config["RATELIMIT_STORAGE_URI"].startswith("memory"):
            with app.app_context():
                limiter.reset()  # the in-memory store is shared by every app of the process
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.extensions["db_engine"].dispose()
    if postgres_url:
        postgres.drop(postgres_url)


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def widget_id(app: Flask) -> str:
    return add_widget(app)


@pytest.fixture
def acme(app: Flask) -> tuple[str, str]:
    """An account of `app` and its admin API key."""
    return add_account(app)


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash dashboard passwords with argon2id at its lowest cost: the production parameters
    take tens of milliseconds per hash by design, which adds up over a suite."""
    from argon2 import PasswordHasher

    from widget_server.owners import people

    quick = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(people, "hasher", quick)
    monkeypatch.setattr(people, "_DUMMY_HASH", quick.hash("not anyone's password"))
