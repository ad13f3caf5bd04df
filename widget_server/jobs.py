"""The job queue (Huey): signed dial and event jobs, and a consumer tuned for low latency."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app
from huey import Huey, MemoryHuey, PriorityRedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer

from . import db, dialer, reconciler
from .providers import ProviderEvent
from .tokens import tokens

log = logging.getLogger(__name__)

DIAL_PRIORITY = 10


def make_huey(config: Any) -> Huey:
    backend = config["QUEUE_BACKEND"]
    if backend == "redis":
        # Blocking pops: a job is picked up the moment it lands, with no polling at all.
        return PriorityRedisHuey(
            "widget-server", url=config["REDIS_URL"], results=False, blocking=True
        )
    if backend == "memory":
        return MemoryHuey("widget-server", results=False)
    return SqliteHuey("widget-server", filename=config["QUEUE_PATH"], results=False, timeout=15)


class Jobs:
    """The app's queue and the two task kinds it runs."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.huey = make_huey(app.config)
        # Dial jobs jump the queue: under load, a visitor waiting for a call matters more
        # than a status step of a call already under way.
        self._dial = self.huey.task(name="dial", priority=DIAL_PRIORITY)(self._run_dial)
        self._event = self.huey.task(name="provider_event")(self._run_event)
        # Every consumer's scheduler enqueues it each minute; concurrent passes are safe
        # (row locks, and the dial job refuses an attempt that already started).
        self.huey.periodic_task(crontab(), name="reconcile")(self.reconcile)

    # Enqueueing (called from the web process) ------------------------------------------
    def enqueue_dial(self, callback_id: str, attempt: int, delay: float = 0) -> None:
        signed = tokens().sign_job({"c": callback_id, "a": attempt})
        if delay > 0:
            self._dial.schedule(args=(signed,), delay=delay)
        else:
            self._dial(signed)

    def enqueue_event(
        self, callback_id: str, event: ProviderEvent, source: str, delay: float = 0
    ) -> None:
        signed = tokens().sign_job(
            {
                "c": callback_id,
                "s": event.status,
                "cause": event.cause,
                "pid": event.provider_call_id,
                "src": source,
            }
        )
        if delay > 0:
            self._event.schedule(args=(signed,), delay=delay)
        else:
            self._event(signed)

    # Running (called in a worker) -----------------------------------------------------
    def _run_dial(self, signed: object) -> None:
        with self.app.app_context():
            queue = dialer.JobQueue(self.enqueue_dial, self.enqueue_event)
            dialer.dial(db.session(), signed, tokens=tokens(), queue=queue)

    def _run_event(self, signed: object) -> None:
        with self.app.app_context():
            dialer.apply_event(db.session(), signed, tokens=tokens())

    def reconcile(self) -> dict[str, int]:
        """Run one reconciler pass over stale callbacks; return the outcomes counted."""
        with self.app.app_context():
            config = self.app.config
            bounds = reconciler.Bounds(
                grace=float(config["RECONCILE_GRACE"]),
                lease_seconds=float(config["LEASE_SECONDS"]),
            )
            return dict(
                reconciler.reconcile(db.session(), bounds=bounds, enqueue_dial=self.enqueue_dial)
            )

    def run_pending(self, now: float | None = None) -> int:
        """Run every queued job, and scheduled ones due by `now` (tests, benchmarks)."""
        import datetime as dt

        ran = 0
        moment = (
            dt.datetime.fromtimestamp(now, dt.UTC).replace(tzinfo=None) if now is not None else None
        )
        while True:
            if moment is not None:
                for task in self.huey.read_schedule(moment):
                    self.huey.enqueue(task)
            task = self.huey.dequeue()
            if task is None:
                return ran
            self.huey.execute(task, moment)
            ran += 1

    def consumer(self, workers: int | None = None, in_process: bool = False) -> Consumer:
        """Build a consumer that polls at a flat interval instead of backing off to 10 s."""
        poll = float(self.app.config["QUEUE_POLL_INTERVAL"])
        options: dict[str, Any] = {
            "workers": workers or self.app.config["QUEUE_WORKERS"],
            "worker_type": "thread",
            "initial_delay": poll,
            "backoff": 1.0,
            "max_delay": poll,
            "scheduler_interval": 1,
            "periodic": True,
            # SIGTERM (systemd, Kubernetes, gunicorn-style) finishes the jobs in hand first.
            "graceful_signal": "TERM",
        }
        consumer_class = InProcessConsumer if in_process else Consumer
        return consumer_class(self.huey, **options)


class InProcessConsumer(Consumer):
    """A consumer sharing the web server's process: the server owns the signal handlers."""

    def _set_signal_handlers(self) -> None:
        return None


def init_app(app: Flask) -> None:
    app.extensions["jobs"] = Jobs(app)


def jobs() -> Jobs:
    return current_app.extensions["jobs"]
