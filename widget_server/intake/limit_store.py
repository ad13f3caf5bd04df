"""The in-process `limits` storage of the embedded default, whose upkeep does not grow.

limits' MemoryStorage re-arms a 10 ms timer on every hit, and the timer scans every key:
with the production limits keeping keys for up to a day, 20,000 keys kept a core 59 % busy
and 100,000 keys 92 %, so each submission cost more the more traffic the last day saw. Its
counts never depended on that scan (every read compares timestamps itself); the scan only
frees memory. This storage frees memory from a heap of "when does this key next expire"
instead: a write pushes its key when the key is new (O(log n)), and frees only the keys
whose time has come, so a hit costs the same with ten keys or a hundred thousand.

`memory-incremental://` names it; settings make it the default when there is no Redis.
"""

from __future__ import annotations

import bisect
import heapq
import threading
import time
from typing import Any

from limits.storage import MemoryStorage

SCHEME = "memory-incremental"
URI = f"{SCHEME}://"
KEYS_PER_WRITE = 8  # expired keys freed per write at most, so no write pays for a backlog


class IncrementalMemoryStorage(MemoryStorage):
    """MemoryStorage without the timer thread: expired keys are freed as they fall due."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._stop_timer()
        self._due: list[tuple[float, str]] = []  # (when the key's oldest entry expires, key)
        self._due_lock = threading.Lock()

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._stop_timer()

    def _stop_timer(self) -> None:
        # The base class starts one; stopped at once (it has not fired), nothing re-arms it.
        self.timer.cancel()
        self.timer.join()

    # MemoryStorage calls this (name-mangled) before every write; it used to start the timer.
    def _MemoryStorage__schedule_expiry(self) -> None:
        self.sweep(KEYS_PER_WRITE)

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        fresh = not self.events.get(key)
        acquired = super().acquire_entry(key, limit, expiry, amount)
        if acquired and fresh:
            self._push(time.time() + expiry, key)
        return acquired

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        value = super().incr(key, expiry, amount)
        if value == amount and key in self.expirations:  # a new counter
            self._push(self.expirations[key], key)
        return value

    def reset(self) -> int | None:
        with self._due_lock:
            self._due.clear()
        return super().reset()

    def _push(self, when: float, key: str) -> None:
        with self._due_lock:
            heapq.heappush(self._due, (when, key))

    def sweep(self, budget: int) -> int:
        """Free up to `budget` keys whose entries have all expired; return how many."""
        now = time.time()
        freed = 0
        for _ in range(budget):
            with self._due_lock:
                if not self._due or self._due[0][0] > now:
                    break
                _when, key = heapq.heappop(self._due)
            next_due = self._free(key, now)
            if next_due is None:
                freed += 1
            else:
                self._push(next_due, key)
        return freed

    def _free(self, key: str, now: float) -> float | None:
        """Drop the key's expired entries; return when it is next due, None once it is gone."""
        with self.locks[key]:
            events = self.events.get(key)
            if events:
                # Entries are newest first; keep those not yet expired.
                del events[bisect.bisect_left(events, -now, key=lambda entry: -entry.expiry) :]
            if events is not None and not events:
                self.events.pop(key, None)
            expires = self.expirations.get(key)
            if expires is not None and expires <= now:
                self.storage.pop(key, None)
                self.expirations.pop(key, None)
                expires = None
            remaining = self.events.get(key)
            if remaining:
                return min(remaining[-1].expiry, expires or remaining[-1].expiry)
            if expires is not None:
                return expires
        self.locks.pop(key, None)
        return None
