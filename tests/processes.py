"""Private servers and widget-server processes for the fault tests, always cleaned up.

The fault tests stop and restart their stores, so they never touch the machine's shared
PostgreSQL and Redis: each starts its own on a free loopback port in a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOOPBACK = "http://127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(probe: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def need(binary: str | None, what: str) -> str:
    """Return the binary's path; skip with a reason outside CI, fail in CI, when missing."""
    if binary and Path(binary).exists():
        return binary
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide {what}")
    print(f"\nskipping: needs {what}")
    pytest.skip(f"needs {what}")


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class PrivateRedis:
    """A redis-server without persistence on a free port; stop() and start() at will."""

    def __init__(self) -> None:
        self.binary = need(shutil.which("redis-server"), "redis-server")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for(self.up, "redis-server")

    def up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary folder (initdb, pg_ctl) on a free port.

    PostgreSQL refuses to run as root, so as root the server runs as the postgres user.
    """

    def __init__(self) -> None:
        bin_dir = _postgres_bin()
        need(str(bin_dir / "pg_ctl") if bin_dir else None, "PostgreSQL (initdb, pg_ctl)")
        assert bin_dir is not None
        self.bin = bin_dir
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="widget-server-pg-"))
        self.data = self.folder / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:
            import pwd

            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.remove()


@dataclass
class Processes:
    """widget-server processes sharing one environment and one log file."""

    env: dict[str, str]
    log: Path

    def __post_init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []

    def _start(self, command: list[str], origin: str | None = None) -> subprocess.Popen[bytes]:
        # Production mode needs a public origin: a web process's is its own address.
        env = {"WIDGET_SERVER_PUBLIC_ORIGIN": LOOPBACK, **self.env}
        if origin:
            env["WIDGET_SERVER_PUBLIC_ORIGIN"] = origin
        with self.log.open("ab") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        self.running.append(process)
        return process

    def web(self, port: int, workers: int = 2) -> subprocess.Popen[bytes]:
        return self._start(
            [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "wsgi:app"],
            origin=f"{LOOPBACK}:{port}",
        )

    def worker(self, threads: int = 2, seconds: float = 60) -> subprocess.Popen[bytes]:
        """Start a queue consumer and wait until it consumes (its start-up pass done)."""
        started = self._consumers_started()
        process = self._start(
            [str(BIN / "flask"), "--app", "widget_server", "worker", "--workers", str(threads)]
        )
        wait_for(lambda: self._consumers_started() > started, "the queue consumer", seconds)
        return process

    def _consumers_started(self) -> int:
        if not self.log.exists():
            return 0
        return self.log.read_text(errors="replace").count("Huey consumer started")

    def stop_all(self) -> None:
        for process in self.running:
            stop(process)


@contextmanager
def processes(env: dict[str, str], log: Path) -> Iterator[Processes]:
    group = Processes(env, log)
    try:
        yield group
    finally:
        group.stop_all()
