"""The worker's side of a callback: verify the job, originate once, record what happened."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from .. import providers
from ..core import clock, metrics
from ..core.egress import PUBLIC, EgressPolicy
from ..core.models import Callback, utcnow
from ..core.numbers import mask
from ..core.statuses import NOT_YET_DIALING, Status
from ..core.tokens import TokenRefused, Tokens
from . import lifecycle, scheduling
from .status_machine import apply_status

log = logging.getLogger(__name__)

# Where a provider may report events for (callback id, attempt, provider); None: nowhere.
EventUrl = Callable[[str, int, str], str | None]


@dataclass(frozen=True)
class JobQueue:
    """How the dialer asks for more work: a later attempt, or a provider event to apply."""

    enqueue_dial: Callable[[str, int, float], None]
    # (callback id, attempt, event, source, delay)
    enqueue_event: Callable[[str, int, providers.ProviderEvent, str, float], None]


def _no_event_url(_callback_id: str, _attempt: int, _provider: str) -> str | None:
    return None


def dial(
    session: Session,
    signed: object,
    *,
    tokens: Tokens,
    queue: JobQueue,
    event_url: EventUrl = _no_event_url,
    lease_seconds: int = 15 * 60,
    egress: EgressPolicy = PUBLIC,
) -> None:
    """Run one dial job: at most one originate per (callback, attempt).

    `egress` is the operator's policy for provider endpoints: the provider connects only
    to addresses it allows, whatever the widget's settings say.
    """
    try:
        job = tokens.read_job(signed)
    except TokenRefused as refusal:
        _refuse_forged_job(session, tokens, signed, refusal.reason)
        return
    # Row lock: two workers must not both decide from the same stale status (PostgreSQL;
    # SQLite already serialises writers).
    callback = lifecycle.lock(session, job["c"]) if isinstance(job.get("c"), str) else None
    attempt = job.get("a")
    if callback is None or not isinstance(attempt, int):
        log.warning("dial job for an unknown callback dropped")
        return
    if callback.status not in NOT_YET_DIALING or callback.attempts >= attempt:
        # Canceled or ended meanwhile, a call of this callback is live, or this attempt
        # already ran (a redelivered job): never dial a second time.
        log.info(
            "dial job skipped callback=%s attempt=%s status=%s",
            callback.id,
            attempt,
            callback.status,
        )
        return
    if callback.status == Status.SCHEDULED:
        gate = scheduling.gate(session, callback, clock.now(), lease_seconds)
        if gate.wait:
            session.rollback()  # drop a lease half taken; the booking stays as it is
            queue.enqueue_dial(callback.id, attempt, gate.wait)
            return
        if gate.status:
            log.info("booking not dialled callback=%s cause=%s", callback.id, gate.cause)
            apply_status(session, callback, gate.status, source="server", cause=gate.cause)
            session.commit()
            return
    widget = callback.widget
    callback.attempts = attempt
    callback.originated_at = utcnow()
    apply_status(session, callback, Status.DIALING, source="server")
    # Committed before the provider is asked, so a crash afterwards cannot lead to a second
    # originate for this attempt: the redelivered job sees attempts == attempt and stops.
    session.commit()

    request = providers.CallRequest(
        callback_id=callback.id,
        attempt=attempt,
        agent=widget.extension,
        visitor_e164=callback.visitor_number,
        timeout=widget.timeout,
        caller_id_number=widget.caller_id_number,
        callee_id_name=widget.outbound_callee_id_name,
        callee_id_number=widget.outbound_callee_id_number,
        extra=dict(callback.extra),
        page_url=callback.page_url,
        event_url=event_url(callback.id, attempt, widget.provider),
    )
    metrics.JOB_LATENCY.observe((callback.originated_at - callback.created_at).total_seconds())
    try:
        provider = providers.build(widget.provider, widget.provider_settings, egress=egress)
        started = time.perf_counter()
        try:
            result = provider.originate(request)
        finally:
            seconds = time.perf_counter() - started
            metrics.PROVIDER_SECONDS.labels(widget.provider).observe(seconds)
    except providers.ProviderConfigError as exc:
        _fail(session, callback, widget.provider, "provider_config", str(exc))
        return
    except providers.ProviderError as exc:
        metrics.PROVIDER_ERRORS.labels(widget.provider, exc.cause).inc()
        if exc.retryable and lifecycle.may_retry(widget, callback):
            lifecycle.retry_later(
                session,
                callback,
                source=widget.provider,
                cause=exc.cause,
                enqueue_dial=queue.enqueue_dial,
            )
            return
        _fail(session, callback, widget.provider, exc.cause, str(exc))
        return

    callback.provider_call_id = result.provider_call_id
    callback.provider_details = dict(result.details)
    apply_status(
        session,
        callback,
        result.status,
        source=widget.provider,
        provider_call_id=result.provider_call_id,
        cause=result.cause,
    )
    session.commit()
    log.info(
        "originated callback=%s provider=%s number=%s",
        callback.id,
        widget.provider,
        mask(callback.visitor_number),
    )
    for planned in result.planned_events:
        queue.enqueue_event(callback.id, attempt, planned.event, widget.provider, planned.delay)


def apply_event(session: Session, signed: object, *, tokens: Tokens, queue: JobQueue) -> None:
    """Apply one provider event carried by a signed job."""
    try:
        job = tokens.read_job(signed)
    except TokenRefused as refusal:
        log.warning("refused an event job: %s", refusal.reason)
        return
    callback_id, status, attempt = job.get("c"), job.get("s"), job.get("a")
    cause, call_id = job.get("cause"), job.get("pid")
    if (
        not isinstance(callback_id, str)
        or not isinstance(status, str)
        or status not in set(Status)
        or not (attempt is None or isinstance(attempt, int))
    ):
        log.warning("event job dropped: unknown callback or status")
        return
    event = providers.ProviderEvent(
        Status(status),
        provider_call_id=call_id if isinstance(call_id, str) else None,
        cause=cause if isinstance(cause, str) else None,
    )
    # Row lock inside: concurrent events for one call apply one after the other, or a late
    # "connected" could overwrite a "completed" read a moment earlier.
    outcome = lifecycle.record_event(
        session,
        callback_id,
        attempt,
        event,
        source=str(job.get("src", "provider")),
        enqueue_dial=queue.enqueue_dial,
    )
    if outcome is None:
        log.warning("event job dropped: unknown callback")


def _fail(session: Session, callback: Callback, source: str, cause: str, message: str) -> None:
    log.warning("callback=%s failed cause=%s: %s", callback.id, cause, message)
    apply_status(session, callback, Status.FAILED, source=source, cause=cause)
    session.commit()


def _refuse_forged_job(session: Session, tokens: Tokens, signed: object, reason: str) -> None:
    claimed = tokens.claimed_job(signed) or {}
    log.error("refused a dial job whose signature does not verify (%s)", reason)
    callback = session.get(Callback, claimed["c"]) if isinstance(claimed.get("c"), str) else None
    # Only a callback that has not been dialled yet is marked; the forged job never dials.
    if callback is not None and callback.status == Status.QUEUED:
        apply_status(session, callback, Status.FAILED, source="server", cause="job_forged")
        session.commit()
