"""CPU per request of a submission and of each refusal, against a naive implementation.

Everything runs in this one process and thread: the product app, a bare "hello" app and a
naive implementation of the same checks (JSON parse, itsdangerous loads, phonenumbers
parse and validate, one Core INSERT, one moving-window hit) on the same database and the
same kind of limit store. Requests go through Werkzeug's test client; a WSGI wrapper reads
`time.thread_time()` around each app call, so the client's own work is not counted. The
cells are interleaved (A, B, C, … then again), so a busy machine slows them alike.

For each refusal it also records whether the request took the database write lock or
wrote: every statement is counted (SQLAlchemy's `before_cursor_execute`, and on SQLite the
driver's trace callback, which also sees statements sent outside SQLAlchemy).

Then the same accepted submission on a database holding 1,000,000 callbacks with a limit
store holding 100,000 live keys, against an empty database and store, again interleaved.

Embedded default: SQLite file, in-process limit store. With WIDGET_SERVER_TEST_POSTGRES and
WIDGET_SERVER_TEST_REDIS set: PostgreSQL and Redis as well (Redis database 12 of that server,
emptied before and after; the tests' database is left alone).

    .venv/bin/python benchmarks/submission_cpu.py [--requests 500] [--rows 1000000]
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from _naive import HIGH, naive_app, serializer_for  # noqa: E402
from flask import Flask  # noqa: E402
from limits import parse  # noqa: E402
from limits.storage import storage_from_string  # noqa: E402
from limits.strategies import MovingWindowRateLimiter  # noqa: E402
from sqlalchemy import Engine, event, text  # noqa: E402
from werkzeug.test import Client  # noqa: E402

from tests import postgres  # noqa: E402
from tests.helpers import ORIGIN, add_widget, base_config, migrated_copy  # noqa: E402
from widget_server import create_app  # noqa: E402
from widget_server.core.heap import freeze_startup_objects  # noqa: E402
from widget_server.core.tokens import tokens  # noqa: E402
from widget_server.intake import limit_store  # noqa: E402
from widget_server.intake.guard import STORAGE  # noqa: E402
from widget_server.web.limits import limiter  # noqa: E402

ACCEPTED_GOAL = 3.0  # accepted submission / naive, at most
REFUSAL_GOAL_MS = {"sqlite": 0.5, "postgresql": 0.7}
STATE_GOAL = 1.1  # with stored state / without, at most
BENCH_DIR = ROOT / "instance" / "bench"
FOREIGN = "https://elsewhere.example"
LIMITED_IP = "10.255.255.1"
BENCH_REDIS_DB = 12  # the tests use 11 (and empty it at every test)


class CpuMeter:
    """Wrap a WSGI app; keep the request thread's CPU time of each call."""

    def __init__(self, wsgi: Callable[..., Any]):
        self.wsgi = wsgi
        self.last = 0.0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.thread_time()
        try:
            # The body is consumed inside, as a server would before the next request.
            return [b"".join(self.wsgi(environ, start_response))]
        finally:
            self.last = time.thread_time() - started


@dataclass
class Statements:
    """What the database was asked during one request, by each of the ways it is seen."""

    counts: dict[str, list[int]] = field(default_factory=dict)  # source: [writes, locks]

    def note(self, source: str, statement: str) -> None:
        head = statement.lstrip().upper()
        count = self.counts.setdefault(source, [0, 0])
        if head.startswith(("INSERT", "UPDATE", "DELETE")):
            count[0] += 1
        if head.startswith(("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")):
            count[1] += 1

    @property
    def writes(self) -> int:
        return max((count[0] for count in self.counts.values()), default=0)

    @property
    def write_locks(self) -> int:
        return max((count[1] for count in self.counts.values()), default=0)

    def reset(self) -> None:
        self.counts.clear()


