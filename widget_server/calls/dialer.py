"""The worker's side of a callback: verify the job, originate once, record what happened."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from .. import providers
from ..core import clock, metrics
from ..core.egress import PUBLIC, EgressPolicy
from ..core.job_payloads import DialJob, EventJob
from ..core.models import Callback, utcnow
from ..core.numbers import mask
from ..core.statuses import NOT_YET_DIALING, Status, is_terminal
from ..core.tokens import JobMalformed, TokenRefused, Tokens
from . import (
    agent_speech,
    failover,
    lifecycle,
    provider_booking,
    provider_setup,
    routing,
    scheduling,
)
from .queue import JobQueue
from .status_machine import apply_status, hand_off

log = logging.getLogger(__name__)

AGENTS_AWAY = "agents_away"  # every agent of the round is outside their own hours
# Where a provider may report events for (callback id, attempt, provider); None: nowhere.
EventUrl = Callable[[str, int, str], str | None]


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
    job = _verified(session, tokens, signed)
    if job is None:
        return
    callback = _callback_to_dial(session, job)
    if callback is None:
        return
    if callback.status == Status.SCHEDULED and provider_booking.books_with_provider(
        callback.widget, callback.scheduled_for, clock.now(), callback.department
    ):
        _book_with_provider(session, callback, job.attempt, event_url, queue, egress)
        return
    if callback.status == Status.SCHEDULED and not _booking_due(
        session, callback, job.attempt, queue, lease_seconds
    ):
        return
    if provider_setup.needed(callback.widget):
        if not _set_up_provider(session, callback, job.attempt, event_url, queue, egress):
            return
        callback = _callback_to_dial(session, job)  # locked again: the set-up committed
        if callback is None:
            return
    leg = _route(session, callback, queue)
    if leg is None:
        return
    _start_attempt(session, callback, job.attempt, leg)
    request = call_request(callback, job.attempt, event_url, leg)
    placed = _originate(session, callback, request, queue, egress, event_url)
    if placed is not None:
        carrier, result = placed
        _record_originated(session, callback, job.attempt, result, queue, carrier)


def _verified(session: Session, tokens: Tokens, signed: object) -> DialJob | None:
    """Return the dial job a signed payload carries, or None for a malformed or forged one."""
    try:
        return tokens.read_job(signed, DialJob)
    except JobMalformed:
        log.warning("dial job for an unknown callback dropped")
    except TokenRefused as refusal:
        _refuse_forged_job(session, tokens, signed, refusal.reason)
    return None


def _callback_to_dial(session: Session, job: DialJob) -> Callback | None:
    """Lock the job's callback; return it only if this attempt may still be dialled."""
    # Row lock: two workers must not both decide from the same stale status (PostgreSQL;
    # SQLite already serialises writers).
    callback = lifecycle.lock(session, job.callback_id)
    if callback is None:
        log.warning("dial job for an unknown callback dropped")
        return None
    if callback.status not in NOT_YET_DIALING or callback.attempts >= job.attempt:
        # Canceled or ended meanwhile, a call of this callback is live, or this attempt
        # already ran (a redelivered job): never dial a second time.
        log.info(
            "dial job skipped callback=%s attempt=%s status=%s",
            callback.id,
            job.attempt,
            callback.status,
        )
        return None
    return callback


def _booking_due(
    session: Session, callback: Callback, attempt: int, queue: JobQueue, lease_seconds: int
) -> bool:
    """Say whether a booking may be dialled now; otherwise queue it again or end it."""
    gate = scheduling.gate(session, callback, clock.now(), lease_seconds)
    if gate.wait:
        session.rollback()  # drop a lease half taken; the booking stays as it is
        queue.enqueue_dial(callback.id, attempt, gate.wait)
        return False
    if gate.status:
        log.info("booking not dialled callback=%s cause=%s", callback.id, gate.cause)
        apply_status(session, callback, gate.status, source="server", cause=gate.cause)
        session.commit()
        return False
    return True


