"""Submission throughput with every check on, as a share of a bare Flask "hello" route.

Both run under the same gunicorn settings (sync workers, `-w 2`, loopback) and the same
wrk load (2 threads, 8 connections), one after the other in one run. The submission side
is production mode: PostgreSQL (a fresh database), a private Redis for limits and the
queue, JSON logs. Every check executes: origin, a one-time form token, the number policy,
the block list, concurrency leases, the idempotency lookup and every rate limit's atomic
hit in Redis. The limits are set generously (benchmarks/_cluster.py) so that the run
measures the checks rather than their refusals; each request carries its own form token,
minted ahead of the run, and its own number. No consumer runs, so nothing is dialled.

    .venv/bin/python benchmarks/throughput.py [--seconds 15] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable

from _cluster import (
    ORIGIN,
    ROOT,
    CpuLedger,
    Web,
    bench_widget,
    environment,
    fresh_database,
    gunicorn,
    private_redis,
    processes_matching,
    requests_per_second,
    scratch,
    token_files,
    wrk,
)
from sqlalchemy.engine import make_url

SCRIPT = ROOT / "benchmarks" / "submit.lua"
GOAL = 0.40


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=0, help="gthread workers' threads (0: sync)")
    parser.add_argument("--tokens", type=int, default=6000, help="form tokens per wrk thread")
    args = parser.parse_args()
    with scratch() as folder, private_redis() as redis_url, fresh_database() as database_url:
        widget_id = bench_widget(database_url)
        prefix = token_files(folder, database_url, widget_id, args.tokens, threads=2)
        env = environment(database_url, redis_url, folder, WIDGET_SERVER_LOG_FORMAT="json")
        options = ("-k", "gthread", "--threads", str(args.threads)) if args.threads else ()
        with gunicorn(
            "hello:app",
            env,
            workers=args.workers,
            cwd=ROOT / "benchmarks",
            ready_path="/hello",
            options=options,
        ) as web:
            with CpuLedger(stores(web, database_url, redis_url)) as hello_cpu:
                hello_out = wrk(
                    web.url + "/hello", seconds=args.seconds, connections=args.connections
                )
        with gunicorn(
            "wsgi:app", env, workers=args.workers, log=folder / "web.log", options=options
        ) as web:
            with CpuLedger(stores(web, database_url, redis_url)) as submit_cpu:
                submit_out = wrk(
                    f"{web.url}/v1/widgets/{widget_id}/callbacks",
                    seconds=args.seconds,
                    connections=args.connections,
                    script=SCRIPT,
                    args=[prefix, ORIGIN],
                )
    hello = requests_per_second(hello_out)
    submit = requests_per_second(submit_out)
    statuses = dict(re.findall(r"status (\d+): (\d+)", submit_out))
    reused = re.search(r"tokens reused: (\d+)", submit_out)
    kind = f"gthread, {args.threads} threads" if args.threads else "sync"
    print(
        f"throughput, gunicorn -w {args.workers} ({kind}), wrk -t2 -c{args.connections}, "
        f"{args.seconds:g} s each"
    )
    print(f"  bare Flask hello route        {hello:9.1f} requests/s")
    print(
        f"  submission, every check on    {submit:9.1f} requests/s  answers {statuses}"
        f"  tokens reused {reused.group(1) if reused else '?'}"
    )
    ratio = submit / hello
    print(
        f"  ratio submission/hello: {ratio:.2f}  (goal >= {GOAL:.2f}: "
        f"{'met' if ratio >= GOAL else 'MISSED'})"
    )
    # Where the cores went: with every process on one machine, a request's CPU in all the
    # processes it touches bounds the rate the cores can serve.
    print(f"  CPU per request, ms ({os.cpu_count()} cores on this machine):")
    hello_ms = hello_cpu.per_request_ms(requests_done(hello_out))
    submit_ms = submit_cpu.per_request_ms(requests_done(submit_out))
    for name in hello_ms:
        print(f"    {name:<16} hello {hello_ms[name]:6.2f}   submission {submit_ms[name]:6.2f}")
    total_hello, total_submit = sum(hello_ms.values()), sum(submit_ms.values())
    print(f"    {'all':<16} hello {total_hello:6.2f}   submission {total_submit:6.2f}")
    print(f"  CPU-bound ceiling of the ratio on these cores: {total_hello / total_submit:.2f}")


def stores(web: Web, database_url: str, redis_url: str) -> dict[str, Callable[[], list[int]]]:
    database = make_url(database_url).database or ""
    port = f":{make_url(redis_url).port}"
    return {
        "web workers": lambda: [web.process.pid, *web.worker_pids()],
        "PostgreSQL": lambda: processes_matching("postgres:", database),
        "Redis": lambda: processes_matching("redis-server", port),
    }


def requests_done(wrk_output: str) -> int:
    found = re.search(r"(\d+) requests in", wrk_output)
    return int(found.group(1)) if found else 0


if __name__ == "__main__":
    main()