def watch(engine: Engine, statements: Statements) -> None:
    """Count every statement `engine` sends from now on."""
    event.listen(
        engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_rest: statements.note("sqlalchemy", statement),
    )
    if engine.dialect.name == "sqlite":
        # Statements a listener sends straight to the driver are seen here too.
        def trace(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            dbapi_connection.set_trace_callback(lambda sql: statements.note("driver", sql))

        event.listen(engine, "connect", trace)
    engine.dispose()  # connections made before this are not traced


@dataclass
class Backend:
    name: str  # "sqlite" or "postgresql"
    limits_uri: str
    database_url: Callable[[Path], str]
    cleanup: list[Callable[[], None]] = field(default_factory=list)


def backends() -> Iterator[Backend]:
    yield Backend("sqlite", limit_store.URI, lambda folder: f"sqlite:///{folder / 'test.db'}")
    if postgres.enabled() and os.environ.get("WIDGET_SERVER_TEST_REDIS"):
        limits_uri = bench_redis(os.environ["WIDGET_SERVER_TEST_REDIS"])
        flush = lambda: redis.Redis.from_url(limits_uri).flushdb()  # noqa: E731
        flush()
        yield Backend(
            "postgresql", limits_uri, lambda _folder: postgres.database_for_test(), [flush]
        )


def bench_redis(test_redis: str) -> str:
    """The tests' Redis server, in a database of the benchmark's own (it is emptied)."""
    return urlunsplit(urlsplit(test_redis)._replace(path=f"/{BENCH_REDIS_DB}"))


def product_app(backend: Backend, folder: Path, database_url: str | None = None) -> Flask:
    url = database_url or backend.database_url(folder)
    if url.startswith("sqlite") and not Path(url.removeprefix("sqlite:///")).exists():
        migrated_copy(folder)
    if url.startswith("postgresql") and database_url is None:
        backend.cleanup.append(lambda: postgres.drop(url))
    settings = base_config(
        folder,
        DATABASE_URL=url,
        RATELIMIT_STORAGE_URI=backend.limits_uri,
        QUEUE_BACKEND="memory",
        SUBMIT_LIMIT_PER_IP=HIGH,
        SUBMIT_LIMIT_PER_NUMBER=HIGH,
        SUBMIT_LIMIT_PER_PREFIX=HIGH,
        SUBMIT_LIMIT_DISTINCT_NUMBERS_PER_IP=HIGH,
        SUBMIT_LIMIT_PER_WIDGET=HIGH,
        ACCOUNT_DAILY_CALL_BUDGET=HIGH,
        DAILY_CALL_BUDGET=HIGH,
        DAILY_MINUTE_BUDGET=HIGH,
    )
    app = create_app(settings)
    quiet_logs()
    return app


def quiet_logs() -> None:
    # Log lines are still formatted (a real cost of every request), only not shown.
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - lives with the process


def hello_app() -> Flask:
    app = Flask("hello")
    app.add_url_rule("/hello", "hello", lambda: "hello")
    return app


class Numbers:
    """Distinct valid numbers and addresses, so no lease or limit refuses a submission."""

    def __init__(self, start: int):
        self.serial = itertools.count(start)

    def next(self) -> tuple[str, str]:
        n = next(self.serial)
        return f"+1201{2000000 + n % 7000000:07d}", f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


@dataclass
class Cell:
    name: str
    send: Callable[[], tuple[CpuMeter, int]]  # make one request; its meter and status
    expected: int
    refusal: bool = False
    cpu: list[float] = field(default_factory=list)
    writes: int = 0
    write_locks: int = 0
    wrong_status: int = 0


def run_interleaved(cells: list[Cell], requests: int, statements: Statements) -> None:
    for cell in cells:  # one warm-up each: imports, compiled statements, pools
        cell.send()
    freeze_startup_objects()  # as a serving process does once it is up (wsgi.py)
    for _ in range(requests):
        for cell in cells:
            statements.reset()
            meter, status = cell.send()
            cell.cpu.append(meter.last * 1000)
            cell.writes += statements.writes
            cell.write_locks += statements.write_locks
            if status != cell.expected:
                cell.wrong_status += 1


def median(values: list[float]) -> float:
    return statistics.median(values)


class Product:
    """One product app with its meter, widget and a way to mint form tokens."""

    def __init__(self, app: Flask, widget_id: str | None = None):
        self.app = app
        self.meter = CpuMeter(app.wsgi_app)
        app.wsgi_app = self.meter  # type: ignore[method-assign]
        self.client = Client(app)
        self.widget_id = widget_id or add_widget(app, throttle=0)
        self.storage = app.extensions[STORAGE]
        self.strategy = limiter._limiter

    def token(self, origin: str = ORIGIN) -> str:
        with self.app.app_context():
            return tokens().issue_form_token(self.widget_id, origin)

    def post(self, body: dict[str, Any], origin: str, ip: str, widget_id: str | None = None) -> int:
        # flask-limiter keeps one storage per process; point it at this app's store.
        limiter._storage, limiter._limiter = self.storage, self.strategy
        response = self.client.post(
            f"/v1/widgets/{widget_id or self.widget_id}/callbacks",
            json=body,
            headers={"Origin": origin},
            environ_base={"REMOTE_ADDR": ip},
        )
        return response.status_code


def refusal_cells(product: Product, numbers: Numbers) -> list[Cell]:
    app = product.app

    def accepted() -> tuple[CpuMeter, int]:
        phone, ip = numbers.next()
        token = product.token()
        return product.meter, product.post({"phone": phone, "token": token}, ORIGIN, ip)

    def foreign_origin() -> tuple[CpuMeter, int]:
        phone, ip = numbers.next()
        token = product.token()
        return product.meter, product.post({"phone": phone, "token": token}, FOREIGN, ip)

    def invalid_number() -> tuple[CpuMeter, int]:
        _phone, ip = numbers.next()
        token = product.token()
        return product.meter, product.post({"phone": "+1 201 555", "token": token}, ORIGIN, ip)

    def bad_token() -> tuple[CpuMeter, int]:
        phone, ip = numbers.next()
        token = product.token()[:-4] + "AAAA"
        return product.meter, product.post({"phone": phone, "token": token}, ORIGIN, ip)

    def rate_limited() -> tuple[CpuMeter, int]:
        phone, _ip = numbers.next()
        token = product.token()
        app.config["SUBMIT_LIMIT_PER_IP"] = "1 per day"
        try:
            return product.meter, product.post({"phone": phone, "token": token}, ORIGIN, LIMITED_IP)
        finally:
            app.config["SUBMIT_LIMIT_PER_IP"] = HIGH

    def unknown_widget() -> tuple[CpuMeter, int]:
        phone, ip = numbers.next()
        body = {"phone": phone, "token": product.token()}
        return product.meter, product.post(body, ORIGIN, ip, widget_id="0" * 32)

    return [
        Cell("accepted submission", accepted, 202),
        Cell("403 foreign Origin", foreign_origin, 403, refusal=True),
        Cell("422 invalid number", invalid_number, 422, refusal=True),
        Cell("422 bad token", bad_token, 422, refusal=True),
        Cell("429 per-IP limit", rate_limited, 429, refusal=True),
        Cell("404 unknown widget", unknown_widget, 404, refusal=True),
    ]


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report_cells(backend: Backend, cells: list[Cell], hello: Cell, naive: Cell) -> None:
    base = median(naive.cpu)
    print(f"  {'bare hello':24} {median(hello.cpu):7.3f} ms")
    print(f"  {'naive implementation':24} {base:7.3f} ms")
    limit = REFUSAL_GOAL_MS[backend.name]
    for cell in cells:
        ms = median(cell.cpu)
        wrong = f"  ({cell.wrong_status} answers not {cell.expected})" if cell.wrong_status else ""
        if not cell.refusal:
            ratio = ms / base
            print(
                f"  {cell.name:24} {ms:7.3f} ms  {ratio:5.2f} x naive "
                f"(goal <= {ACCEPTED_GOAL}: {verdict(ratio <= ACCEPTED_GOAL)}){wrong}"
            )
            continue
        quiet = cell.writes == 0 and cell.write_locks == 0
        print(
            f"  {cell.name:24} {ms:7.3f} ms  {ms / base:5.2f} x naive "
            f"(goal <= {limit} ms: {verdict(ms <= limit)}; "
            f"writes {cell.writes}, write locks {cell.write_locks}: {verdict(quiet)}){wrong}"
        )


def bench_requests(backend: Backend, requests: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="widget-server-cpu-"))
    backend.cleanup.append(lambda: shutil.rmtree(folder, ignore_errors=True))
    product = Product(product_app(backend, folder))
    statements = Statements()
    watch(product.app.extensions["db_engine"], statements)
    naive, naive_engine = naive_app(
        product.app.config["DATABASE_URL"], backend.limits_uri, product.app.config["SECRET_KEY"]
    )
    backend.cleanup.append(naive_engine.dispose)
    naive_meter = CpuMeter(naive.wsgi_app)
    naive.wsgi_app = naive_meter  # type: ignore[method-assign]
    naive_client = Client(naive)
    naive_serializer = serializer_for(product.app.config["SECRET_KEY"])
    hello = hello_app()
    hello_meter = CpuMeter(hello.wsgi_app)
    hello.wsgi_app = hello_meter  # type: ignore[method-assign]
    hello_client = Client(hello)
    numbers = Numbers(0)

    def say_hello() -> tuple[CpuMeter, int]:
        return hello_meter, hello_client.get("/hello").status_code

    def naive_submit() -> tuple[CpuMeter, int]:
        phone, ip = numbers.next()
        body = {"phone": phone, "token": naive_serializer.dumps({"w": product.widget_id})}
        response = naive_client.post(
            f"/naive/{product.widget_id}", json=body, environ_base={"REMOTE_ADDR": ip}
        )
        return naive_meter, response.status_code

    with product.app.app_context():  # the per-IP limit's one allowed hit
        limiter._storage, limiter._limiter = product.storage, product.strategy
    product.post({"phone": numbers.next()[0], "token": product.token()}, ORIGIN, LIMITED_IP)
    hello_cell, naive_cell = Cell("hello", say_hello, 200), Cell("naive", naive_submit, 202)
    cells = refusal_cells(product, numbers)
    run_interleaved([hello_cell, naive_cell, *cells], requests, statements)
    print(f"{backend.name}: request-thread CPU per request, median of {requests} each")
    report_cells(backend, cells, hello_cell, naive_cell)


