"""The job queue (Huey): signed dial and event jobs, and a consumer tuned for low latency."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from flask import Flask, current_app
from huey import Huey, MemoryHuey, PriorityRedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper
from huey.consumer import Consumer
from redis.exceptions import RedisError

from .calls import dialer, reconciler, scheduling
from .calls.provider_events import event_url
from .core import clock, db, egress
from .core.errors import QueueUnavailable
from .core.job_payloads import (
    DialJob,
    EventJob,
    JobPayload,
    OptOutCodeJob,
    OwnerEmailJob,
    WebhookJob,
)
from .core.models import utcnow
from .core.tokens import JobMalformed, TokenRefused, tokens
from .intake import optout
from .notify import mail, sms, webhooks
from .owners import analytics, retention
from .providers import PermanentProviderError, ProviderEvent

log = logging.getLogger(__name__)

DIAL_PRIORITY = 10
# An unreachable mail server is retried a few times, a minute apart, then given up (logged).
EMAIL_RETRIES = 3
EMAIL_RETRY_DELAY = 60
# What a queue store raises when it cannot take a job: Redis unreachable or failing, the
# SQLite file locked past its timeout or its disk full.
QUEUE_STORE_ERRORS = (RedisError, sqlite3.Error, OSError)

Job = TypeVar("Job", bound=JobPayload)


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
        # Every minute, a booking whose job was lost (queue flushed, restored backup) is
        # enqueued again; every consumer may run it, the dialer keeps it idempotent.
        self._sweep = self.huey.periodic_task(crontab(minute="*"), name="sweep_scheduled")(
            self._run_sweep
        )
        if app.config.get("TESTING"):
            # Tests inject the time (clock.Clock.set): the consumer's scheduler reads it too.
            app_clock: clock.Clock = app.extensions["clock"]
            self.huey._get_timestamp = lambda: app_clock.now().astimezone(UTC).replace(tzinfo=None)
        # Notices to the site owner: their own retries, never in the way of a call.
        self._webhook = self.huey.task(name="webhook")(self._run_webhook)
        self._owner_email = self.huey.task(
            name="owner_email", retries=EMAIL_RETRIES, retry_delay=EMAIL_RETRY_DELAY
        )(self._run_owner_email)
        self.huey.periodic_task(crontab(minute="23"), name="retention")(self.run_retention)
        # Texts to a callee proving an opt-out: retried like emails, never in a call's way.
        self._optout_code = self.huey.task(
            name="optout_code", retries=EMAIL_RETRIES, retry_delay=EMAIL_RETRY_DELAY
        )(self._run_optout_code)
        self.huey.periodic_task(crontab(minute="*/10"), name="optout_purge")(self.purge_optouts)
        self.huey.periodic_task(crontab(minute="*/5"), name="webhook_sweep")(self.sweep_webhooks)
        # Every consumer's scheduler enqueues it each minute; concurrent passes are safe
        # (row locks, and the dial job refuses an attempt that already started).
        self.huey.periodic_task(crontab(), name="reconcile")(self.reconcile)
        # Beacons and refusals are counted in a tally, never written one by one: this
        # process's (or Redis's) counts and the new call events go into the daily rows.
        self.analytics_tally = analytics.tally_for(app.config)
        self.huey.periodic_task(crontab(), name="analytics_rollup")(self.roll_up_analytics)
        if isinstance(self.analytics_tally, analytics.MemoryTally) and not app.config.get(
            "TESTING"
        ):
            # Web processes without a consumer flush what they counted themselves.
            self.analytics_tally.flush_every(
                float(app.config["ANALYTICS_FLUSH_SECONDS"]), self.flush_analytics
            )

    # Enqueueing (called from the web process) ------------------------------------------
    def enqueue_dial(self, callback_id: str, attempt: int, delay: float = 0) -> None:
        signed = tokens().sign_job(DialJob(callback_id, attempt))
        self._put(self._dial, signed, self._eta(delay) if delay > 0 else None)

    def _eta(self, delay: float) -> datetime:
        # From the app's clock, which is the real time outside tests: a test that injects
        # the time sees delayed jobs fall due by that same time.
        app_clock: clock.Clock = self.app.extensions["clock"]
        return app_clock.now() + timedelta(seconds=delay)

    def enqueue_dial_at(self, callback_id: str, attempt: int, when: datetime) -> None:
        """Put a dial job in Huey's persistent schedule, due at `when` (aware)."""
        signed = tokens().sign_job(DialJob(callback_id, attempt))
        # Aware on purpose: Huey reads a naive eta as the machine's local time.
        self._put(self._dial, signed, when.astimezone(UTC))

    def enqueue_event(
        self, callback_id: str, attempt: int, event: ProviderEvent, source: str, delay: float = 0
    ) -> None:
        signed = tokens().sign_job(
            EventJob(
                callback_id,
                attempt,
                event.status,
                cause=event.cause,
                provider_call_id=event.provider_call_id,
                source=source,
            )
        )
        self._put(self._event, signed, self._eta(delay) if delay > 0 else None)

    def _put(self, task: TaskWrapper, signed: str, eta: datetime | None) -> None:
        """Hand a signed job to the queue, due now or at `eta`."""
        # Only the store's own failures are an outage; anything else here is a bug.
        try:
            if eta is None:
                task(signed)
            else:
                task.schedule(args=(signed,), eta=eta)
        except QUEUE_STORE_ERRORS as exc:
            log.error("queue store refused a %s job: %s", task.name, exc.__class__.__name__)
            raise QueueUnavailable() from exc

    def enqueue_webhook(self, delivery_id: int, attempt: int, delay: float = 0) -> None:
        signed = tokens().sign_job(WebhookJob(delivery_id, attempt))
        if delay > 0:
            self._webhook.schedule(args=(signed,), delay=delay)
        else:
            self._webhook(signed)

    def enqueue_owner_email(self, callback_id: str, status: str) -> None:
        self._owner_email(tokens().sign_job(OwnerEmailJob(callback_id, status)))

    def enqueue_optout_code(self, request_id: str) -> None:
        self._optout_code(tokens().sign_job(OptOutCodeJob(request_id)))

    # Running (called in a worker) -----------------------------------------------------
    def _run_dial(self, signed: object) -> None:
        with self.app.app_context():
            dialer.dial(
                db.session(),
                signed,
                tokens=tokens(),
                queue=self,
                event_url=event_url,
                lease_seconds=self.app.config["LEASE_SECONDS"],
                egress=egress.provider_policy(self.app.config),
            )

    def _run_event(self, signed: object) -> None:
        with self.app.app_context():
            dialer.apply_event(db.session(), signed, tokens=tokens(), queue=self)

    def _run_sweep(self) -> None:
        self.sweep_scheduled()

    def sweep_scheduled(self) -> int:
        """Enqueue due bookings whose job was lost; return how many were enqueued."""
        with self.app.app_context():
            return scheduling.sweep(db.session(), clock.now(), self.enqueue_dial)

    def _run_webhook(self, signed: object) -> None:
        with self.app.app_context():
            job = _verified(signed, WebhookJob, "webhook")
            if job is not None:
                webhooks.run(
                    db.session(),
                    job.delivery_id,
                    job.attempt,
                    config=self.app.config,
                    schedule=self.enqueue_webhook,
                )

    def _run_owner_email(self, signed: object) -> None:
        with self.app.app_context():
            job = _verified(signed, OwnerEmailJob, "owner email")
            if job is not None:
                mail.notify(db.session(), job.callback_id, job.status, self.app.config)

    def _run_optout_code(self, signed: object) -> None:
        with self.app.app_context():
            job = _verified(signed, OptOutCodeJob, "opt-out code")
            sender = sms.sender(self.app.config)
            if job is None or sender is None:
                return
            try:
                optout.send_code(
                    db.session(),
                    job.request_id,
                    now=clock.now(),
                    key=optout.code_key(self.app.config),
                    sender=sender,
                )
            except PermanentProviderError as exc:
                # A number that cannot take texts: nothing to retry; the request expires.
                log.warning("opt-out code not sent: %s", exc.cause)

    def purge_optouts(self) -> int:
        """Delete expired opt-out requests and the numbers they held (every 10 minutes)."""
        with self.app.app_context():
            return optout.purge_expired(db.session(), clock.now())

    def sweep_webhooks(self) -> int:
        """Queue webhook deliveries whose job never ran (every 5 minutes)."""
        with self.app.app_context():
            return webhooks.sweep(db.session(), self.enqueue_webhook)

    def run_retention(self) -> int:
        """Erase the numbers of callbacks older than RETENTION_DAYS, and purge audit entries
        older than AUDIT_RETENTION_DAYS (hourly, and on demand)."""
        with self.app.app_context():
            config = self.app.config
            retention.purge_audit_entries(db.session(), config["AUDIT_RETENTION_DAYS"])
            return retention.erase_expired(db.session(), config["RETENTION_DAYS"])

    def reconcile(self) -> dict[str, int]:
        """Run one reconciler pass over stale callbacks; return the outcomes counted."""
        with self.app.app_context():
            config = self.app.config
            bounds = reconciler.Bounds(
                grace=float(config["RECONCILE_GRACE"]),
                lease_seconds=float(config["LEASE_SECONDS"]),
            )
            outcomes = reconciler.reconcile(
                db.session(), bounds=bounds, queue=self, egress=egress.provider_policy(config)
            )
            return dict(outcomes)

    def roll_up_analytics(self) -> dict[str, int]:
        """Flush the analytics tally and roll up the settled call events (every minute)."""
        with self.app.app_context():
            return analytics.run(
                db.session(),
                self.analytics_tally,
                utcnow(),
                float(self.app.config["ANALYTICS_SETTLE_SECONDS"]),
            )

    def flush_analytics(self) -> int:
        """Flush this process's analytics tally into the daily rows."""
        with self.app.app_context():
            return analytics.flush_tally(db.session(), self.analytics_tally)

    def run_pending(self, now: float | None = None) -> int:
        """Run every queued job, and scheduled ones due by `now` (tests, benchmarks)."""
        ran = 0
        # Huey keeps naive UTC timestamps.
        moment = datetime.fromtimestamp(now, UTC).replace(tzinfo=None) if now is not None else None
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


def _verified(signed: object, payload: type[Job], kind: str) -> Job | None:
    try:
        return tokens().read_job(signed, payload)
    except JobMalformed:
        log.warning("%s job dropped: malformed", kind)
        return None
    except TokenRefused as refusal:
        log.error("refused a %s job whose signature does not verify (%s)", kind, refusal.reason)
        return None


def init_app(app: Flask) -> None:
    app.extensions["jobs"] = Jobs(app)


def jobs() -> Jobs:
    return current_app.extensions["jobs"]
