"""Submission throughput with every check on, as a share of a naive implementation of the
same checks, on the embedded default and on PostgreSQL + Redis.

Both apps run under the same gunicorn settings (sync workers, `-w 2`, loopback) and the same
wrk load (2 threads, 8 connections), one after the other in one run, on the same database
and the same kind of limit store. The naive app (benchmarks/_naive.py) parses the JSON,
checks an itsdangerous token, parses and validates the number, makes one moving-window hit
and one Core INSERT. The product runs in production mode with JSON logs, and every check
executes: origin, a one-time form token, the number policy, the block list, concurrency
leases, the idempotency lookup and every rate limit's hit. The limits are set generously
(benchmarks/_cluster.py) so that the run measures the checks rather than their refusals;
each request carries its own form token, minted ahead of the run, and its own number. No
consumer runs, so nothing is dialled. Goal: product / naive >= 0.5 on each backend; the
CPU ledger of each run says where the cores went.

    .venv/bin/python benchmarks/throughput.py [--seconds 15] [--workers 2] [--runs 3]
        [--backend embedded|postgresql]
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import _naive
from _cluster import (
    BACKENDS,
    ORIGIN,
    ROOT,
    CpuLedger,
    Web,
    backend,
    bench_widget,
    gunicorn,
    have_wrk,
    numbers,
    requests_per_second,
    scratch,
    token_files,
    wrk,
)

SCRIPT = ROOT / "benchmarks" / "submit.lua"
GOAL = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=0, help="gthread workers' threads (0: sync)")
    parser.add_argument("--tokens", type=int, default=6000, help="form tokens per wrk thread")
    parser.add_argument("--backend", choices=BACKENDS, action="append")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    if not have_wrk():
        return
    kind = f"gthread, {args.threads} threads" if args.threads else "sync"
    print(
        f"throughput, gunicorn -w {args.workers} ({kind}), wrk -t2 -c{args.connections}, "
        f"{args.seconds:g} s each (on {os.cpu_count()} cores shared with other work)"
    )
    for name in args.backend or BACKENDS:
        for run in range(args.runs):
            with scratch() as folder:
                measure(name, folder, args, run)


def measure(name: str, folder: Path, args: argparse.Namespace, run: int) -> None:
    options = ("-k", "gthread", "--threads", str(args.threads)) if args.threads else ()
    with backend(name, folder) as served:
        widget_id = bench_widget(served.database_url)
        prefix = token_files(folder, served.database_url, widget_id, args.tokens, threads=2)
        secret = served.env["WIDGET_SERVER_SECRET_KEY"]
        naive_prefix = _naive.token_files(
            folder, secret, widget_id, numbers(args.tokens * 2, offset=500_000), threads=2
        )
        # The naive table is made here, once, not by two workers racing at start-up.
        _app, engine = _naive.naive_app(
            served.database_url, _naive.limits_uri_from(served.env), secret
        )
        engine.dispose()
        runs = {}
        for label, spec, path, tokens in (
            ("naive", "_naive:from_environment()", _naive.PATH, naive_prefix),
            ("product", "wsgi:app", "/v1/widgets/{widget_id}/callbacks", prefix),
        ):
            cwd = ROOT / "benchmarks" if label == "naive" else ROOT
            with gunicorn(
                spec,
                served.env,
                workers=args.workers,
                cwd=cwd,
                log=folder / f"{label}.log",
                options=options,
            ) as web:
                ledger = CpuLedger({"web workers": workers(web), **served.stores})
                with ledger:
                    out = wrk(
                        web.url + path.format(widget_id=widget_id),
                        seconds=args.seconds,
                        connections=args.connections,
                        script=SCRIPT,
                        args=[tokens, ORIGIN],
                    )
            runs[label] = (out, ledger)
    report(f"{served.name}, run {run + 1}", runs)


def workers(web: Web) -> object:
    return lambda: [web.process.pid, *web.worker_pids()]


def report(name: str, runs: dict[str, tuple[str, CpuLedger]]) -> None:
    print(f"  {name}:")
    rates = {}
    for label, (out, _ledger) in runs.items():
        rates[label] = requests_per_second(out)
        statuses = dict(re.findall(r"status (\d+): (\d+)", out))
        reused = re.search(r"tokens reused: (\d+)", out)
        print(
            f"    {label:8} {rates[label]:9.1f} requests/s  answers {statuses}"
            f"  tokens reused {reused.group(1) if reused else '?'}"
        )
    ratio = rates["product"] / rates["naive"]
    print(
        f"    ratio product/naive: {ratio:.2f}  (goal >= {GOAL:.2f}: "
        f"{'met' if ratio >= GOAL else 'MISSED'})"
    )
    # Where the cores went: with every process on one machine, a request's CPU in all the
    # processes it touches bounds the rate the cores can serve.
    ms = {label: ledger.per_request_ms(requests_done(out)) for label, (out, ledger) in runs.items()}
    seconds = {label: ledger.used for label, (_out, ledger) in runs.items()}
    print("    CPU ledger, ms per request (CPU seconds of the run):")
    for group in ms["product"]:
        print(
            f"      {group:<16} naive {ms['naive'][group]:6.2f} ({seconds['naive'][group]:5.1f} s)"
            f"   product {ms['product'][group]:6.2f} ({seconds['product'][group]:5.1f} s)"
        )
    total = {label: sum(values.values()) for label, values in ms.items()}
    print(f"      {'all':<16} naive {total['naive']:6.2f}{'':12}product {total['product']:6.2f}")
    ceiling = total["naive"] / total["product"]
    print(f"    CPU-bound ceiling of the ratio on these cores: {ceiling:.2f}")


def requests_done(wrk_output: str) -> int:
    found = re.search(r"(\d+) requests in", wrk_output)
    return int(found.group(1)) if found else 0


if __name__ == "__main__":
    main()
