"""Faults survived, nothing lost: a worker killed mid-call, Redis and PostgreSQL restarted,
a provider that times out for minutes, web and worker processes stopped with SIGTERM.

The store tests start private redis-server and PostgreSQL instances on free ports (never
the machine's shared ones) and always stop them. Each test is bounded well under a minute.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import create_engine, text

from tests.fakes.ledger import serve_ledger
from tests.fakes.webhook import Fake as WebhookFake
from tests.helpers import (
    LOOPBACK,
    ORIGIN,
    SECRET,
    add_widget,
    base_config,
    migrated_copy,
    submit_json,
)
from tests.processes import (
    PrivatePostgres,
    PrivateRedis,
    free_port,
    private_postgres,
    private_redis,
    processes,
    wait_for,
)
from widget_server import create_app
from widget_server.core import db
from widget_server.core.models import Callback, CallEvent
from widget_server.core.statuses import Status
from widget_server.core.tokens import Tokens

pytestmark = pytest.mark.faults
TERMINAL = "('completed','failed','no_answer','busy','canceled','rejected','handed_off')"


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    import os

    env = {
        **os.environ,
        "WIDGET_SERVER_SECRET_KEY": SECRET,
        "WIDGET_SERVER_INSTANCE_PATH": str(tmp_path),
        "WIDGET_SERVER_FORM_TOKEN_MIN_AGE": "0",
        "WIDGET_SERVER_LOG_FORMAT": "text",
        "WIDGET_SERVER_QUEUE_PATH": str(tmp_path / "queue.db"),
        # The provider fakes listen on loopback, allowed as in every test configuration.
        "WIDGET_SERVER_PROVIDER_PRIVATE_HOSTS": ",".join(LOOPBACK),
    }
    for name in ("PER_IP", "PER_NUMBER", "PER_PREFIX", "DISTINCT_NUMBERS_PER_IP", "PER_WIDGET"):
        env[f"WIDGET_SERVER_SUBMIT_LIMIT_{name}"] = "100000 per minute"
    for name in ("ACCEPTED", "SOURCES"):  # never under pressure: no human check is asked
        env[f"WIDGET_SERVER_ESCALATE_AFTER_{name}"] = "100000 per minute"
    env.update({f"WIDGET_SERVER_{key}": value for key, value in settings.items()})
    return env


def _statuses(database_url: str) -> dict[str, str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, status FROM callbacks")).all()
    finally:
        engine.dispose()
    return {row[0]: row[1] for row in rows}


def _wait_terminal(database_url: str, ids: list[str], seconds: float = 45) -> dict[str, str]:
    terminal = {str(status) for status in Status if status in TERMINAL}
    found: dict[str, str] = {}

    def done() -> bool:
        found.update(_statuses(database_url))
        return all(found.get(callback_id) in terminal for callback_id in ids)

    wait_for(done, "every accepted callback to end", seconds)
    return found


class Visitor:
    """Submits through the web processes with form tokens minted the way /config mints them.

    Minting needs no store, so tokens are at hand while Redis or PostgreSQL is down.
    """

    def __init__(self, app: Flask, base: str, widget_id: str) -> None:
        self.base, self.widget_id = base, widget_id
        with app.app_context():
            self.tokens = [Tokens(app).issue_form_token(widget_id, ORIGIN) for _ in range(40)]
        self.sent = 0

    def submit(self) -> requests.Response:
        token = self.tokens.pop()
        self.sent += 1
        return requests.post(
            f"{self.base}/v1/widgets/{self.widget_id}/callbacks",
            json={"phone": f"+1 201 555 {self.sent:04d}", "token": token},
            headers={"Origin": ORIGIN},
            timeout=20,
        )


def _killed_while_the_provider_holds_the_originate(
    group: Any, app: Flask, widget_id: str, ledger: Any, database_url: str, unreached: str
) -> str:
    """Submit, let the originate reach the held provider, SIGKILL the worker, then let the
    provider go quiet for longer than the widget's bound; return the callback's id."""
    worker = group.worker()
    response = submit_json(app.test_client(), widget_id)
    assert response.status_code == 202
    callback_id: str = response.get_json()["id"]
    assert ledger.arrived.wait(30), unreached

    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    assert _statuses(database_url)[callback_id] == Status.DIALING
    ledger.hold = False
    ledger.release()
    time.sleep(2.5)  # quiet for longer than the widget's bound
    return callback_id


def _ready(base: str) -> bool:
    try:
        return requests.get(f"{base}/readyz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _accept_all(visitor: Visitor, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        response = visitor.submit()
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


def _accept_after_restart(visitor: Visitor, count: int) -> tuple[list[str], int]:
    """Submit until `count` are accepted; return their ids and the 503s met on the way."""
    ids: list[str] = []
    refused = 0
    while len(ids) < count:
        response = visitor.submit()
        if response.status_code == 503:
            refused += 1
            assert refused <= 2, "still refusing well after the store came back"
            continue
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids, refused


def _outage_answers(visitor: Visitor) -> None:
    for _ in range(3):
        response = visitor.submit()
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["error"] == "unavailable" and "Traceback" not in response.text
    assert requests.get(f"{visitor.base}/readyz", timeout=10).status_code == 503


# --- a worker killed with SIGKILL while a dial job runs -----------------------------------


def _through_a_restart(
    tmp_path: Path,
    env: dict[str, str],
    app: Flask,
    widget_id: str,
    database_url: str,
    store: PrivateRedis | PrivatePostgres,
    store_name: str,
) -> tuple[list[str], dict[str, str]]:
    """Web and worker processes accept callbacks, answer 503 while `store` is stopped and
    accept again once it is back; the ids accepted and every callback's final status."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with processes(env, tmp_path / "processes.log") as group:
        group.web(port)
        group.worker()
        wait_for(lambda: _ready(base), "the web processes", 30)
        visitor = Visitor(app, base, widget_id)
        before = _accept_all(visitor, 4)
        _wait_terminal(database_url, before)

        store.stop()
        _outage_answers(visitor)
        store.start()
        wait_for(lambda: _ready(base), f"readiness after {store_name} came back", 20)

        after, _ = _accept_after_restart(visitor, 4)
        statuses = _wait_terminal(database_url, before + after)
    return before + after, statuses