def fill_live_keys(storage: Any, keys: int) -> None:
    """Leave `keys` live keys in the store, as a day of traffic would."""
    window = MovingWindowRateLimiter(storage)
    day = parse("1 per day")
    for n in range(keys):
        window.hit(day, "widget-server", "background", str(n))


SQLITE_HISTORY = """
WITH RECURSIVE serial(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM serial WHERE i < :rows)
INSERT INTO callbacks (id, widget_id, visitor_number, status, attempts, provider_details,
    extra, utm, idempotency_key, number_hash, created_at, updated_at, finished_at)
SELECT printf('h%031d', i), :widget_id, printf('+1201%07d', i % 9000000),
    CASE i % 4 WHEN 0 THEN 'completed' WHEN 1 THEN 'no_answer' WHEN 2 THEN 'busy'
    ELSE 'failed' END, 1, '{}', '{}', '{}', printf('k%063d', i), printf('%064d', i % 9000000),
    datetime('now', printf('-%d seconds', i % 7776000)),
    datetime('now', printf('-%d seconds', i % 7776000)),
    datetime('now', printf('-%d seconds', i % 7776000))
FROM serial
"""

POSTGRES_HISTORY = """
INSERT INTO callbacks (id, widget_id, visitor_number, status, attempts, provider_details,
    extra, utm, idempotency_key, number_hash, created_at, updated_at, finished_at)
SELECT md5('history' || i), :widget_id, '+1201' || lpad((i % 9000000)::text, 7, '0'),
    (ARRAY['completed','no_answer','busy','failed'])[1 + i % 4], 1, '{}', '{}', '{}',
    md5('key' || i), md5('number' || (i % 9000000)),
    now() - (i % 7776000) * interval '1 second', now() - (i % 7776000) * interval '1 second',
    now() - (i % 7776000) * interval '1 second'
FROM generate_series(1, :rows) AS i
"""