def _route(session: Session, callback: Callback, queue: JobQueue) -> routing.Leg | None:
    """Pick the agents this attempt rings; with none on duty, end the round unanswered."""
    leg = routing.next_leg(session, callback, clock.now())
    if leg is not None:
        return leg
    log.info("no agent on duty callback=%s", callback.id)
    routing.end_round(callback)
    widget = callback.widget
    if lifecycle.may_retry(widget, callback):
        lifecycle.retry_later(
            session, callback, source="server", cause=AGENTS_AWAY, enqueue_dial=queue.enqueue_dial
        )
    else:
        apply_status(session, callback, Status.NO_ANSWER, source="server", cause=AGENTS_AWAY)
        session.commit()
    return None


def _book_with_provider(
    session: Session,
    callback: Callback,
    attempt: int,
    event_url: EventUrl,
    queue: JobQueue,
    egress: EgressPolicy,
) -> None:
    """Hand a booking to the provider's own scheduler, once (calls/provider_booking.py)."""
    widget = callback.widget
    provider_booking.mark_sent(session, callback, attempt)
    # The provider's scheduler rings one agent: bookings go to it only for a lone agent.
    request = call_request(callback, attempt, event_url, routing.first_leg(callback))
    try:
        provider = providers.build(widget.provider, widget.provider_settings, egress=egress)
        result = provider_booking.book(provider, callback, request)
    except providers.ProviderConfigError as exc:
        _fail(session, callback, widget.provider, "provider_config", str(exc))
        return
    except providers.ProviderError as exc:
        metrics.PROVIDER_ERRORS.labels(widget.provider, exc.cause).inc()
        # Not retried: a second booking could ring the visitor twice at the booked time.
        _fail(session, callback, widget.provider, exc.cause, str(exc))
        return
    _record_originated(session, callback, attempt, result, queue, widget.provider)


def _set_up_provider(
    session: Session,
    callback: Callback,
    attempt: int,
    event_url: EventUrl,
    queue: JobQueue,
    egress: EgressPolicy,
) -> bool:
    """Run the provider's one-time set-up for the widget (calls/provider_setup.py).

    Returns False when this job stops here: another job is setting the provider up (this
    one is queued again shortly), or the set-up failed (the attempt failed or is retried).
    """
    widget = callback.widget
    if not provider_setup.claim(session, widget, callback.id):
        queue.enqueue_dial(callback.id, attempt, provider_setup.SETUP_WAIT_SECONDS)
        return False
    widget_id, name = widget.id, widget.provider
    try:
        provider = providers.build(name, widget.provider_settings, egress=egress)
        # What is set up once serves every call: the widget's first agent stands for them.
        created = provider.set_up(
            call_request(callback, attempt, event_url, routing.first_leg(callback))
        )
    except (providers.ProviderConfigError, providers.ProviderError) as exc:
        provider_setup.release(session, widget_id)
        session.commit()
        locked = lifecycle.lock(session, callback.id)
        if locked is not None and locked.status in NOT_YET_DIALING:
            _set_up_failed(session, locked, attempt, name, exc, queue)
        return False
    provider_setup.store(session, widget_id, created)
    return True


def _set_up_failed(
    session: Session,
    callback: Callback,
    attempt: int,
    name: str,
    exc: providers.ProviderConfigError | providers.ProviderError,
    queue: JobQueue,
) -> None:
    """Count a failed set-up as the attempt (and round) it stopped: retried like one, or
    failed. No agent was rung, so no leg is shown."""
    callback.rounds = (callback.rounds or 0) + 1
    _start_attempt(session, callback, attempt, None)
    if isinstance(exc, providers.ProviderConfigError):
        _fail(session, callback, name, "provider_config", str(exc))
    else:
        metrics.PROVIDER_ERRORS.labels(name, exc.cause).inc()
        _attempt_failed(session, callback, name, exc, queue)


def _start_attempt(
    session: Session, callback: Callback, attempt: int, leg: routing.Leg | None
) -> None:
    callback.attempts = attempt
    callback.originated_at = utcnow()
    details = {"attempt": attempt, **(leg.timeline() if leg is not None else {})}
    apply_status(session, callback, Status.DIALING, source="server", details=details)
    # Committed before the provider is asked, so a crash afterwards cannot lead to a second
    # originate for this attempt: the redelivered job sees attempts == attempt and stops.
    session.commit()
    metrics.JOB_LATENCY.observe((callback.originated_at - callback.created_at).total_seconds())