def test_worker_killed_mid_originate_ends_the_call_once_after_a_restart(tmp_path: Path) -> None:
    migrated_copy(tmp_path)
    database_url = f"sqlite:///{tmp_path / 'test.db'}"
    app = create_app(
        base_config(tmp_path, QUEUE_BACKEND="sqlite", QUEUE_PATH=str(tmp_path / "queue.db"))
    )
    env = _env(tmp_path, DATABASE_URL=database_url, QUEUE_BACKEND="sqlite", RECONCILE_GRACE="0")
    with serve_ledger() as ledger, processes(env, tmp_path / "processes.log") as group:
        ledger.hold = True  # the originate arrives, is recorded, and gets no answer
        widget_id = add_widget(
            app,
            provider="webhook",
            provider_settings=ledger.settings(read_timeout=30),
            timeout=1,  # ring timeout: the callback is stale 2 s after its last event
        )
        callback_id = _killed_while_the_provider_holds_the_originate(
            group, app, widget_id, ledger, database_url, "the originate never reached the provider"
        )

        group.worker()  # the restarted worker settles what the crash left behind
        statuses = _wait_terminal(database_url, [callback_id])
        assert statuses[callback_id] == Status.COMPLETED
        assert ledger.originates_for(callback_id) == 1
        assert ledger.status_queries == [f"{callback_id}-1"]
    app.extensions["db_engine"].dispose()


def test_worker_killed_mid_failover_places_the_attempt_once_after_a_restart(
    tmp_path: Path,
) -> None:
    migrated_copy(tmp_path)
    database_url = f"sqlite:///{tmp_path / 'test.db'}"
    app = create_app(
        base_config(tmp_path, QUEUE_BACKEND="sqlite", QUEUE_PATH=str(tmp_path / "queue.db"))
    )
    env = _env(tmp_path, DATABASE_URL=database_url, QUEUE_BACKEND="sqlite", RECONCILE_GRACE="0")
    with serve_ledger() as ledger, processes(env, tmp_path / "processes.log") as group:
        ledger.hold = True  # the secondary's originate arrives, is recorded, gets no answer
        widget_id = add_widget(
            app,
            # The primary times out after "sending", then says it has no such call.
            provider="simulator",
            provider_settings={"step_delay": 0, "talk_time": 0, "fail_with": "timeout"},
            secondary_provider="webhook",
            secondary_provider_settings=ledger.settings(read_timeout=30),
            timeout=1,  # ring timeout: the callback is stale 2 s after its last event
        )
        callback_id = _killed_while_the_provider_holds_the_originate(
            group, app, widget_id, ledger, database_url, "the attempt never reached the secondary"
        )

        group.worker()  # the restarted worker asks the secondary, never dials again
        statuses = _wait_terminal(database_url, [callback_id])
        assert statuses[callback_id] == Status.COMPLETED
        assert ledger.originates_for(callback_id) == 1
        assert ledger.status_queries == [f"{callback_id}-1"]
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            causes = connection.execute(
                text(
                    "SELECT cause FROM call_events WHERE callback_id = :id"
                    " AND source = 'server' AND status = 'dialing' ORDER BY id"
                ),
                {"id": callback_id},
            ).scalars()
            # One attempt: its start, then its one switch; no second attempt anywhere.
            assert list(causes) == [None, "provider_failover"]
    finally:
        engine.dispose()
    app.extensions["db_engine"].dispose()


