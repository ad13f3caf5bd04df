"""The time the app reads for business hours and bookings; tests may set it, production never.

Only an app built with ``TESTING`` accepts an injected time, so daylight-saving and
"outside hours" scenarios are deterministic in tests and a stray setting cannot move a
production server's clock.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app, has_app_context


class Clock:
    """Real UTC time, or an injected instant that is frozen or keeps running from there."""

    def __init__(self, injectable: bool) -> None:
        self.injectable = injectable
        self._start: datetime | None = None
        self._running = False
        self._started = 0.0

    def now(self) -> datetime:
        if self._start is None:
            return datetime.now(UTC)
        if not self._running:
            return self._start
        return self._start + timedelta(seconds=time.monotonic() - self._started)

    def set(self, instant: datetime, *, running: bool = False) -> None:
        """Inject `instant` (aware); `running` lets it advance with real time from there."""
        if not self.injectable:
            raise RuntimeError("the clock can only be set in a testing configuration")
        if instant.tzinfo is None:
            raise ValueError("an injected time must be timezone-aware")
        self._start = instant.astimezone(UTC)
        self._running = running
        self._started = time.monotonic()

    def reset(self) -> None:
        self._start = None


def now() -> datetime:
    """Return the app's current time (aware, UTC)."""
    if has_app_context():
        clock: Clock = current_app.extensions["clock"]
        return clock.now()
    return datetime.now(UTC)


def init_app(app: Flask) -> None:
    app.extensions["clock"] = Clock(injectable=bool(app.config.get("TESTING")))
