"""Submission latency with 1 million callbacks in the history versus an empty one.

Production mode (fresh PostgreSQL databases, a private Redis, gunicorn `-w 2`); one client
submits sequentially over keep-alive, each request with its own pre-minted form token and
number (benchmarks/_cluster.py: generous limits, every check executed). Two servers run
side by side, one on an empty database and one on a database whose history PostgreSQL
itself bulk-inserted (INSERT … SELECT over generate_series: callbacks for the same widget
with their events and used form tokens, spread over 90 days) and ANALYZEd; the client
alternates between them.

    .venv/bin/python benchmarks/history.py [--rows 1000000] [--requests 300]
"""

from __future__ import annotations

import argparse
import statistics
import time

import requests
from _cluster import (
    ORIGIN,
    bench_widget,
    environment,
    fresh_database,
    gunicorn,
    mint_tokens,
    numbers,
    private_redis,
    scratch,
)
from sqlalchemy import create_engine, text

GOAL = 1.2
HISTORY = [
    """INSERT INTO callbacks (id, widget_id, visitor_number, status, cause, attempts,
           provider_details, extra, utm, idempotency_key, number_hash, created_at,
           updated_at, originated_at, finished_at)
       SELECT md5('history' || i), :widget_id, '+1201' || lpad((i % 9000000)::text, 7, '0'),
              (ARRAY['completed','no_answer','busy','failed'])[1 + i % 4], NULL, 1, '{}',
              '{}', '{}', md5('key' || i), md5('number' || (i % 9000000)),
              now() - (i % 7776000) * interval '1 second',
              now() - (i % 7776000) * interval '1 second',
              now() - (i % 7776000) * interval '1 second',
              now() - (i % 7776000) * interval '1 second' + interval '2 minutes'
       FROM generate_series(1, :rows) AS i""",
    """INSERT INTO call_events (callback_id, status, source, details, applied, occurred_at)
       SELECT id, status, 'simulator', '{}', true, finished_at FROM callbacks
       WHERE finished_at IS NOT NULL""",
    """INSERT INTO used_form_tokens (nonce, used_at)
       SELECT substr(md5('nonce' || i), 1, 32), now() - (i % 7776000) * interval '1 second'
       FROM generate_series(1, :rows) AS i""",
]


def submit(session: requests.Session, url: str, token: str, phone: str) -> float:
    started = time.perf_counter()
    response = session.post(
        url, json={"phone": phone, "token": token}, headers={"Origin": ORIGIN}, timeout=30
    )
    if response.status_code != 202:
        raise SystemExit(f"submission answered {response.status_code}: {response.text}")
    return (time.perf_counter() - started) * 1000


def load_history(database_url: str, widget_id: str, rows: int) -> tuple[int, float]:
    engine = create_engine(database_url)
    started = time.monotonic()
    with engine.begin() as connection:
        for statement in HISTORY:
            connection.execute(text(statement), {"widget_id": widget_id, "rows": rows})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
        stored = int(connection.execute(text("SELECT count(*) FROM callbacks")).scalar() or 0)
    engine.dispose()
    return stored, time.monotonic() - started


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    count = 30 + args.requests  # the first 30 of each warm up
    with (
        scratch() as folder,
        private_redis() as redis_url,
        fresh_database() as empty_db,
        fresh_database() as full_db,
    ):
        sides = {}
        for label, database_url in (("empty", empty_db), ("full", full_db)):
            widget_id = bench_widget(database_url)
            tokens = mint_tokens(database_url, widget_id, count)
            sides[label] = (database_url, widget_id, tokens)
        stored, loaded = load_history(full_db, sides["full"][1], args.rows)
        phones = numbers(2 * count)
        latencies: dict[str, list[float]] = {"empty": [], "full": []}
        with (
            gunicorn("wsgi:app", environment(empty_db, redis_url, folder / "e"), workers=2) as a,
            gunicorn("wsgi:app", environment(full_db, redis_url, folder / "f"), workers=2) as b,
            requests.Session() as session,
        ):
            urls = {
                label: f"{web.url}/v1/widgets/{sides[label][1]}/callbacks"
                for label, web in (("empty", a), ("full", b))
            }
            # Alternate between the two servers, so that whatever else the machine does
            # weighs on both alike.
            for index in range(count):
                for offset, label in enumerate(("empty", "full")):
                    token = sides[label][2][index]
                    latency = submit(session, urls[label], token, phones[2 * index + offset])
                    if index >= 30:
                        latencies[label].append(latency)
    empty, full = latencies["empty"], latencies["full"]
    print(
        f"submission latency, {args.requests} sequential submissions to each of two servers "
        "(alternating), gunicorn -w 2, PostgreSQL + Redis"
    )
    print(
        f"  empty history          median {statistics.median(empty):7.1f} ms  "
        f"p99 {p99(empty):7.1f} ms"
    )
    print(
        f"  {stored:,} callbacks   median {statistics.median(full):7.1f} ms  "
        f"p99 {p99(full):7.1f} ms   (history loaded in {loaded:.0f} s)"
    )
    ratio = statistics.median(full) / statistics.median(empty)
    print(
        f"  ratio full/empty: median {ratio:.2f}, p99 {p99(full) / p99(empty):.2f}  "
        f"(goal <= {GOAL}: {'met' if ratio <= GOAL else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