# --- SIGTERM: graceful stops ---------------------------------------------------------------


def test_a_worker_stopped_with_sigterm_finishes_its_dial_job_first(tmp_path: Path) -> None:
    migrated_copy(tmp_path)
    database_url = f"sqlite:///{tmp_path / 'test.db'}"
    app = create_app(
        base_config(tmp_path, QUEUE_BACKEND="sqlite", QUEUE_PATH=str(tmp_path / "queue.db"))
    )
    env = _env(tmp_path, DATABASE_URL=database_url, QUEUE_BACKEND="sqlite")
    with serve_ledger() as ledger, processes(env, tmp_path / "processes.log") as group:
        ledger.hold = True  # the originate is under way when the stop comes
        widget_id = add_widget(
            app, provider="webhook", provider_settings=ledger.settings(read_timeout=30)
        )
        worker = group.worker()
        response = submit_json(app.test_client(), widget_id)
        assert response.status_code == 202
        callback_id = response.get_json()["id"]
        assert ledger.arrived.wait(30), "the originate never reached the provider"

        worker.send_signal(signal.SIGTERM)
        time.sleep(1)
        assert worker.poll() is None, "the worker left its dial job unfinished"
        ledger.release()
        assert worker.wait(timeout=20) == 0
    # The job in hand ran to its end: the provider's answer is recorded, nothing was lost
    # for the reconciler to find, and the provider was asked once.
    assert _statuses(database_url)[callback_id] == Status.AGENT_RINGING
    assert ledger.originates_for(callback_id) == 1
    assert ledger.status_queries == []
    app.extensions["db_engine"].dispose()


def test_web_processes_stopped_with_sigterm_lose_no_accepted_callback(tmp_path: Path) -> None:
    migrated_copy(tmp_path)
    database_url = f"sqlite:///{tmp_path / 'test.db'}"
    app = create_app(base_config(tmp_path))
    widget_id = add_widget(app, provider_settings={"step_delay": 0.05, "talk_time": 0.05})
    env = _env(tmp_path, DATABASE_URL=database_url, QUEUE_BACKEND="sqlite")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with app.app_context():
        tokens = Tokens(app)
        pending = [
            (tokens.issue_form_token(widget_id, ORIGIN), f"+1 201 555 {n:04d}") for n in range(400)
        ]
    lock = threading.Lock()
    accepted: list[str] = []
    answers: list[str] = []  # a status code, or the error that ended a request

    def visitor() -> None:
        while True:
            with lock:
                if not pending:
                    return
                token, phone = pending.pop()
            try:
                response = requests.post(
                    f"{base}/v1/widgets/{widget_id}/callbacks",
                    json={"phone": phone, "token": token},
                    headers={"Origin": ORIGIN},
                    timeout=20,
                )
            except requests.ConnectionError:
                with lock:
                    answers.append("connection")  # the listener is gone: never accepted
                return
            with lock:
                answers.append(str(response.status_code))
                if response.status_code == 202:
                    accepted.append(response.json()["id"])

    with processes(env, tmp_path / "processes.log") as group:
        web = group.web(port)
        wait_for(lambda: _ready(base), "the web processes", 30)
        visitors = [threading.Thread(target=visitor) for _ in range(8)]
        for thread in visitors:
            thread.start()
        wait_for(lambda: len(accepted) >= 20, "submissions under way", 30)
        web.send_signal(signal.SIGTERM)  # gunicorn: finish the requests in hand, then exit
        assert web.wait(timeout=30) == 0
        for thread in visitors:
            thread.join(timeout=30)

        assert set(answers) <= {"202", "connection"}, answers
        # Every submission the server stored was answered 202, and every 202 is stored.
        assert set(_statuses(database_url)) == set(accepted)
        group.worker()  # a consumer started after the web stopped dials all of them
        statuses = _wait_terminal(database_url, accepted)
    assert {statuses[callback_id] for callback_id in accepted} == {Status.COMPLETED}
    app.extensions["db_engine"].dispose()