def call_request(
    callback: Callback,
    attempt: int,
    event_url: EventUrl,
    leg: routing.Leg,
    provider: str | None = None,
) -> providers.CallRequest:
    """Build what the provider is handed for one attempt (also rebuilt for its events).

    `provider` names the one whose event URL the request carries: the widget's own unless
    the attempt went to the secondary.
    """
    widget = callback.widget
    return providers.CallRequest(
        callback_id=callback.id,
        attempt=attempt,
        agent=leg.extensions[0],
        agents=leg.extensions,
        **_agent_speech(callback),
        visitor_e164=callback.visitor_number,
        timeout=widget.timeout,
        caller_id_number=widget.caller_id_number,
        callee_id_name=widget.outbound_callee_id_name,
        callee_id_number=widget.outbound_callee_id_number,
        extra=dict(callback.extra),
        page_url=callback.page_url,
        event_url=event_url(callback.id, attempt, provider or widget.provider),
    )


def _agent_speech(callback: Callback) -> dict[str, Any]:
    """Return the whisper and answering-machine fields of a call, where the provider can."""
    widget = callback.widget
    language = agent_speech.language(widget)
    department = routing.department_name(widget, callback.department, language)
    speech: dict[str, Any] = {"speech_language": language}
    if agent_speech.wants_whisper(widget):
        speech["whisper"] = agent_speech.whisper(widget, department)
    if agent_speech.wants_machine_detection(widget):
        speech["machine_detection"] = True
        speech["machine_notice"] = agent_speech.machine_notice(widget)
    return speech


def _originate(
    session: Session,
    callback: Callback,
    request: providers.CallRequest,
    queue: JobQueue,
    egress: EgressPolicy,
    event_url: EventUrl,
) -> tuple[str, providers.OriginateResult] | None:
    """Ask the widget's provider to place the call; on an error, fail over, retry or fail.

    Returns the name of the provider that took the call and its answer.
    """
    widget = callback.widget
    try:
        primary = providers.build(widget.provider, widget.provider_settings, egress=egress)
    except providers.ProviderConfigError as exc:
        _fail(session, callback, widget.provider, "provider_config", str(exc))
        return None
    try:
        return widget.provider, _timed_originate(primary, request)
    except providers.ProviderConfigError as exc:
        _fail(session, callback, widget.provider, "provider_config", str(exc))
    except providers.ProviderError as exc:
        metrics.PROVIDER_ERRORS.labels(widget.provider, exc.cause).inc()
        if failover.may_switch(widget, exc, primary, request):
            return _fail_over(session, callback, request, queue, egress, event_url, exc.cause)
        _attempt_failed(session, callback, widget.provider, exc, queue)
    return None


def _fail_over(
    session: Session,
    callback: Callback,
    request: providers.CallRequest,
    queue: JobQueue,
    egress: EgressPolicy,
    event_url: EventUrl,
    reason: str,
) -> tuple[str, providers.OriginateResult] | None:
    """Place the attempt with the secondary provider, once: the primary surely did not."""
    widget = callback.widget
    name = str(widget.secondary_provider)
    failover.record_switch(session, callback, widget.provider, name, reason)
    request = replace(request, event_url=event_url(callback.id, request.attempt, name))
    try:
        secondary = providers.build(name, widget.secondary_provider_settings, egress=egress)
        return name, _timed_originate(secondary, request)
    except providers.ProviderConfigError as exc:
        _fail(session, callback, name, "provider_config", str(exc))
    except providers.ProviderError as exc:
        metrics.PROVIDER_ERRORS.labels(name, exc.cause).inc()
        _attempt_failed(session, callback, name, exc, queue)
    return None


def _attempt_failed(
    session: Session,
    callback: Callback,
    source: str,
    exc: providers.ProviderError,
    queue: JobQueue,
) -> None:
    """End an attempt the provider failed: retry later when that may help, else fail."""
    if exc.retryable and lifecycle.may_retry(callback.widget, callback):
        lifecycle.retry_later(
            session, callback, source=source, cause=exc.cause, enqueue_dial=queue.enqueue_dial
        )
    else:
        _fail(session, callback, source, exc.cause, str(exc))