def history_app(backend: Backend, rows: int) -> Product:
    """A product app on a database holding `rows` callbacks (SQLite: built once, kept)."""
    if backend.name == "sqlite":
        folder = BENCH_DIR / f"history-{rows}"
        ready = folder / "ready.json"
        if not ready.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            app = product_app(backend, folder)
            widget_id = add_widget(app, throttle=0)
            started = time.perf_counter()
            with app.extensions["db_engine"].begin() as connection:
                connection.execute(text(SQLITE_HISTORY), {"rows": rows, "widget_id": widget_id})
            with app.extensions["db_engine"].begin() as connection:
                connection.execute(text("ANALYZE"))
            print(f"  (stored {rows:,} callbacks in {time.perf_counter() - started:.0f} s)")
            app.extensions["db_engine"].dispose()
            ready.write_text(json.dumps({"widget_id": widget_id}))
        widget_id = json.loads(ready.read_text())["widget_id"]
        app = product_app(backend, folder)
        with app.extensions["db_engine"].begin() as connection:
            # The last run's callbacks were never dialled: free the numbers they hold.
            connection.execute(text("DELETE FROM leases"))
        return Product(app, widget_id)
    folder = Path(tempfile.mkdtemp(prefix="widget-server-cpu-"))
    app = product_app(backend, folder)
    widget_id = add_widget(app, throttle=0)
    with app.extensions["db_engine"].begin() as connection:
        connection.execute(text(POSTGRES_HISTORY), {"rows": rows, "widget_id": widget_id})
    with app.extensions["db_engine"].connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return Product(app, widget_id)