# --- a provider timing out for minutes ----------------------------------------------------


def test_a_provider_timing_out_for_minutes_is_retried_with_backoff_then_fails(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app()
    jobs = app.extensions["jobs"]
    with WebhookFake() as fake:
        fake.mode = "hang"  # never answers within the read timeout
        widget_id = add_widget(
            app,
            provider="webhook",
            provider_settings=fake.provider_settings(),
            max_retries=3,
            retry_delay=60,
        )
        response = submit_json(app.test_client(), widget_id)
        callback_id = response.get_json()["id"]
        jobs.run_pending(now=time.time())
        delays: list[float] = []

        def attempts() -> int:
            with app.app_context():
                callback = db.session().get(Callback, callback_id)
                assert callback is not None
                return callback.attempts

        # Time is injected: each scheduled retry runs when the clock passes its due time.
        while True:
            with app.app_context():
                callback = db.session().get(Callback, callback_id)
                assert callback is not None
                if callback.status == Status.FAILED:
                    break
                last = (
                    db.session()
                    .query(CallEvent)
                    .filter_by(callback_id=callback_id)
                    .order_by(CallEvent.id.desc())
                    .first()
                )
                assert last is not None and last.cause == "timeout"
                retry_in = float(last.details["retry_in"])
            delays.append(retry_in)
            clock, tried = time.time(), attempts()
            jobs.run_pending(now=clock + retry_in - 2)
            assert attempts() == tried, "retried before its time"
            jobs.run_pending(now=clock + retry_in + 1)
            assert attempts() == tried + 1
            assert len(delays) <= 10
        assert fake.originate_count() == 4  # the first attempt and max_retries more
    with app.app_context():
        callback = db.session().get(Callback, callback_id)
        assert callback is not None
        assert (callback.status, callback.cause, callback.attempts) == (
            Status.FAILED,
            "timeout",
            4,
        )
    assert len(delays) == 3 and delays == sorted(delays) and delays[-1] > delays[0]
    assert sum(delays) >= 120  # minutes of provider outage, not seconds


# --- Redis restarted ----------------------------------------------------------------------


def test_redis_restart_answers_503_meanwhile_and_loses_no_accepted_callback(
    tmp_path: Path,
) -> None:
    migrated_copy(tmp_path)
    database_url = f"sqlite:///{tmp_path / 'test.db'}"
    app = create_app(base_config(tmp_path))
    widget_id = add_widget(app, provider_settings={"step_delay": 0.05, "talk_time": 0.05})
    with private_redis() as redis_server:
        env = _env(tmp_path, DATABASE_URL=database_url, REDIS_URL=redis_server.url)
        accepted, statuses = _through_a_restart(
            tmp_path, env, app, widget_id, database_url, redis_server, "Redis"
        )
    assert {statuses[callback_id] for callback_id in accepted} == {Status.COMPLETED}
    app.extensions["db_engine"].dispose()


# --- PostgreSQL restarted -----------------------------------------------------------------


def test_postgres_restart_answers_503_meanwhile_and_loses_no_accepted_callback(
    tmp_path: Path,
) -> None:
    with private_postgres() as server:
        config: dict[str, Any] = {
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "DATABASE_URL": server.url,
            "QUEUE_BACKEND": "memory",
        }
        app = create_app(config)
        db.upgrade(app)
        widget_id = add_widget(app, provider_settings={"step_delay": 0.05, "talk_time": 0.05})
        app.extensions["db_engine"].dispose()
        env = _env(tmp_path, DATABASE_URL=server.url, QUEUE_BACKEND="sqlite")
        accepted, statuses = _through_a_restart(
            tmp_path, env, app, widget_id, server.url, server, "PostgreSQL"
        )
        assert {statuses[callback_id] for callback_id in accepted} == {Status.COMPLETED}
        assert len(statuses) == 8  # nothing stored for the refused submissions
