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
import re

from _cluster import (
    ORIGIN,
    ROOT,
    bench_widget,
    environment,
    fresh_database,
    gunicorn,
    private_redis,
    requests_per_second,
    scratch,
    token_files,
    wrk,
)

SCRIPT = ROOT / "benchmarks" / "submit.lua"
GOAL = 0.40


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=6000, help="form tokens per wrk thread")
    args = parser.parse_args()
    with scratch() as folder, private_redis() as redis_url, fresh_database() as database_url:
        widget_id = bench_widget(database_url)
        prefix = token_files(folder, database_url, widget_id, args.tokens, threads=2)
        env = environment(database_url, redis_url, folder, WIDGET_SERVER_LOG_FORMAT="json")
        with gunicorn(
            "hello:app", env, workers=args.workers, cwd=ROOT / "benchmarks", ready_path="/hello"
        ) as web:
            hello_out = wrk(web.url + "/hello", seconds=args.seconds, connections=args.connections)
        with gunicorn("wsgi:app", env, workers=args.workers, log=folder / "web.log") as web:
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
    print(
        f"throughput, gunicorn -w {args.workers} (sync), wrk -t2 -c{args.connections}, "
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


if __name__ == "__main__":
    main()
