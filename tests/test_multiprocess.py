"""Scaled out: two gunicorn workers and two queue consumers on PostgreSQL and Redis.

200 callbacks go through the simulator; every one must reach a terminal status exactly
once, with exactly one originate. Runs in CI (PostgreSQL and Redis are on the machine).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests
from sqlalchemy import create_engine, text

from tests import postgres
from tests.helpers import ORIGIN, SECRET, add_widget
from widget_server import create_app

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REDIS_URL = "redis://127.0.0.1:6379/14"
pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def _need_services() -> None:
    missing = []
    if not postgres.enabled():
        missing.append("WIDGET_SERVER_TEST_POSTGRES")
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        missing.append("Redis on 127.0.0.1:6379")
    if missing:
        if os.environ.get("CI"):
            pytest.fail("CI must provide " + " and ".join(missing))
        print("\nskipping the multi-process test: needs " + " and ".join(missing))
        pytest.skip("needs " + " and ".join(missing))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    _need_services()
    redis.Redis.from_url(REDIS_URL).flushdb()
    database_url = postgres.database_for_test()
    env = {
        **os.environ,
        "WIDGET_SERVER_SECRET_KEY": SECRET,
        "WIDGET_SERVER_DATABASE_URL": database_url,
        "WIDGET_SERVER_REDIS_URL": REDIS_URL,
        "WIDGET_SERVER_INSTANCE_PATH": str(tmp_path),
        "WIDGET_SERVER_FORM_TOKEN_MIN_AGE": "0",
        "WIDGET_SERVER_SUBMIT_LIMIT_PER_IP": "100000 per minute",
        "WIDGET_SERVER_SUBMIT_LIMIT_PER_PREFIX": "100000 per minute",
        "WIDGET_SERVER_SUBMIT_LIMIT_DISTINCT_NUMBERS_PER_IP": "100000 per minute",
        "WIDGET_SERVER_SUBMIT_LIMIT_PER_WIDGET": "100000 per minute",
        # 200 submissions on one widget: never under pressure, no human check is asked.
        "WIDGET_SERVER_ESCALATE_AFTER_ACCEPTED": "100000 per minute",
        "WIDGET_SERVER_ESCALATE_AFTER_SOURCES": "100000 per minute",
        "WIDGET_SERVER_LOG_FORMAT": "text",
    }
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "DATABASE_URL": database_url,
            "QUEUE_BACKEND": "memory",
        }
    )
    widget_id = add_widget(app, provider_settings={"step_delay": 0.2, "talk_time": 0.2})
    app.extensions["db_engine"].dispose()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env["WIDGET_SERVER_PUBLIC_ORIGIN"] = base
    logs = (tmp_path / "processes.log").open("w")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.append(
            subprocess.Popen(
                [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"],
                cwd=ROOT,
                env=env,
                stdout=logs,
                stderr=subprocess.STDOUT,
            )
        )
        for _ in range(2):
            processes.append(
                subprocess.Popen(
                    [str(BIN / "flask"), "--app", "widget_server", "worker", "--workers", "2"],
                    cwd=ROOT,
                    env=env,
                    stdout=logs,
                    stderr=subprocess.STDOUT,
                )
            )
        _wait_ready(base)
        yield base, widget_id, database_url
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        logs.close()
        postgres.drop(database_url)


def _wait_ready(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError("the web processes never became ready")


def test_200_callbacks_each_reach_one_terminal_status_exactly_once(
    cluster: tuple[str, str, str],
) -> None:
    base, widget_id, database_url = cluster

    def submit(index: int) -> int:
        with requests.Session() as session:
            headers = {"Origin": ORIGIN}
            config = session.get(f"{base}/v1/widgets/{widget_id}/config", headers=headers)
            response = session.post(
                f"{base}/v1/widgets/{widget_id}/callbacks",
                headers=headers,
                timeout=10,
                json={"phone": f"+1 201 555 {index:04d}", "token": config.json()["token"]},
            )
            return response.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(submit, range(200)))
    assert statuses.count(202) == 200, statuses

    engine = create_engine(database_url)
    terminal = "('completed','failed','no_answer','busy','canceled','rejected')"
    deadline = time.monotonic() + 90
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            done = connection.execute(
                text(f"SELECT count(*) FROM callbacks WHERE status IN {terminal}")
            ).scalar()
            if done == 200:
                break
            time.sleep(0.5)
        statuses_by_callback = connection.execute(
            text(
                "SELECT c.status, c.attempts, "
                f"(SELECT count(*) FROM call_events e WHERE e.callback_id = c.id AND e.applied "
                f"AND e.status IN {terminal}), "
                "(SELECT count(*) FROM call_events e WHERE e.callback_id = c.id "
                "AND e.status = 'dialing' AND e.source = 'server') FROM callbacks c"
            )
        ).all()
    engine.dispose()
    assert len(statuses_by_callback) == 200
    assert {row[0] for row in statuses_by_callback} == {"completed"}
    assert all(row[1] == 1 and row[2] == 1 and row[3] == 1 for row in statuses_by_callback)
