"""Production-mode processes for benchmarks: a private Redis, a fresh PostgreSQL database,
gunicorn web workers and queue consumers, form tokens minted ahead, and process memory.

PostgreSQL: WIDGET_SERVER_BENCH_POSTGRES (default: the local server as user postgres); a
database is created for the run and dropped after it. Redis: a private redis-server on a
free loopback port, without persistence, stopped after the run.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import phonenumbers
import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from tests.helpers import ORIGIN, SECRET, add_widget  # noqa: E402
from widget_server import create_app  # noqa: E402
from widget_server.core import db  # noqa: E402
from widget_server.core.tokens import Tokens  # noqa: E402

POSTGRES = os.environ.get(
    "WIDGET_SERVER_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
GENEROUS = "100000000 per minute"
# Every check still runs (origin, token, number policy, block list, leases, each limit's
# atomic hit); the limits are only set high enough not to refuse a benchmark's traffic.
BENCH_SETTINGS = {
    "FORM_TOKEN_MIN_AGE": "0",
    "SUBMIT_LIMIT_PER_IP": GENEROUS,
    "SUBMIT_LIMIT_PER_NUMBER": GENEROUS,
    "SUBMIT_LIMIT_PER_PREFIX": GENEROUS,
    "SUBMIT_LIMIT_DISTINCT_NUMBERS_PER_IP": GENEROUS,
    "SUBMIT_LIMIT_PER_WIDGET": GENEROUS,
    "ESCALATE_AFTER_ACCEPTED": GENEROUS,  # a benchmark is one "farm": never asked to prove
    "ESCALATE_AFTER_SOURCES": GENEROUS,
    "ACCOUNT_DAILY_CALL_BUDGET": "100000000 per day",
    "DAILY_CALL_BUDGET": "100000000 per day",
    "DAILY_MINUTE_BUDGET": "1000000000 per day",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def private_redis() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait(lambda: _redis_up(port), "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _redis_up(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(port=port).ping())
    except redis.RedisError:
        return False


@contextmanager
def fresh_database() -> Iterator[str]:
    """Create and migrate a PostgreSQL database for one run; drop it afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"ws_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    try:
        app = create_app(_app_config(url))
        db.upgrade(app)
        app.extensions["db_engine"].dispose()
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _app_config(database_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": SECRET,
        "DATABASE_URL": database_url,
        "QUEUE_BACKEND": "memory",
        **extra,
    }


def bench_widget(database_url: str, **properties: Any) -> str:
    app = create_app(_app_config(database_url))
    values = {"provider_settings": {"step_delay": 0.05, "talk_time": 0.05}}
    values.update(properties)
    widget_id = add_widget(app, **values)
    app.extensions["db_engine"].dispose()
    return widget_id


def mint_tokens(database_url: str, widget_id: str, count: int) -> list[str]:
    """Form tokens as /config hands them out (each is single-use), minted ahead of the run."""
    app = create_app(_app_config(database_url))
    with app.app_context():
        tokens = Tokens(app)
        minted = [tokens.issue_form_token(widget_id, ORIGIN) for _ in range(count)]
    app.extensions["db_engine"].dispose()
    return minted


def numbers(count: int, offset: int = 0) -> list[str]:
    """Distinct valid US numbers (New Jersey, 201), E.164."""
    found: list[str] = []
    candidate = 2_012_000_000 + offset
    while len(found) < count:
        text = f"+1{candidate}"
        candidate += 1
        if phonenumbers.is_valid_number(phonenumbers.parse(text)):
            found.append(text)
    return found


# The scraper's token: /metrics answers only with it.
METRICS_TOKEN = "bench-metrics-token"
SCRAPE_HEADERS = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def environment(database_url: str, redis_url: str, instance: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "WIDGET_SERVER_SECRET_KEY": SECRET,
        "WIDGET_SERVER_DATABASE_URL": database_url,
        "WIDGET_SERVER_REDIS_URL": redis_url,
        "WIDGET_SERVER_INSTANCE_PATH": str(instance),
        # Queue consumers build event URLs from it; a web process sets its own address.
        "WIDGET_SERVER_PUBLIC_ORIGIN": "http://127.0.0.1",
        "PROMETHEUS_MULTIPROC_DIR": str(instance / "metrics"),
        "WIDGET_SERVER_METRICS_TOKEN": METRICS_TOKEN,
    }
    (instance / "metrics").mkdir(parents=True, exist_ok=True)
    env.update({f"WIDGET_SERVER_{key}": value for key, value in BENCH_SETTINGS.items()})
    env.update(extra)
    return env


@dataclass
class Web:
    url: str
    process: subprocess.Popen[bytes]

    def worker_pids(self) -> list[int]:
        return children(self.process.pid)


@contextmanager
def gunicorn(
    app_spec: str,
    env: dict[str, str],
    *,
    workers: int = 2,
    cwd: Path = ROOT,
    ready_path: str = "/healthz",
    log: Path | None = None,
    options: tuple[str, ...] = (),
) -> Iterator[Web]:
    """Serve `app_spec` with gunicorn on a free loopback port (sync workers unless `options`
    say otherwise, e.g. ("-k", "gthread", "--threads", "16"))."""
    port = free_port()
    out = log.open("ab") if log else subprocess.DEVNULL
    # Production mode: the server answers at its own address only.
    env = {**env, "WIDGET_SERVER_PUBLIC_ORIGIN": f"http://127.0.0.1:{port}"}
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "-w",
            str(workers),
            *options,
            "-b",
            f"127.0.0.1:{port}",
            app_spec,
        ],
        cwd=cwd,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _answers(url + ready_path), "gunicorn")
        while len(children(process.pid)) < workers:
            time.sleep(0.1)
        yield Web(url, process)
    finally:
        stop(process)
        if log:
            out.close()  # type: ignore[union-attr]