def _timed_originate(
    provider: providers.Provider, request: providers.CallRequest
) -> providers.OriginateResult:
    started = time.perf_counter()
    try:
        return provider.originate(request)
    finally:
        seconds = time.perf_counter() - started
        metrics.PROVIDER_SECONDS.labels(provider.name).observe(seconds)


def _record_originated(
    session: Session,
    callback: Callback,
    attempt: int,
    result: providers.OriginateResult,
    queue: JobQueue,
    provider: str,
) -> None:
    """Store what `provider` answered, then queue the events it said it will report."""
    callback.provider_call_id = result.provider_call_id
    # Which provider carries the call: the owner's history names it (failover).
    callback.provider_details = {**result.details, "provider": provider}
    if _agent_did_not_take(result):
        session.commit()
        _next_agent_or_retry(session, callback, attempt, result, queue, provider)
        return
    apply_status(
        session,
        callback,
        result.status,
        source=provider,
        provider_call_id=result.provider_call_id,
        cause=result.cause,
    )
    _hand_off_if_unreported(session, callback, provider, result)
    session.commit()
    log.info(
        "originated callback=%s provider=%s number=%s",
        callback.id,
        provider,
        mask(callback.visitor_number),
    )
    for planned in result.planned_events:
        queue.enqueue_event(callback.id, attempt, planned.event, provider, planned.delay)


def _agent_did_not_take(result: providers.OriginateResult) -> bool:
    """Say whether an originate that waited for the agent leg reports it unanswered."""
    return result.status in lifecycle.RETRY_ENDS and result.cause in routing.AGENT_ENDS


def _next_agent_or_retry(
    session: Session,
    callback: Callback,
    attempt: int,
    result: providers.OriginateResult,
    queue: JobQueue,
    provider: str,
) -> None:
    """Treat the answer as the event it is, so the next agent (or a retry) follows."""
    event = providers.ProviderEvent(
        result.status, provider_call_id=result.provider_call_id, cause=result.cause
    )
    lifecycle.record_event(
        session, callback.id, attempt, event, source=provider, enqueue_dial=queue.enqueue_dial
    )


def _hand_off_if_unreported(
    session: Session, callback: Callback, provider: str, result: providers.OriginateResult
) -> None:
    """End the callback `handed_off` when its provider took the call and will say no more."""
    adapter = providers.provider_class(provider)
    if (
        adapter.can(providers.Capability.REPORTS_STATUS)
        or is_terminal(callback.status)
        or result.planned_events
    ):
        return
    hand_off(
        session,
        callback,
        source=provider,
        lease_seconds=adapter.handoff_lease_seconds,
        details={"confirmed": result.status},
    )


def apply_event(session: Session, signed: object, *, tokens: Tokens, queue: JobQueue) -> None:
    """Apply one provider event carried by a signed job."""
    try:
        job = tokens.read_job(signed, EventJob)
    except JobMalformed:
        log.warning("event job dropped: unknown callback or status")
        return
    except TokenRefused as refusal:
        log.warning("refused an event job: %s", refusal.reason)
        return
    event = providers.ProviderEvent(
        Status(job.status), provider_call_id=job.provider_call_id, cause=job.cause
    )
    # Row lock inside: concurrent events for one call apply one after the other, or a late
    # "connected" could overwrite a "completed" read a moment earlier.
    outcome = lifecycle.record_event(
        session,
        job.callback_id,
        job.attempt,
        event,
        source=job.source,
        enqueue_dial=queue.enqueue_dial,
    )
    if outcome is None:
        log.warning("event job dropped: unknown callback")


def _fail(session: Session, callback: Callback, source: str, cause: str, message: str) -> None:
    log.warning("callback=%s failed cause=%s: %s", callback.id, cause, message)
    apply_status(session, callback, Status.FAILED, source=source, cause=cause)
    session.commit()


def _refuse_forged_job(session: Session, tokens: Tokens, signed: object, reason: str) -> None:
    claimed = tokens.claimed_callback_id(signed)
    log.error("refused a dial job whose signature does not verify (%s)", reason)
    callback = session.get(Callback, claimed) if claimed is not None else None
    # Only a callback that has not been dialled yet is marked; the forged job never dials.
    if callback is not None and callback.status == Status.QUEUED:
        apply_status(session, callback, Status.FAILED, source="server", cause="job_forged")
        session.commit()
