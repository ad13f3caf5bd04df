"""A change made in one process holds on the very next request a web worker serves.

The web worker below has already served the widget (anything it might keep per process is
warm); the changes come from this test's process, as from the CLI or another worker. A
block-list entry, an opt-out, an edit of the widget and a revoked API key each decide the
next request.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import select, text

from tests.helpers import ORIGIN, SECRET, SERVER, add_account, base_config, migrated_copy
from tests.processes import free_port, processes, wait_for
from widget_server import create_app
from widget_server.calls import blocklist
from widget_server.core import db
from widget_server.core.models import ApiKey, Callback, Widget
from widget_server.owners import admin

LIMIT = "100000 per minute"


@dataclass
class Worker:
    base: str
    app: Flask  # this process's own app on the same database
    widget_id: str
    account_id: str
    key: str

    def token(self, origin: str = ORIGIN) -> str:
        config = requests.get(
            f"{self.base}/v1/widgets/{self.widget_id}/config",
            headers={"Origin": origin},
            timeout=10,
        )
        assert config.status_code == 200, config.text
        return str(config.json()["token"])

    def submit(
        self, phone: str, origin: str = ORIGIN, token: str | None = None
    ) -> requests.Response:
        return requests.post(
            f"{self.base}/v1/widgets/{self.widget_id}/callbacks",
            json={"phone": phone, "token": token or self.token(origin)},
            headers={"Origin": origin},
            timeout=10,
        )

    def list_widgets(self) -> int:
        return requests.get(
            f"{self.base}/v1/accounts/{self.account_id}/clicktocall",
            headers={"X-Auth-Token": self.key},
            timeout=10,
        ).status_code

    def cause_for(self, phone: str) -> str | None:
        with self.app.app_context():
            callback = (
                db.session().scalars(select(Callback).where(Callback.visitor_number == phone)).one()
            )
            return callback.cause


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Worker]:
    migrated_copy(tmp_path)
    database_url = f"sqlite:///{tmp_path / 'test.db'}"
    app = create_app(base_config(tmp_path, DATABASE_URL=database_url))
    account_id, key = add_account(app)
    with app.app_context():
        session = db.session()
        widget = Widget(
            account_id=account_id,
            name="Sales",
            extension="1001",
            allowed_regions=["US"],
            allowed_origins=[ORIGIN, SERVER],
            auth_required=False,
        )
        session.add(widget)
        session.commit()
        widget_id = widget.id
    env = {
        **os.environ,
        "WIDGET_SERVER_SECRET_KEY": SECRET,
        "WIDGET_SERVER_INSTANCE_PATH": str(tmp_path),
        "WIDGET_SERVER_DATABASE_URL": database_url,
        "WIDGET_SERVER_QUEUE_PATH": str(tmp_path / "queue.db"),
        "WIDGET_SERVER_FORM_TOKEN_MIN_AGE": "0",
        "WIDGET_SERVER_LOG_FORMAT": "text",
    }
    for name in ("PER_IP", "PER_NUMBER", "PER_PREFIX", "DISTINCT_NUMBERS_PER_IP", "PER_WIDGET"):
        env[f"WIDGET_SERVER_SUBMIT_LIMIT_{name}"] = LIMIT
    for name in ("ACCEPTED", "SOURCES"):  # never under pressure: no human check is asked
        env[f"WIDGET_SERVER_ESCALATE_AFTER_{name}"] = LIMIT
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with processes(env, tmp_path / "processes.log") as group:
        group.web(port, workers=1)  # one worker: every request below reaches the warm one

        def ready() -> bool:
            try:
                return requests.get(f"{base}/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(ready, "the web worker", 30)
        served = Worker(base, app, widget_id, account_id, key)
        assert served.submit("+12015550101").status_code == 202  # warm: the widget is served
        assert served.list_widgets() == 200
        yield served
    app.extensions["db_engine"].dispose()


def change(worker: Worker, kind: str, value: str) -> None:
    with worker.app.app_context():
        blocklist.add(db.session(), kind, value)
        db.session().commit()


def test_changes_made_elsewhere_decide_the_next_request(worker: Worker) -> None:
    change(worker, "number", "+12015550102")
    assert worker.submit("+12015550102").status_code == 202  # refused in silence
    assert worker.cause_for("+12015550102") == "blocked_number"

    change(worker, "optout", "+12015550103")
    assert worker.submit("+12015550103").status_code == 202
    assert worker.cause_for("+12015550103") == "opted_out"

    token = worker.token()  # minted while the origin is still allowed
    with worker.app.app_context():
        widget = db.session().get(Widget, worker.widget_id)
        assert widget is not None
        widget.allowed_origins = [SERVER]
        db.session().commit()
    assert worker.submit("+12015550104", token=token).status_code == 403

    with worker.app.app_context():
        record = db.session().scalars(select(ApiKey)).one()
        admin.revoke_key(db.session(), record.id)
        db.session().commit()
    assert worker.list_widgets() == 401

    change(worker, "ip", "127.0.0.1")
    assert worker.submit("+12015550105", origin=SERVER).status_code == 429
    assert worker.cause_for("+12015550101") is None  # the first one was accepted as usual


def test_what_a_worker_keeps_is_read_again_after_any_change(worker: Worker) -> None:
    # The worker keeps the widget and the address list it read; each change below is
    # made without it, the last two in plain SQL, as an operator's script would.
    with worker.app.app_context():
        blocklist.add(db.session(), "ip", "127.0.0.1")
        db.session().commit()
    token = worker.token(SERVER)
    assert worker.submit("+12015550106", origin=SERVER, token=token).status_code == 429
    with worker.app.app_context():
        assert blocklist.remove(db.session(), "ip", "127.0.0.1")
        db.session().commit()
    assert worker.submit("+12015550106", origin=SERVER, token=token).status_code == 202

    token = worker.token()
    with worker.app.extensions["db_engine"].begin() as connection:
        connection.execute(text("UPDATE widgets SET enabled = 0 WHERE id = :id"),
                           {"id": worker.widget_id})  # fmt: skip
    assert worker.submit("+12015550107", token=token).status_code == 404
    with worker.app.extensions["db_engine"].begin() as connection:
        connection.execute(text("DELETE FROM widgets WHERE id = :id"), {"id": worker.widget_id})
    config = requests.get(f"{worker.base}/v1/widgets/{worker.widget_id}/config", timeout=10)
    assert config.status_code == 404
