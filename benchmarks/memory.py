"""Peak memory (RSS) of a web worker after 10,000 submissions versus after 100.

Production mode (a fresh PostgreSQL database, a private Redis), one gunicorn sync worker
so that every request lands in the process measured. wrk (2 threads, 4 connections)
submits with pre-minted single-use form tokens and distinct numbers (benchmarks/_cluster.py:
generous limits, every check executed); the answers are counted from /metrics, and the
worker's peak resident set (VmHWM) and current one (VmRSS) are read from /proc when the
count passes each checkpoint. No consumer runs, so nothing is dialled.

    .venv/bin/python benchmarks/memory.py [--submissions 10000]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import time

import requests
from _cluster import (
    ORIGIN,
    ROOT,
    SCRAPE_HEADERS,
    bench_widget,
    environment,
    fresh_database,
    gunicorn,
    memory_kb,
    private_redis,
    scratch,
    token_files,
)

SCRIPT = ROOT / "benchmarks" / "submit.lua"
GOAL = 1.10


def accepted(base: str) -> int:
    body = requests.get(f"{base}/metrics", headers=SCRAPE_HEADERS, timeout=10).text
    return int(
        sum(
            float(value)
            for value in re.findall(
                r'widget_server_requests_total\{route="[^"]*/callbacks",status="202"\} ([0-9.e+]+)',
                body,
            )
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=10_000)
    args = parser.parse_args()
    checkpoints = sorted(
        {c for c in (100, 1000, args.submissions // 2) if c < args.submissions} | {args.submissions}
    )
    readings: dict[int, dict[str, int]] = {}
    with scratch() as folder, private_redis() as redis_url, fresh_database() as database_url:
        widget_id = bench_widget(database_url)
        per_thread = args.submissions // 2 + 1000
        prefix = token_files(folder, database_url, widget_id, per_thread, threads=2)
        env = environment(database_url, redis_url, folder)
        with gunicorn("wsgi:app", env, workers=1, log=folder / "web.log") as web:
            (pid,) = web.worker_pids()
            start = memory_kb(pid)
            print(
                f"web worker {pid} before any submission: RSS {start['VmRSS'] / 1024:.1f} MiB",
                flush=True,
            )
            load = subprocess.Popen(
                [
                    "wrk",
                    "-t2",
                    "-c4",
                    "-d3600s",
                    "--timeout",
                    "10s",
                    "-s",
                    str(SCRIPT),
                    f"{web.url}/v1/widgets/{widget_id}/callbacks",
                    "--",
                    prefix,
                    ORIGIN,
                ],
                stdout=subprocess.DEVNULL,
            )
            began = time.monotonic()
            try:
                for checkpoint in checkpoints:
                    while (count := accepted(web.url)) < checkpoint:
                        time.sleep(0.25)
                    readings[checkpoint] = memory_kb(pid)
                    print(
                        f"  after {count:6d} submissions ({time.monotonic() - began:5.0f} s): "
                        f"peak RSS {readings[checkpoint]['VmHWM'] / 1024:6.1f} MiB, "
                        f"RSS now {readings[checkpoint]['VmRSS'] / 1024:6.1f} MiB",
                        flush=True,
                    )
            finally:
                load.terminate()
                load.wait()
    first, last = readings[100]["VmHWM"], readings[args.submissions]["VmHWM"]
    ratio = last / first
    print(
        f"peak RSS after {args.submissions:,} / after 100: {ratio:.3f} "
        f"({first / 1024:.1f} MiB -> {last / 1024:.1f} MiB; goal <= {GOAL}: "
        f"{'met' if ratio <= GOAL else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
