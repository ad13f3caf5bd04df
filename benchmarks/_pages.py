"""Time dashboard pages through the app in process: p50 and p95 of GETs, against a goal."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from widget_server.core.heap import freeze_startup_objects  # noqa: E402


def timed(client: Any, path: str) -> float:
    """Milliseconds one GET of `path` takes; a page that does not answer 200 ends the run."""
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{path} answered {response.status_code}")
    return elapsed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def report(engine: str, label: str, values: list[float], goal_ms: float) -> bool:
    p50, p95 = statistics.median(values), percentile(values, 0.95)
    met = p95 < goal_ms
    print(
        f"{engine:10} {label:28} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
        f"(goal p95 < {goal_ms:.0f} ms: {'met' if met else 'MISSED'})"
    )
    return met


def time_pages(
    engine: str,
    client: Any,
    cases: Mapping[str, Callable[[], str]],
    requests: int,
    goal_ms: float,
    warm_ups: int = 3,
) -> bool:
    """Time each case's pages (`requests` of them, after `warm_ups`); say whether all met."""
    # As a served process does (wsgi.py): what start-up built stays out of collections.
    freeze_startup_objects()
    met = True
    for label, make_path in cases.items():
        for _ in range(warm_ups):
            timed(client, make_path())
        values = [timed(client, make_path()) for _ in range(requests)]
        met = report(engine, label, values, goal_ms) and met
    return met
