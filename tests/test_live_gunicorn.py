"""The live status stream under gunicorn's gthread workers, next to a real queue consumer."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.helpers import ORIGIN, SECRET, add_widget, base_config, migrated_copy
from widget_server import create_app

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    migrated_copy(tmp_path)
    database_url = f"sqlite:///{tmp_path / 'test.db'}"
    app = create_app(base_config(tmp_path))
    widget_id = add_widget(app, provider_settings={"step_delay": 0.5, "talk_time": 0.5})
    app.extensions["db_engine"].dispose()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "WIDGET_SERVER_SECRET_KEY": SECRET,
        "WIDGET_SERVER_PUBLIC_ORIGIN": base,
        "WIDGET_SERVER_DATABASE_URL": database_url,
        "WIDGET_SERVER_QUEUE_BACKEND": "sqlite",
        "WIDGET_SERVER_QUEUE_PATH": str(tmp_path / "queue.db"),
        "WIDGET_SERVER_INSTANCE_PATH": str(tmp_path),
        "WIDGET_SERVER_FORM_TOKEN_MIN_AGE": "0",
        "WIDGET_SERVER_LIVE_POLL_INTERVAL": "0.1",
        "WIDGET_SERVER_LIVE_STREAM_SECONDS": "8",
        "WIDGET_SERVER_LOG_FORMAT": "text",
    }
    logs = (tmp_path / "processes.log").open("w")
    commands = [
        [str(BIN / "gunicorn"), "-w", "1", "-k", "gthread", "--threads", "8"]
        + ["-b", f"127.0.0.1:{port}", "wsgi:app"],
        [str(BIN / "flask"), "--app", "widget_server", "worker", "--workers", "1"],
    ]
    processes = [
        subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=logs, stderr=subprocess.STDOUT)
        for cmd in commands
    ]
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        yield base, widget_id
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


def test_streams_follow_a_call_while_other_requests_are_served(
    server: tuple[str, str],
) -> None:
    base, widget_id = server
    with requests.Session() as http:
        token = http.get(
            f"{base}/v1/widgets/{widget_id}/config", headers={"Origin": ORIGIN}
        ).json()["token"]
        assert token
        accepted = http.post(
            f"{base}/v1/widgets/{widget_id}/callbacks",
            json={"phone": "+1 201 555 0123", "token": token},
            headers={"Origin": ORIGIN},
            timeout=10,
        )
        assert accepted.status_code == 202, accepted.text
        status_url = accepted.json()["status_url"]
        # Idle streams hold threads of the same worker; the call's stream still flows.
        idle = [requests.get(status_url + "/events", stream=True, timeout=30) for _ in range(3)]
        stream = requests.get(
            status_url + "/events", stream=True, timeout=30, headers={"Origin": ORIGIN}
        )
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        assert stream.headers["Access-Control-Allow-Origin"] == ORIGIN
        started = time.monotonic()
        assert http.get(f"{base}/healthz", timeout=5).status_code == 200
        assert time.monotonic() - started < 2
        seen = []
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("data: "):
                seen.append(json.loads(line[6:])["status"])
        stream.close()
        for response in idle:
            response.close()
    assert seen[-1] == "completed", seen
    assert seen == sorted(set(seen), key=seen.index)
    # Polled, so a step shorter than the poll interval may be skipped, never reordered.
    assert len(seen) >= 3, seen
