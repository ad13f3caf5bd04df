"""Other visitors' /config latency while one address holds live status streams open.

gunicorn runs with the production config (deploy/gunicorn.conf.py: gthread workers) and
one worker unless told otherwise, on a fresh SQLite database. The run measures the widget
config's p50/p99 with no stream open, then opens `--streams` streams of a honeypot hit
from 127.0.0.1 at once and measures again from 127.0.0.2 while they are open; it prints
how the streams were answered and the p99 ratio against the baseline of the same run.

    .venv/bin/python benchmarks/live_streams.py [--streams 200] [--requests 200]
    .venv/bin/python benchmarks/live_streams.py --uncapped    # without the stream caps
    .venv/bin/python benchmarks/live_streams.py --uncapped --worker-class sync

A config fetch with no answer within `--timeout` seconds counts as that long.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.stream_load import (  # noqa: E402
    ATTACKER,
    closing_all,
    config_latencies,
    open_streams,
    percentile,
    serve,
)

UNCAPPED = "10000"


def describe(label: str, seconds: list[float], timeout: float) -> str:
    late = sum(1 for value in seconds if value >= timeout)
    text = (
        f"{label}: p50 {statistics.median(seconds) * 1000:.1f} ms, "
        f"p99 {percentile(seconds, 0.99) * 1000:.1f} ms over {len(seconds)} requests"
    )
    return text + (f" ({late} without an answer in {timeout:.0f} s)" if late else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--stream-seconds", type=int, default=30, help="LIVE_STREAM_SECONDS")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--worker-class", default=None, help="override the config's gthread")
    parser.add_argument("--uncapped", action="store_true", help="lift the stream caps")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    settings = {"LIVE_STREAM_SECONDS": str(args.stream_seconds)}
    if args.uncapped:
        settings.update(LIVE_STREAMS_PER_CLIENT=UNCAPPED, LIVE_STREAMS_PER_WORKER=UNCAPPED)
    options: tuple[str, ...] = ("-w", str(args.workers))
    if args.worker_class:
        options += ("-k", args.worker_class)
    folder = Path(tempfile.mkdtemp(prefix="widget-server-bench-"))
    with serve(
        folder,
        {"step_delay": 0.5},
        provider="simulator",
        consumer=False,
        gunicorn_options=options,
        **settings,
    ) as server:
        config_latencies(server, 10)  # warm up
        baseline = config_latencies(server, args.requests, timeout=args.timeout)
        path = server.honeypot_status_path()
        with closing_all() as opened:
            started = time.monotonic()
            opened.extend(open_streams(server.port, path, [ATTACKER] * args.streams, 2.0))
            answered = time.monotonic() - started
            codes = Counter(stream.status for stream in opened)
            during = config_latencies(server, args.requests, timeout=args.timeout)
        model = args.worker_class or "gthread (deploy/gunicorn.conf.py)"
        caps = "no caps" if args.uncapped else "caps on (defaults)"
        seconds = args.stream_seconds
        print(f"gunicorn {model}, -w {args.workers}, {caps}, LIVE_STREAM_SECONDS={seconds}")
        print(describe("/config with 0 streams open", baseline, args.timeout))
        answers = ", ".join(
            f"{count} x {code or 'no answer in 2 s'}" for code, count in sorted(codes.items())
        )
        print(f"{args.streams} streams from one address: {answers} (in {answered:.2f} s)")
        print(describe(f"/config with {args.streams} streams open", during, args.timeout))
        ratio = percentile(during, 0.99) / percentile(baseline, 0.99)
        print(f"p99 ratio, {args.streams} streams open / none: {ratio:.2f}")


if __name__ == "__main__":
    main()
