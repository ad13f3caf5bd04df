"""Attacks against two app processes sharing real Redis limits and one database file.

Each process is `flask serve` (web and queue consumer in one OS process), so the limits
are only shared through Redis, exactly as in a deployment with several hosts. The provider
is the local Twilio fake, which counts the originates it actually received.
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

from tests.fakes.twilio import Fake as TwilioFake
from tests.helpers import LOOPBACK, ORIGIN, SECRET, add_widget, base_config, migrated_copy
from widget_server import create_app

pytestmark = pytest.mark.redis
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail("Redis is not running on 127.0.0.1:6379; .ci/run starts it")
        print("\nskipping: no Redis on 127.0.0.1:6379")
        pytest.skip("no Redis on 127.0.0.1:6379; CI runs this")
    client.flushdb()
    client.close()
    return REDIS_URL


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{base} exited early:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{base} never became ready:\n{log.read_text()[-3000:]}")


@pytest.fixture
def two_processes(
    tmp_path: Path, redis_url: str
) -> Iterator[tuple[list[str], str, TwilioFake, str]]:
    """Start two `flask serve` processes on one SQLite file and one Redis; yield their URLs,
    the widget id, the provider fake and the database URL."""
    migrated_copy(tmp_path)
    database_url = f"sqlite:///{tmp_path / 'test.db'}"
    with TwilioFake() as provider:
        app = create_app(base_config(tmp_path))
        widget_id = add_widget(
            app,
            provider="twilio",
            extension="+14155550199",
            provider_settings=provider.provider_settings(),
            # Unwhispered, so the originate itself carries the visitor's number (a whispered
            # one dials it only after the agent's key: tests/test_routing_twilio.py).
            whisper=False,
        )
        app.extensions["db_engine"].dispose()
        env = {
            **os.environ,
            "WIDGET_SERVER_SECRET_KEY": SECRET,
            "WIDGET_SERVER_DATABASE_URL": database_url,
            "WIDGET_SERVER_REDIS_URL": redis_url,
            "WIDGET_SERVER_INSTANCE_PATH": str(tmp_path),
            "WIDGET_SERVER_FORM_TOKEN_MIN_AGE": "0",
            "WIDGET_SERVER_LOG_FORMAT": "text",
            # The Twilio fake listens on loopback, allowed as in every test configuration.
            "WIDGET_SERVER_PROVIDER_PRIVATE_HOSTS": ",".join(LOOPBACK),
            # Every request comes from 127.0.0.1: only the per-number limit may decide.
            "WIDGET_SERVER_SUBMIT_LIMIT_PER_IP": "100000 per minute",
            "WIDGET_SERVER_SUBMIT_LIMIT_PER_NUMBER": "1 per 10 minutes;3 per day",
            "WIDGET_SERVER_SUBMIT_LIMIT_PER_PREFIX": "100000 per minute",
            "WIDGET_SERVER_SUBMIT_LIMIT_DISTINCT_NUMBERS_PER_IP": "100000 per minute",
            "WIDGET_SERVER_SUBMIT_LIMIT_PER_WIDGET": "100000 per minute",
            "WIDGET_SERVER_ESCALATE_AFTER_ACCEPTED": "100000 per minute",
            "WIDGET_SERVER_ESCALATE_AFTER_SOURCES": "100000 per minute",
        }
        processes: list[tuple[subprocess.Popen[bytes], str, Path]] = []
        try:
            for index in range(2):
                port = _free_port()
                log = tmp_path / f"serve-{index}.log"
                # Production mode: each server answers at its own address only.
                serve_env = {**env, "WIDGET_SERVER_PUBLIC_ORIGIN": f"http://127.0.0.1:{port}"}
                with log.open("wb") as out:
                    process = subprocess.Popen(
                        [
                            str(BIN / "flask"),
                            "--app",
                            "widget_server",
                            "serve",
                            "--port",
                            str(port),
                        ],
                        cwd=ROOT,
                        env=serve_env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                processes.append((process, f"http://127.0.0.1:{port}", log))
            for process, base, log in processes:
                _wait_ready(base, process, log)
            yield [base for _, base, _ in processes], widget_id, provider, database_url
        finally:
            for process, _, _ in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process, _, _ in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def test_one_hundred_concurrent_submissions_across_two_processes_place_one_call(
    two_processes: tuple[list[str], str, TwilioFake, str],
) -> None:
    bases, widget_id, provider, database_url = two_processes
    headers = {"Origin": ORIGIN}
    with requests.Session() as session:
        tokens = [
            session.get(f"{bases[i % 2]}/v1/widgets/{widget_id}/config", headers=headers).json()[
                "token"
            ]
            for i in range(100)
        ]

    def attempt(index: int) -> int:
        # Half of the requests go to each process, interleaved so they really race.
        return requests.post(
            f"{bases[index % 2]}/v1/widgets/{widget_id}/callbacks",
            json={"phone": "+1 201 555 0123", "token": tokens[index]},
            headers=headers,
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(attempt, range(100)))
    assert statuses.count(202) == 1, statuses
    assert set(statuses) == {202, 429}, statuses

    # The accepted one is dialled by whichever process's consumer takes the job; wait for
    # it, then make sure nothing else arrives.
    deadline = time.monotonic() + 20
    while provider.originate_count() < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)
    assert provider.originate_count() == 1
    [originate] = [entry for entry in provider.received if entry["originate"]]
    assert "+12015550123" in str(originate["body"])  # the visitor's number, as E.164
    engine = create_engine(database_url)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT count(*) FROM callbacks")).scalar()
    engine.dispose()
    assert stored == 1
