"""Counts waiting to be flushed into the daily rows: no database write per event.

A beacon or a refused submission only adds to a tally; the rollup job flushes it. In one
process (the embedded default) the tally is a dict under a lock; every process keeps its
own and flushes its own (a timer thread, and the job in the consumer's process), so each
adds exactly what it counted. With Redis configured, every process adds to one Redis
hash (HINCRBY) and whichever job runs takes it whole (RENAME), so nothing is counted twice.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

import redis

from . import steps

log = logging.getLogger(__name__)

SLOT_SECONDS = 15 * 60  # the finest UTC offset step: every slot falls in one local day
MAX_KEYS = 50_000  # a process's buffer past this counts new breakdown values as OTHER
REDIS_KEY = "widget-server:analytics:tally"
_SEPARATOR = "\x1f"


class Key(NamedTuple):
    widget_id: str
    slot: int  # UTC quarter hour: seconds since the epoch // SLOT_SECONDS
    step: str
    dimension: str
    value: str

    def encode(self) -> str:
        return _SEPARATOR.join(
            (self.widget_id, str(self.slot), self.step, self.dimension, self.value)
        )

    @classmethod
    def decode(cls, text: str) -> Key | None:
        parts = text.split(_SEPARATOR)
        if len(parts) != 5 or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), parts[2], parts[3], parts[4])

    def moment(self) -> datetime:
        return datetime.fromtimestamp(self.slot * SLOT_SECONDS, UTC)


def keys_for(widget_id: str, at: datetime, step: str, dimensions: Mapping[str, str]) -> list[Key]:
    """The keys one event adds 1 to: the step's total and each of its breakdowns."""
    slot = int(at.timestamp()) // SLOT_SECONDS
    found = [Key(widget_id, slot, step, steps.TOTAL, "")]
    found.extend(Key(widget_id, slot, step, name, value) for name, value in dimensions.items())
    return found


class Tally(Protocol):
    def add(self, widget_id: str, at: datetime, step: str, dimensions: Mapping[str, str]) -> None:
        """Count one event."""

    def drain(self) -> Counter[Key]:
        """Take every count so far, leaving the tally empty."""

    def restore(self, counts: Counter[Key]) -> None:
        """Give back counts that could not be flushed, to be flushed next time."""


class MemoryTally:
    """This process's counts; each process (after a fork too) keeps and flushes its own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[Key] = Counter()
        self._pid = os.getpid()
        self._flush: Callable[[], object] | None = None
        self._every = 0.0
        self._timer: threading.Thread | None = None

    def flush_every(self, seconds: float, flush: Callable[[], object]) -> None:
        """Flush on a timer thread of each process that counts something (0: never)."""
        self._every, self._flush = seconds, flush

    def add(self, widget_id: str, at: datetime, step: str, dimensions: Mapping[str, str]) -> None:
        with self._lock:
            if self._pid != os.getpid():
                # Forked: the parent's counts are the parent's to flush.
                self._pid, self._counts, self._timer = os.getpid(), Counter(), None
            for key in keys_for(widget_id, at, step, dimensions):
                if key not in self._counts and len(self._counts) >= MAX_KEYS and key.dimension:
                    key = key._replace(value=steps.OTHER)
                self._counts[key] += 1
            if self._timer is None and self._every > 0 and self._flush is not None:
                self._timer = threading.Thread(
                    target=self._run_timer, name="analytics-flush", daemon=True
                )
                self._timer.start()

    def drain(self) -> Counter[Key]:
        with self._lock:
            taken, self._counts = self._counts, Counter()
        return taken

    def restore(self, counts: Counter[Key]) -> None:
        with self._lock:
            self._counts.update(counts)

    def _run_timer(self) -> None:
        stop = threading.Event()
        while not stop.wait(self._every):
            try:
                if self._flush is not None:
                    self._flush()
            except Exception:  # a failed flush keeps its counts (restored) for the next
                log.exception("analytics flush failed")


class RedisTally:
    """One tally for every process, in a Redis hash."""

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url)

    def add(self, widget_id: str, at: datetime, step: str, dimensions: Mapping[str, str]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for key in keys_for(widget_id, at, step, dimensions):
            pipe.hincrby(REDIS_KEY, key.encode(), 1)
        pipe.execute()

    def drain(self) -> Counter[Key]:
        taken = f"{REDIS_KEY}:flushing:{uuid.uuid4().hex}"
        try:
            self._redis.rename(REDIS_KEY, taken)  # atomic: later adds start a new hash
        except redis.ResponseError:
            return Counter()  # nothing counted since the last flush
        raw: dict[Any, Any] = self._redis.hgetall(taken)
        self._redis.delete(taken)
        counts: Counter[Key] = Counter()
        for field, value in raw.items():
            key = Key.decode(field.decode() if isinstance(field, bytes) else str(field))
            if key is not None:
                counts[key] += int(value)
        return counts

    def restore(self, counts: Counter[Key]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for key, count in counts.items():
            pipe.hincrby(REDIS_KEY, key.encode(), count)
        pipe.execute()


def tally_for(config: Mapping[str, Any]) -> Tally:
    """Redis when the deployment has it (processes on many hosts), else this process."""
    url = config.get("REDIS_URL")
    return RedisTally(url) if url else MemoryTally()
