"""Caps on the live status streams one web process holds open: per client, and in all.

An open stream holds a web thread for up to LIVE_STREAM_SECONDS. Without a cap, one
client opening streams (one submission's status URL is enough) takes every thread of a
worker and other visitors wait. Threads are a worker's own, so the counts are too: each
process admits at most LIVE_STREAMS_PER_WORKER streams, at most LIVE_STREAMS_PER_CLIENT
of them from one client address. A refused stream costs one short request, and the
visitor's page polls the status URL instead.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable, Iterable

from flask import Flask, current_app

from ..core.errors import TooManyRequests, Unavailable

EXTENSION = "live_stream_slots"
# A slot whose stream was never closed (the response lost to an error) stops counting this
# long after the stream's own end, so a leak cannot shrink the caps for good.
LEAK_MARGIN_SECONDS = 10.0

PER_CLIENT_MESSAGE = (
    "Too many live status streams are open from your address. "
    "Follow the status URL instead, or open the stream again after Retry-After seconds."
)
PER_WORKER_MESSAGE = (
    "No room for another live status stream right now. "
    "Follow the status URL instead, or open the stream again after Retry-After seconds."
)


class StreamSlots:
    """Count open streams by client; refuse one past either cap."""

    def __init__(
        self,
        per_client: int,
        per_worker: int,
        stream_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_client = per_client
        self.per_worker = per_worker
        self.stream_seconds = stream_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._open: dict[str, dict[int, float]] = {}  # client -> slot id -> opened at

    def open_count(self, client: str | None = None) -> int:
        with self._lock:
            self._expire(self.clock())
            if client is not None:
                return len(self._open.get(client, {}))
            return sum(len(slots) for slots in self._open.values())

    def take(self, client: str) -> Callable[[], None]:
        """Hold a slot for `client` and return what gives it back (safe to call twice).

        Raises TooManyRequests (this client's cap) or Unavailable (the worker's cap), each
        with the seconds until its oldest counted stream ends at the latest.
        """
        with self._lock:
            now = self.clock()
            self._expire(now)
            mine = self._open.get(client, {})
            if len(mine) >= self.per_client:
                raise TooManyRequests(
                    PER_CLIENT_MESSAGE,
                    retry_after=self._wait(mine.values(), now),
                    reason="live_streams_per_client",
                )
            everyone = [opened for slots in self._open.values() for opened in slots.values()]
            if len(everyone) >= self.per_worker:
                raise Unavailable(
                    PER_WORKER_MESSAGE,
                    retry_after=self._wait(everyone, now),
                    reason="live_streams_per_worker",
                )
            slot = next(self._ids)
            self._open.setdefault(client, {})[slot] = now

        def give_back() -> None:
            with self._lock:
                slots = self._open.get(client)
                if slots is not None and slots.pop(slot, None) is not None and not slots:
                    del self._open[client]

        return give_back

    def _expire(self, now: float) -> None:
        for client in list(self._open):
            slots = self._open[client]
            for slot, opened in list(slots.items()):
                if now - opened >= self.stream_seconds + LEAK_MARGIN_SECONDS:
                    del slots[slot]
            if not slots:
                del self._open[client]

    def _wait(self, opened: Iterable[float], now: float) -> int:
        # The oldest stream ends by LIVE_STREAM_SECONDS after it opened (often sooner).
        return max(1, math.ceil(min(opened) + self.stream_seconds - now))


def init_app(app: Flask) -> None:
    config = app.config
    app.extensions[EXTENSION] = StreamSlots(
        per_client=int(config["LIVE_STREAMS_PER_CLIENT"]),
        per_worker=int(config["LIVE_STREAMS_PER_WORKER"]),
        stream_seconds=float(config["LIVE_STREAM_SECONDS"]),
    )


def stream_slots() -> StreamSlots:
    slots: StreamSlots = current_app.extensions[EXTENSION]
    return slots
