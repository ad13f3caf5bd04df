"""The embedded default's rate-limit store: exact like limits' own, no timer, bounded memory."""

from __future__ import annotations

import threading
import time

import pytest
from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from widget_server.intake import limit_store
from widget_server.intake.limit_store import IncrementalMemoryStorage


def test_the_uri_names_the_store() -> None:
    store = storage_from_string(limit_store.URI)
    assert isinstance(store, IncrementalMemoryStorage)
    assert not store.timer.is_alive()


@pytest.mark.parametrize("limit", ["3 per second", "5 per 2 seconds"])
def test_it_counts_exactly_as_limits_own_memory_store(
    limit: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both stores read time.time(): one fake clock, so both see exactly the same moments.
    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    item = parse(limit)
    ours = MovingWindowRateLimiter(IncrementalMemoryStorage())
    theirs = MovingWindowRateLimiter(MemoryStorage())
    seen_ours, seen_theirs = [], []
    for step in range(60):
        for key in ("a", "b"):
            seen_ours.append(ours.hit(item, key))
            seen_theirs.append(theirs.hit(item, key))
        now[0] += 0.11 if step % 3 else 0.0
    assert seen_ours == seen_theirs
    assert seen_ours.count(False) > 0 and seen_ours.count(True) > 0


def test_no_timer_thread_is_started_by_hits() -> None:
    # Threads of earlier tests (an app's flush timer) may end meanwhile: only new ones count.
    before = set(threading.enumerate())
    window = MovingWindowRateLimiter(IncrementalMemoryStorage())
    for n in range(200):
        window.hit(parse("1 per minute"), f"key-{n}")
    assert set(threading.enumerate()) - before == set()


def test_expired_keys_are_freed_as_writes_go_on() -> None:
    store = IncrementalMemoryStorage()
    window = MovingWindowRateLimiter(store)
    short = parse("1 per 1 second")
    for n in range(500):
        window.hit(short, f"old-{n}")
    assert len(store.events) == 500
    time.sleep(1.05)
    for n in range(500):  # every write frees a few expired keys
        window.hit(parse("1 per hour"), f"new-{n}")
    assert not any("/old-" in key for key in store.events) and len(store.events) == 500
    assert not any("/old-" in key for key in store.locks)
    # Keys still live are kept, and stay exact.
    assert not window.hit(parse("1 per hour"), "new-7")
    # Counters (fixed windows) are freed too.
    store.incr("counter", 1)
    time.sleep(1.05)
    store.sweep(10_000)
    assert "counter" not in store.storage and "counter" not in store.expirations