def bench_state(backend: Backend, requests: int, rows: int, keys: int) -> None:
    empty = Product(product_app(backend, Path(tempfile.mkdtemp(prefix="widget-server-cpu-"))))
    full = history_app(backend, rows)
    if backend.name == "postgresql":
        # One Redis serves both apps: the full one counts under keys of its own prefix.
        full.storage = storage_from_string(backend.limits_uri, key_prefix="bench-full")
        full.app.extensions[STORAGE] = full.storage
        full.strategy = type(limiter._limiter)(full.storage)
    fill_live_keys(full.storage, keys)
    numbers = Numbers(10_000_000)

    def submit(product: Product) -> Callable[[], tuple[CpuMeter, int]]:
        def send() -> tuple[CpuMeter, int]:
            phone, ip = numbers.next()
            return product.meter, product.post(
                {"phone": phone, "token": product.token()}, ORIGIN, ip
            )

        return send

    none, stored = Cell("none", submit(empty), 202), Cell("stored", submit(full), 202)
    started = time.process_time()
    run_interleaved([none, stored], requests, Statements())
    spent = time.process_time() - started
    ratio = median(stored.cpu) / median(none.cpu)
    print(
        f"{backend.name}: accepted submission with {keys:,} live limit keys and {rows:,} "
        f"callbacks vs none"
    )
    print(
        f"  none {median(none.cpu):7.3f} ms   stored {median(stored.cpu):7.3f} ms   "
        f"ratio {ratio:5.2f} (goal <= {STATE_GOAL}: {verdict(ratio <= STATE_GOAL)})"
        f"   process CPU of the run {spent * 1000 / (2 * (requests + 1)):.3f} ms per request"
    )
    for cell in (none, stored):
        if cell.wrong_status:
            print(f"  ({cell.name}: {cell.wrong_status} answers not {cell.expected})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500, help="per cell")
    parser.add_argument("--rows", type=int, default=1_000_000, help="stored callbacks")
    parser.add_argument("--keys", type=int, default=100_000, help="live rate-limit keys")
    parser.add_argument("--skip-state", action="store_true")
    args = parser.parse_args()
    print("Submission CPU, measured in this process (figures from a shared machine are noisy;")
    print("each ratio compares cells measured interleaved in the same run)")
    for backend in backends():
        try:
            bench_requests(backend, args.requests)
            if not args.skip_state:
                bench_state(backend, args.requests, args.rows, args.keys)
        finally:
            for cleanup in reversed(backend.cleanup):
                cleanup()


if __name__ == "__main__":
    main()
