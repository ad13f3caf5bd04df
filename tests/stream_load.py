"""Live status streams against a real gunicorn: open many from chosen loopback addresses,
and time other visitors' requests meanwhile. Shared by the attack test and the benchmark.

Linux answers every address of 127.0.0.0/8 on the loopback interface, so a client can
speak from 127.0.0.1 (the attacker) or 127.0.0.2 (another visitor) to the same server.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests import postgres
from tests.helpers import ORIGIN, SECRET, TEST_REDIS_ENV, add_widget, base_config, migrated_copy
from widget_server import create_app

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
ATTACKER = "127.0.0.1"
VISITOR = "127.0.0.2"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    port: int
    widget_id: str
    database_url: str

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connection(self, source: str, timeout: float = 10) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=timeout, source_address=(source, 0)
        )

    def request(
        self,
        method: str,
        path: str,
        source: str = VISITOR,
        body: dict[str, Any] | None = None,
        timeout: float = 10,
    ) -> tuple[int, dict[str, str], bytes]:
        connection = self.connection(source, timeout)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            headers = {"Origin": ORIGIN, "Connection": "close"}
            if payload is not None:
                headers["Content-Type"] = "application/json"
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def honeypot_status_path(self) -> str:
        """Submit with the honeypot filled in; return the status path it was answered."""
        status, _headers, body = self.request("GET", f"/v1/widgets/{self.widget_id}/config")
        assert status == 200, body
        token = json.loads(body)["token"]
        status, _headers, body = self.request(
            "POST",
            f"/v1/widgets/{self.widget_id}/callbacks",
            body={"phone": "+1 201 555 0123", "token": token, "website": "https://spam.example"},
        )
        assert status == 202, body
        status_url = json.loads(body)["status_url"]
        assert status_url.startswith(self.origin + "/v1/callbacks/"), status_url
        return str(status_url).removeprefix(self.origin)


@dataclass
class Stream:
    status: int
    headers: dict[str, str]
    sock: socket.socket | None  # open while the server keeps the stream going
    start: bytes = b""  # what arrived with the answer's head
    opened_at: float = field(default_factory=time.monotonic)

    def read_to_end(self, seconds: float) -> bytes:
        """Read until the server ends the stream (or `seconds` pass); return the body."""
        if self.sock is None:
            return b""
        self.sock.settimeout(seconds)
        chunks = [self.start]
        try:
            while chunk := self.sock.recv(65536):
                chunks.append(chunk)
        finally:
            self.close()
        return b"".join(chunks)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def open_stream(port: int, path: str, source: str, answer_within: float = 30) -> Stream:
    """Open one event stream from `source`; read only the answer's head.

    A server that gives no answer within `answer_within` seconds (every thread busy) gets
    status 0: the request stays open and waits for a thread.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0))
    sock.sendall(
        f"GET {path}/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Accept: text/event-stream\r\nOrigin: {ORIGIN}\r\n\r\n".encode()
    )
    sock.settimeout(answer_within)
    head = b""
    try:
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    except TimeoutError:
        return Stream(0, {}, sock, head)
    head, _, start = head.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if status != 200:
        sock.close()
        return Stream(status, headers, None)
    return Stream(status, headers, sock, start)


def open_streams(
    port: int, path: str, sources: list[str], answer_within: float = 30
) -> list[Stream]:
    """Open one stream per entry of `sources`, up to 50 at a time."""
    with ThreadPoolExecutor(max_workers=min(50, len(sources))) as pool:
        return list(
            pool.map(lambda source: open_stream(port, path, source, answer_within), sources)
        )


@contextmanager
def closing_all() -> Iterator[list[Stream]]:
    """Collect streams; close whichever are still open at the end, whatever happened."""
    streams: list[Stream] = []
    try:
        yield streams
    finally:
        for stream in streams:
            stream.close()


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def config_latencies(
    server: Server, requests: int, source: str = VISITOR, timeout: float = 60
) -> list[float]:
    """Time `requests` sequential widget config fetches, each on a new connection.

    A fetch with no answer within `timeout` counts as `timeout` seconds.
    """
    seconds = []
    for _ in range(requests):
        started = time.perf_counter()
        try:
            status, _headers, body = server.request(
                "GET", f"/v1/widgets/{server.widget_id}/config", source, timeout=timeout
            )
        except TimeoutError:
            seconds.append(timeout)
            continue
        seconds.append(time.perf_counter() - started)
        assert status == 200 and b'"token"' in body, (status, body[:200])
    return seconds


def environment(folder: Path, port: int, **settings: str) -> dict[str, str]:
    env = {
        **os.environ,
        "WIDGET_SERVER_SECRET_KEY": SECRET,
        "WIDGET_SERVER_DATABASE_URL": f"sqlite:///{folder / 'test.db'}",
        "WIDGET_SERVER_QUEUE_BACKEND": "sqlite",
        "WIDGET_SERVER_QUEUE_PATH": str(folder / "queue.db"),
        "WIDGET_SERVER_INSTANCE_PATH": str(folder),
        "WIDGET_SERVER_PUBLIC_ORIGIN": f"http://127.0.0.1:{port}",
        "WIDGET_SERVER_FORM_TOKEN_MIN_AGE": "0",
        "WIDGET_SERVER_LOG_FORMAT": "text",
    }
    env.update({f"WIDGET_SERVER_{key}": value for key, value in settings.items()})
    return env


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serve(
    folder: Path,
    provider_settings: dict[str, Any],
    *,
    provider: str = "webhook",
    consumer: bool = True,
    gunicorn_options: tuple[str, ...] = ("-w", "1"),
    **settings: str,
) -> Iterator[Server]:
    """Run gunicorn with the production config (deploy/gunicorn.conf.py, `gunicorn_options`
    on top) and, unless told otherwise, a queue consumer, on a fresh database: SQLite, or
    PostgreSQL with limits in Redis when the suite runs there (WIDGET_SERVER_TEST_POSTGRES)."""
    migrated_copy(folder)
    stores: dict[str, str] = {}
    if postgres.enabled():
        stores["DATABASE_URL"] = postgres.database_for_test()
        if redis_limits := os.environ.get(TEST_REDIS_ENV):
            stores["RATELIMIT_STORAGE_URI"] = redis_limits
    app = create_app(base_config(folder, **stores))
    widget_id = add_widget(app, provider=provider, provider_settings=provider_settings)
    app.extensions["db_engine"].dispose()
    port = free_port()
    env = environment(folder, port, **stores, **settings)
    commands = [
        [str(BIN / "gunicorn"), "-c", str(GUNICORN_CONFIG), *gunicorn_options]
        + ["-b", f"127.0.0.1:{port}", "wsgi:app"],
    ]
    if consumer:
        commands.append([str(BIN / "flask"), "--app", "widget_server", "worker", "--workers", "1"])
    logs = (folder / "processes.log").open("ab")
    processes = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=logs, stderr=subprocess.STDOUT)
        for command in commands
    ]
    server = Server(port, widget_id, env["WIDGET_SERVER_DATABASE_URL"])
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if server.request("GET", "/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or processes[0].poll() is not None:
                raise AssertionError((folder / "processes.log").read_text(errors="replace"))
            time.sleep(0.2)
        yield server
    finally:
        for process in processes:
            _stop(process)
        logs.close()
