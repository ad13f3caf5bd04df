"""Genuine submissions' latency during a bot flood the server refuses, against the same
submissions without the flood, on the embedded default and on PostgreSQL + Redis.

The product runs under gunicorn (sync workers, `-w 2`, loopback) behind one trusted proxy
hop (PROXY_HOPS=1), so each flood request's X-Forwarded-For is its client address: the
flood comes from many addresses, one per request. It is 95 % of the traffic and every
request of it is refused (a foreign Origin, an invalid number, a forged form token, a
widget that does not exist, in turn; benchmarks/flood.lua). The other 5 % are genuine
submissions, each with its own form token and number (benchmarks/steady.lua), at a pace
the server sustains. Both loads are paced: each wrk connection waits a fixed delay before
each request, so the rates hold whatever the server does (they fall only if it cannot
keep up, and the measured rates are printed). First the genuine submissions alone, then
the same with the flood; wrk reports the genuine requests' latency distribution. Goal:
genuine p99 with the flood <= 3 x without. No consumer runs, so nothing is dialled; the
limits are generous (benchmarks/_cluster.py), so only the refusals' own cost is measured.

    .venv/bin/python benchmarks/mixed_flood.py [--seconds 30] [--rate 10] [--runs 1]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import time
from pathlib import Path

from _cluster import (
    BACKENDS,
    ORIGIN,
    ROOT,
    CpuLedger,
    backend,
    bench_widget,
    gunicorn,
    have_wrk,
    latency_ms,
    mint_tokens,
    requests_per_second,
    scratch,
    token_files,
    wrk,
    wrk_command,
)

GENUINE = ROOT / "benchmarks" / "steady.lua"
FLOOD = ROOT / "benchmarks" / "flood.lua"
GOAL = 3.0  # genuine p99 with the flood / without, at most
SHARE = 0.95  # of the requests, refused
GENUINE_CONNECTIONS = 2
FLOOD_CONNECTIONS = 32
WARM_UP = 3.0  # seconds of flood before the genuine load starts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30, help="genuine load, each phase")
    parser.add_argument("--rate", type=float, default=10, help="genuine submissions per second")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--backend", choices=BACKENDS, action="append")
    args = parser.parse_args()
    if not have_wrk():
        return
    flood_rate = args.rate * SHARE / (1 - SHARE)
    print(
        f"mixed flood, gunicorn -w {args.workers} (sync), genuine {args.rate:g}/s "
        f"(wrk -t1 -c{GENUINE_CONNECTIONS}) plus a refused flood of {flood_rate:g}/s "
        f"(wrk -t2 -c{FLOOD_CONNECTIONS}), {args.seconds:g} s each phase "
        f"(on {os.cpu_count()} cores shared with other work)"
    )
    for name in args.backend or BACKENDS:
        for run in range(args.runs):
            with scratch() as folder:
                measure(name, folder, args, flood_rate, run)


def pause_ms(rate: float, connections: int) -> str:
    """Each connection's delay before a request for `rate` requests/s over `connections`
    (a request's own latency comes on top, so the rate is slightly lower)."""
    return f"{connections * 1000 / rate:.0f}"


def measure(name: str, folder: Path, args: argparse.Namespace, flood_rate: float, run: int) -> None:
    with backend(name, folder) as served:
        widget_id = bench_widget(served.database_url)
        per_phase = int(args.rate * (args.seconds + 5) * 1.5) + 50
        prefixes = {}
        for phase, offset in (("quiet", 0), ("flood", 3_000_000)):
            (folder / phase).mkdir()
            prefixes[phase] = token_files(
                folder / phase, served.database_url, widget_id, per_phase, 1, offset=offset
            )
        sample = mint_tokens(served.database_url, widget_id, 1)[0]
        env = {**served.env, "WIDGET_SERVER_PROXY_HOPS": "1"}
        with gunicorn("wsgi:app", env, workers=args.workers, log=folder / "web.log") as web:
            url = f"{web.url}/v1/widgets/{widget_id}/callbacks"
            flood_args = [sample, ORIGIN, widget_id, pause_ms(flood_rate, FLOOD_CONNECTIONS)]
            genuine_pause = pause_ms(args.rate, GENUINE_CONNECTIONS)

            def genuine(phase: str) -> str:
                return wrk(
                    url,
                    seconds=args.seconds,
                    connections=GENUINE_CONNECTIONS,
                    threads=1,
                    script=GENUINE,
                    args=[prefixes[phase], ORIGIN, genuine_pause],
                )

            # Warm the workers (imports, pools, compiled statements) on refusals first.
            wrk(url, seconds=WARM_UP, connections=FLOOD_CONNECTIONS, script=FLOOD, args=flood_args)
            quiet = genuine("quiet")
            ledger = CpuLedger({"web workers": lambda: [web.process.pid, *web.worker_pids()]})
            with ledger:
                flood = subprocess.Popen(
                    wrk_command(
                        url, args.seconds + 2 * WARM_UP, FLOOD_CONNECTIONS, FLOOD, flood_args
                    ),
                    stdout=subprocess.PIPE,
                    text=True,
                )
                time.sleep(WARM_UP)
                flooded = genuine("flood")
                flood_out, _ = flood.communicate(timeout=args.seconds + 60)
    report(served.name, run, quiet, flooded, flood_out, ledger, args.seconds)


def statuses(wrk_output: str) -> dict[str, str]:
    return dict(re.findall(r"status (\d+): (\d+)", wrk_output))


def report(
    name: str, run: int, quiet: str, flooded: str, flood: str, ledger: CpuLedger, seconds: float
) -> None:
    print(f"  {name}, run {run + 1}:")
    for label, out in (("genuine alone", quiet), ("genuine in flood", flooded)):
        print(
            f"    {label:17} {requests_per_second(out):7.1f}/s  p50 {latency_ms(out, '50'):7.1f} ms"
            f"  p99 {latency_ms(out, '99'):7.1f} ms  answers {statuses(out)}"
        )
    flood_rate = requests_per_second(flood)
    genuine_rate = requests_per_second(flooded)
    share = flood_rate / (flood_rate + genuine_rate) if flood_rate + genuine_rate else 0.0
    print(
        f"    flood             {flood_rate:7.1f}/s  p50 {latency_ms(flood, '50'):7.1f} ms"
        f"  p99 {latency_ms(flood, '99'):7.1f} ms  answers {statuses(flood)}"
        f"  ({share:.0%} of the requests)"
    )
    busy = ledger.used["web workers"] / (seconds + 2 * WARM_UP)
    print(f"    web workers' CPU during the flood: {busy:.2f} cores")
    ratio = latency_ms(flooded, "99") / latency_ms(quiet, "99")
    print(
        f"    genuine p99 in flood / alone: {ratio:.2f}  (goal <= {GOAL:g}: "
        f"{'met' if ratio <= GOAL else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