@contextmanager
def consumer(env: dict[str, str], workers: int = 2, log: Path | None = None) -> Iterator[int]:
    out = log.open("ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [str(BIN / "flask"), "--app", "widget_server", "worker", "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process.pid
    finally:
        stop(process)
        if log:
            out.close()  # type: ignore[union-attr]


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _wait(probe: Any, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command may hold spaces and parentheses: the ppid follows the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (0 once it is gone)."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def processes_matching(*words: str) -> list[int]:
    """Processes whose command line holds every one of `words` (e.g. a database's name)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if all(word in command for word in words):
            found.append(int(entry.name))
    return found


class CpuLedger:
    """CPU time used by each group of processes over one stretch of a benchmark.

    Groups are named callables returning pids, read at the start and the end: the web
    workers, the database's backends (PostgreSQL names each backend's database in its
    command line), Redis, and the load generator (the CPU of finished child processes).
    """

    def __init__(self, groups: dict[str, Any]) -> None:
        self.groups = groups
        self.used: dict[str, float] = {}

    def __enter__(self) -> CpuLedger:
        self._start = {name: self._read(pids) for name, pids in self.groups.items()}
        self._children = _children_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        for name, pids in self.groups.items():
            end = self._read(pids)
            self.used[name] = sum(end[pid] - self._start[name].get(pid, 0.0) for pid in end)
        self.used["load generator"] = _children_cpu() - self._children

    @staticmethod
    def _read(pids: Any) -> dict[int, float]:
        return {pid: cpu_seconds(pid) for pid in pids()}

    def per_request_ms(self, requests: int) -> dict[str, float]:
        return {name: 1000 * used / max(requests, 1) for name, used in self.used.items()}


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak resident set) of a process, in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    script: Path | None = None,
    args: list[str] | None = None,
    threads: int = 2,
) -> str:
    command = wrk_command(url, seconds, connections, script, args, threads)
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def wrk_command(
    url: str,
    seconds: float,
    connections: int,
    script: Path | None = None,
    args: list[str] | None = None,
    threads: int = 2,
) -> list[str]:
    command = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds:g}s",
        "--latency",
    ]
    if script:
        command += ["-s", str(script)]
    command.append(url)
    if args:
        command += ["--", *args]
    return command


def latency_ms(wrk_output: str, percent: str) -> float:
    """A percentile of wrk's --latency distribution ("50", "99"), in milliseconds."""
    found = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", wrk_output, re.MULTILINE)
    if not found:
        raise ValueError(f"wrk printed no {percent}% latency")
    return float(found.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]


def requests_per_second(wrk_output: str) -> float:
    for line in wrk_output.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise ValueError("wrk printed no Requests/sec line")


@contextmanager
def scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="widget-server-bench-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def token_files(
    folder: Path, database_url: str, widget_id: str, per_thread: int, threads: int, offset: int = 0
) -> str:
    """Write `<prefix>-<n>.txt` files of "token<TAB>number" lines; return the prefix."""
    prefix = folder / "tokens"
    minted = mint_tokens(database_url, widget_id, per_thread * threads)
    phones = numbers(per_thread * threads, offset)
    for thread in range(threads):
        part = slice(thread * per_thread, (thread + 1) * per_thread)
        lines = [f"{t}\t{p}" for t, p in zip(minted[part], phones[part], strict=True)]
        (folder / f"tokens-{thread}.txt").write_text("\n".join(lines) + "\n")
    return str(prefix)


@dataclass
class Backend:
    """One way to run the product for a benchmark: its name, database, environment and the
    processes besides the web workers whose CPU a request costs."""

    name: str
    database_url: str
    env: dict[str, str]
    stores: dict[str, Any]


BACKENDS = ("embedded", "postgresql")


@contextmanager
def backend(name: str, folder: Path) -> Iterator[Backend]:
    """The embedded default ("embedded": a SQLite file, limits in each worker's memory, the
    SQLite queue) or production ("postgresql": a fresh PostgreSQL database, a private Redis
    for limits and the queue), with JSON logs either way."""
    from sqlalchemy.engine import make_url

    from tests.helpers import migrated_copy

    place = folder / name
    place.mkdir()
    if name == "embedded":
        migrated_copy(place)
        url = f"sqlite:///{place / 'test.db'}"
        env = environment(url, "", place, WIDGET_SERVER_LOG_FORMAT="json")
        del env["WIDGET_SERVER_REDIS_URL"]
        yield Backend("embedded default (SQLite, memory limits)", url, env, {})
        return
    with private_redis() as redis_url, fresh_database() as url:
        env = environment(url, redis_url, place, WIDGET_SERVER_LOG_FORMAT="json")
        database = make_url(url).database or ""
        port = f":{make_url(redis_url).port}"
        stores = {
            "PostgreSQL": lambda: processes_matching("postgres:", database),
            "Redis": lambda: processes_matching("redis-server", port),
        }
        yield Backend("PostgreSQL + Redis", url, env, stores)


def have_wrk() -> bool:
    """wrk drives the load; without it, say so in one line rather than a traceback."""
    if shutil.which("wrk"):
        return True
    print("wrk is not installed (Debian: apt-get install wrk); this benchmark needs it.")
    return False
