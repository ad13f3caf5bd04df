"""Test helpers: configuration, widgets, admin API keys, submissions and the job runner."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from widget_server import create_app
from widget_server.core import db
from widget_server.core.models import Account, Callback, Widget
from widget_server.jobs import Jobs
from widget_server.owners import admin
from widget_server.owners.widgets import clean

SECRET = "test-secret-key-that-is-long-enough-0123456789"
ORIGIN = "https://shop.example.com"
SERVER = "http://localhost"  # the test client's own origin
VALID_US = "+1 201 555 0123"
METRICS_TOKEN = "operator-scrape-token"
VALID_ZA = "082 123 4567"

_template_db: Path | None = None


TEST_REDIS_ENV = "WIDGET_SERVER_TEST_REDIS"
LOOPBACK = ["127.0.0.0/8", "::1"]


def base_config(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    config = {
        "TESTING": True,
        "SECRET_KEY": SECRET,
        # The test client's own origin: the only host answered, the start of every URL.
        "PUBLIC_ORIGIN": SERVER,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'test.db'}",
        "QUEUE_BACKEND": "memory",
        "FORM_TOKEN_MIN_AGE": 0,
        "SUBMIT_LIMIT_PER_IP": "1000 per minute",
        "SUBMIT_LIMIT_PER_NUMBER": "1000 per minute",
        "SUBMIT_LIMIT_PER_PREFIX": "1000 per minute",
        "SUBMIT_LIMIT_DISTINCT_NUMBERS_PER_IP": "1000 per minute",
        "SUBMIT_LIMIT_PER_WIDGET": "1000 per minute",
        "ESCALATE_AFTER_ACCEPTED": "100000 per minute",
        "ESCALATE_AFTER_SOURCES": "100000 per minute",
        "METRICS_TOKEN": METRICS_TOKEN,
        # The provider fakes listen on loopback: allowed as an operator allows a PBX on the
        # LAN (the server's default allows public addresses only).
        "PROVIDER_PRIVATE_HOSTS": LOOPBACK,
    }
    if redis_limits := os.environ.get(TEST_REDIS_ENV):
        # The PostgreSQL pass in CI keeps rate-limit state in a real Redis, as production
        # does: flask-limiter's per-IP limits and the limit script of every submission.
        config["RATELIMIT_STORAGE_URI"] = redis_limits
    config.update(overrides)
    return config


def migrated_copy(tmp_path: Path) -> None:
    """Copy a database migrated once per test run (Alembic is the slow part)."""
    global _template_db
    if _template_db is None:
        # A fresh folder each run: one left by an earlier run (a reused process id) may hold
        # a database at a revision this code no longer has.
        root = Path(os.environ.get("PYTEST_TMPDIR", "/tmp"))
        root.mkdir(parents=True, exist_ok=True)
        template_dir = Path(tempfile.mkdtemp(prefix="ws-template-", dir=root))
        template_app = create_app(base_config(template_dir))
        db.upgrade(template_app)
        template_app.extensions["db_engine"].dispose()
        _template_db = template_dir / "test.db"
    shutil.copy(_template_db, tmp_path / "test.db")


def add_widget(app: Flask, **properties: Any) -> str:
    """Store an account and a widget; return the widget id."""
    values = {
        "name": "Sales",
        "extension": "1001",
        "default_region": "US",
        "allowed_regions": ["US", "ZA"],
        "allowed_origins": [ORIGIN, SERVER],
        "provider_settings": {"step_delay": 0, "talk_time": 0},
        "auth_required": False,
    }
    values.update(properties)
    with app.app_context():
        session = db.session()
        account = Account(name="Acme")
        session.add(account)
        session.flush()
        widget = Widget(account_id=account.id, **clean(values))
        session.add(widget)
        session.commit()
        return widget.id


def add_account(app: Flask, name: str = "Acme") -> tuple[str, str]:
    """Store an account and an admin API key of its own; return the account id and the key."""
    with app.app_context():
        session = db.session()
        account = Account(name=name)
        session.add(account)
        session.flush()
        _record, key = admin.create_key(session, account.id, "tests")
        session.commit()
        return account.id, key


def admin_auth(key: str) -> dict[str, str]:
    """The headers of an admin API request made with `key`."""
    return {"X-Auth-Token": key}


def put_widget(client: FlaskClient, account: str, key: str, **data: Any) -> Any:
    """Create a widget through the admin API (a name and an extension unless given)."""
    document = {"name": "Sales", "extension": "1001", **data}
    return client.put(
        f"/v1/accounts/{account}/clicktocall",
        json={"data": document},
        headers=admin_auth(key),
    )


def create_widget(client: FlaskClient, account: str, key: str, **data: Any) -> str:
    """Create a widget through the admin API, as `put_widget`, and return its id."""
    response = put_widget(client, account, key, **data)
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["data"]["id"])


def form_token(client: FlaskClient, widget_id: str, origin: str = ORIGIN) -> str:
    response = client.get(f"/v1/widgets/{widget_id}/config", headers={"Origin": origin})
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["token"])


def submit_json(
    client: FlaskClient,
    widget_id: str,
    phone: object = VALID_US,
    origin: str = ORIGIN,
    token: str | None = None,
    **fields: Any,
) -> Any:
    if token is None:
        token = form_token(client, widget_id, origin)
    body = {"phone": phone, "token": token, **fields}
    return client.post(f"/v1/widgets/{widget_id}/callbacks", json=body, headers={"Origin": origin})


def run_jobs(app: Flask) -> int:
    """Run queued jobs and every scheduled one, as if all their delays had passed."""
    jobs: Jobs = app.extensions["jobs"]
    return jobs.run_pending(now=time.time() + 10 * 24 * 3600)


def callbacks(app: Flask) -> list[Callback]:
    with app.app_context():
        return list(db.session().query(Callback).order_by(Callback.created_at))


def scrape(client: FlaskClient) -> str:
    """Read /metrics as the operator's Prometheus does, with its token."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    return response.get_data(as_text=True)
