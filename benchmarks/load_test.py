"""Load test: a steady submission rate for a bounded time, no 5xx, flat memory.

Production mode on loopback: a fresh PostgreSQL database, a private Redis, gunicorn
(`-w 2`, sync) and one queue consumer (2 threads) dialling the simulator, so every call
runs to its end and frees its leases. wrk (2 threads, 4 connections, a fixed pause per
request: benchmarks/steady.lua) submits with form tokens minted ahead (each is single-use)
to distinct numbers; limits are generous but every check runs (benchmarks/_cluster.py).
Every 10 s the script samples the answers counted by /metrics and the resident memory of
each web worker and of the consumer. The report is printed and saved in
benchmarks/reports/load-<UTC date and time>.txt.

    .venv/bin/python benchmarks/load_test.py [--minutes 5] [--pause-ms 200]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
from _cluster import (
    ORIGIN,
    ROOT,
    SCRAPE_HEADERS,
    bench_widget,
    consumer,
    environment,
    fresh_database,
    gunicorn,
    memory_kb,
    private_redis,
    scratch,
    token_files,
)
from sqlalchemy import create_engine, text

SCRIPT = ROOT / "benchmarks" / "steady.lua"
REPORTS = ROOT / "benchmarks" / "reports"
CONNECTIONS = 4
SAMPLE_SECONDS = 10
DRAIN_SECONDS = 300
TERMINAL = "('completed','failed','no_answer','busy','canceled','rejected')"


def answers(base: str) -> dict[str, float]:
    """Answers to submissions by status class, summed over every web worker."""
    counts: dict[str, float] = {}
    body = requests.get(f"{base}/metrics", headers=SCRAPE_HEADERS, timeout=5).text
    for route, status, value in re.findall(
        r'widget_server_requests_total\{route="([^"]+)",status="(\d+)"\} ([0-9.e+]+)', body
    ):
        if route.endswith("/callbacks"):
            key = status[0] + "xx"
            counts[key] = counts.get(key, 0) + float(value)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--pause-ms", type=int, default=400, help="pause before each request")
    args = parser.parse_args()
    seconds = args.minutes * 60
    expected_rate = CONNECTIONS * 1000 / args.pause_ms
    per_thread = int(expected_rate * seconds / 2 * 1.3) + 200
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    with scratch() as folder, private_redis() as redis_url, fresh_database() as database_url:
        widget_id = bench_widget(database_url)
        prefix = token_files(folder, database_url, widget_id, per_thread, threads=2)
        env = environment(database_url, redis_url, folder)
        log = folder / "processes.log"
        with gunicorn("wsgi:app", env, workers=2, log=log) as web, consumer(env, log=log) as cpid:
            url = f"{web.url}/v1/widgets/{widget_id}/callbacks"
            command = [
                "wrk",
                "-t2",
                f"-c{CONNECTIONS}",
                f"-d{seconds:g}s",
                "--latency",
                "--timeout",
                "10s",
                "-s",
                str(SCRIPT),
                url,
                "--",
                prefix,
                ORIGIN,
                str(args.pause_ms),
            ]
            started = datetime.now(UTC)
            say(
                f"load test {started:%Y-%m-%d %H:%M} UTC: {args.minutes:g} min, wrk -t2 "
                f"-c{CONNECTIONS}, {args.pause_ms} ms pause per request (about "
                f"{expected_rate:.0f}/s before latency), gunicorn -w 2 sync, 1 consumer "
                "(2 threads), PostgreSQL + Redis, simulator provider"
            )
            say(
                f"{'t (s)':>6} {'2xx/s':>7} {'4xx':>5} {'5xx':>5} "
                f"{'web RSS (MiB, each)':>22} {'consumer RSS':>13}"
            )
            load = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
            output: list[str] = []
            reader = threading.Thread(target=lambda: output.append(load.stdout.read()))  # type: ignore[union-attr]
            reader.start()
            samples: list[tuple[float, list[int], int]] = []
            previous = answers(web.url)
            begin = time.monotonic()
            while load.poll() is None:
                time.sleep(SAMPLE_SECONDS)
                now = answers(web.url)
                elapsed = time.monotonic() - begin
                rate = (now.get("2xx", 0) - previous.get("2xx", 0)) / SAMPLE_SECONDS
                web_rss = [memory_kb(pid)["VmRSS"] // 1024 for pid in web.worker_pids()]
                worker_rss = memory_kb(cpid)["VmRSS"] // 1024
                samples.append((rate, web_rss, worker_rss))
                say(
                    f"{elapsed:6.0f} {rate:7.1f} {now.get('4xx', 0):5.0f} "
                    f"{now.get('5xx', 0):5.0f} {str(web_rss):>22} {worker_rss:>10} MiB"
                )
                previous = now
            reader.join()
            final = answers(web.url)
            # Let the queue drain and the last calls run to their end, then count.
            engine = create_engine(database_url)
            drain_started = time.monotonic()
            deadline = drain_started + DRAIN_SECONDS
            with engine.connect() as connection:
                while True:
                    total, ended = connection.execute(
                        text(
                            f"SELECT count(*), count(*) FILTER (WHERE status IN {TERMINAL}) "
                            "FROM callbacks"
                        )
                    ).one()
                    if ended == total or time.monotonic() > deadline:
                        break
                    time.sleep(1)
                    connection.rollback()
            drained = time.monotonic() - drain_started
            engine.dispose()
    wrk_out = output[0] if output else ""
    say("wrk:")
    for line in wrk_out.splitlines():
        if line.strip():
            say("  " + line.rstrip())
    steady = samples[1:-1] or samples
    rates = [rate for rate, _, _ in steady]
    first_web = sum(samples[1][1]) if len(samples) > 1 else sum(samples[0][1])
    last_web = sum(samples[-1][1])
    first_consumer = samples[1][2] if len(samples) > 1 else samples[0][2]
    say(
        f"answers: {final.get('2xx', 0):.0f} accepted, {final.get('4xx', 0):.0f} 4xx, "
        f"{final.get('5xx', 0):.0f} 5xx"
    )
    say(
        f"rate per {SAMPLE_SECONDS} s (2xx/s): min {min(rates):.1f}, max {max(rates):.1f}, "
        f"mean {sum(rates) / len(rates):.1f}"
    )
    say(
        f"web workers' RSS, last sample / first minute's: {last_web / first_web:.3f} "
        f"({first_web} MiB -> {last_web} MiB); consumer {first_consumer} MiB -> "
        f"{samples[-1][2]} MiB"
    )
    say(
        f"callbacks stored {total}, ended {ended}, {drained:.0f} s after the load stopped "
        f"(the consumer works off its backlog of dial and status jobs)"
    )
    verdict = final.get("5xx", 0) == 0 and last_web / first_web <= 1.10 and ended == total
    say(f"no 5xx, memory within 10 %, every callback ended: {'yes' if verdict else 'NO'}")
    REPORTS.mkdir(exist_ok=True)
    path = REPORTS / f"load-{started:%Y%m%d-%H%M}.txt"
    Path(path).write_text("\n".join(lines) + "\n")
    print(f"report saved: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
