"""Reconcile callbacks a crash left behind, without ever dialling an attempt twice.

A worker killed between "dialing" (committed before the provider is asked) and the
provider's answer leaves a callback with no result; a job lost from the queue leaves one
"queued" for good; a provider that reports nothing after its originate leaves one in the
status the originate confirmed. Each pass looks at active callbacks with no progress for
longer than a bound derived from the widget's ring timeout, and settles each one:

- scheduled, handed to a provider's own scheduler whose answer was lost (a crash): past its
  time it ends "failed" with cause "lost", never booked twice;
- queued, never dialled: its dial job was lost; dialling attempt 1 again is safe, because
  the dial job itself refuses an attempt that already started;
- dialing with no answer recorded: the provider is asked what became of the attempt (by
  its idempotency key). A recorded state is applied; "no such attempt" means no call was
  placed, so a new attempt is queued (once); a provider that cannot say leaves the
  callback "failed" with cause "lost" rather than risk ringing anyone twice;
- a later status gone quiet on a provider that declares no `reports_status` (one left so
  by an older version: the dialer hands such calls off at once): it ends `handed_off`;
- a later status gone quiet (the provider took the attempt): the provider is asked for the
  call's state when it can say (simulator, webhook with a status_url, Twilio, Kazoo with a
  known clicktocall; FreeSWITCH and Asterisk say whether the call is still up). A
  provider that cannot with these settings, or one that says the call is still going,
  leaves the callback as it is until it has been quiet for the lease, the longest a call
  counts as in progress; then it ends "completed" with cause "unreported".

The provider is asked outside any transaction (SQLite would otherwise hold its write lock
across a network call); the answer is applied only if the callback did not move meanwhile.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .. import providers
from ..core import metrics
from ..core.egress import PUBLIC, EgressPolicy
from ..core.models import Callback, CallEvent, utcnow
from ..core.statuses import Status, can_move, is_terminal
from . import failover, lifecycle
from .queue import DialQueue
from .status_machine import apply_status, hand_off

log = logging.getLogger(__name__)

SOURCE = "reconciler"
LOST = "lost"
REQUEUED = "requeued"
REDIALLED = "lost_attempt_redialled"
RETRY_REQUEUED = "retry_requeued"
UNREPORTED = "unreported"
HANDED_OFF = "handed_off"
# Once the agent has answered, the conversation may last; quiet is normal until the lease
# (the longest a call counts as in progress) has run out.
TALKING = frozenset({Status.AGENT_ANSWERED, Status.VISITOR_RINGING, Status.CONNECTED})
# Not yet dialled (or between attempts): a lost job is queued again, no provider is asked.
NOT_ASKED = frozenset({Status.QUEUED, Status.RETRY_WAIT})
CHECKED = (
    Status.SCHEDULED,  # only a booking handed to a provider whose answer was lost
    Status.QUEUED,
    Status.RETRY_WAIT,
    Status.DIALING,
    Status.AGENT_RINGING,
    Status.AGENT_ANSWERED,
    Status.VISITOR_RINGING,
    Status.CONNECTED,
)


@dataclass(frozen=True)
class Bounds:
    """How long a callback may stay quiet before a pass looks at it."""

    grace: float  # seconds beyond the ring timeouts (queue backlog, slow provider answers)
    lease_seconds: float

    def stale_after(
        self, status: str, ring_timeout: int, retry_in: float = 0, asks: bool = False
    ) -> timedelta:
        if status in TALKING and not asks:
            # Nobody can say when the conversation ends: leave it until the lease runs out.
            seconds = max(self.lease_seconds, 2 * ring_timeout + self.grace)
        elif status in TALKING:
            # A provider that can say whether the call is still up is asked as soon as a
            # ringing leg would have ended, so a finished call ends here minutes after it.
            seconds = 2 * ring_timeout + self.grace
        elif status in NOT_ASKED:
            seconds = self.grace  # a retry wait also gets its own delay (retry_in) below
        else:
            # Both legs ring for at most the widget's timeout each.
            seconds = 2 * ring_timeout + self.grace
        return timedelta(seconds=seconds + retry_in)


@dataclass(frozen=True)
class Candidate:
    callback_id: str
    status: str
    attempt: int
    provider_call_id: str | None
    last_event_id: int | None
    awaiting_answer: bool  # the attempt started, and nothing came back from the provider
    lease_over: bool  # quiet for at least the lease: no call can still be going on
    # The widget's provider, for a callback past queued (None: its settings no longer build).
    provider: providers.Provider | None = None
    # The adapter the widget names, for what it declares even when its settings fail.
    adapter: type[providers.Provider] | None = None


def reconcile(
    session: Session,
    *,
    bounds: Bounds,
    queue: DialQueue,
    now: datetime | None = None,
    limit: int = 200,
    egress: EgressPolicy = PUBLIC,
) -> Counter[str]:
    """Run one pass; return how many callbacks ended in each outcome.

    Providers are asked through `egress`, the operator's policy for provider endpoints.
    """
    moment = now or utcnow()
    outcomes: Counter[str] = Counter()
    earliest = moment - timedelta(seconds=bounds.grace)
    # updated_at only moves with the status, so it never lies after the last event: a cheap
    # first filter on the (status, updated_at) index.
    ids = session.scalars(
        select(Callback.id)
        .where(
            Callback.status.in_(CHECKED),
            Callback.updated_at < earliest,
            # A booking waiting for its time is the sweeper's; only one sent is looked at.
            or_(Callback.status != Status.SCHEDULED, Callback.attempts > 0),
        )
        .order_by(Callback.updated_at)
        .limit(limit)
    ).all()
    for callback_id in ids:
        candidate = _stale(session, callback_id, bounds, moment, egress)
        session.rollback()  # no transaction is held while the provider is asked
        if candidate is None:
            continue
        try:
            outcome = _settle(session, candidate, queue)
        except Exception:
            session.rollback()
            log.exception("reconciling callback=%s failed; next pass tries again", callback_id)
            outcome = "error"
        outcomes[outcome] += 1
        metrics.RECONCILED.labels(outcome).inc()
    if ids:
        log.info("reconciler pass: %s", dict(outcomes) or "nothing stale")
    return outcomes


def _newest_events(session: Session, callback: Callback) -> list[CallEvent]:
    """Read the callback's events newest first: all of them while dialing, else the last."""
    # A "dialing" callback's events also say whether its attempt got an answer: one read
    # serves both questions.
    query = (
        select(CallEvent).where(CallEvent.callback_id == callback.id).order_by(CallEvent.id.desc())
    )
    if callback.status != Status.DIALING:
        query = query.limit(1)
    return list(session.scalars(query))


def _last_event_id(session: Session, callback_id: str) -> int | None:
    return session.scalars(
        select(CallEvent.id)
        .where(CallEvent.callback_id == callback_id)
        .order_by(CallEvent.id.desc())
        .limit(1)
    ).first()


def _stale(
    session: Session, callback_id: str, bounds: Bounds, moment: datetime, egress: EgressPolicy
) -> Candidate | None:
    callback = session.get(Callback, callback_id)
    if callback is None or is_terminal(callback.status):
        return None
    if callback.scheduled_for is not None and callback.scheduled_for > moment:
        return None
    events = _newest_events(session, callback)
    last = events[0] if events else None
    last_seen = last.occurred_at if last is not None else callback.updated_at
    retry_in = 0.0
    if last is not None and isinstance(last.details.get("retry_in"), int | float):
        retry_in = float(last.details["retry_in"])  # a retry is scheduled: give it its time
    # Built once per pass: before the bound when the bound depends on it (a conversation
    # is asked about sooner when its provider can answer), else only once found stale.
    # The provider carrying the current attempt: the secondary after a failover.
    carrier, settings = failover.carrier(session, callback)
    provider = _provider(carrier, settings, egress) if callback.status in TALKING else None
    asks = provider is not None and provider.reports_call_status()
    bound = bounds.stale_after(callback.status, callback.widget.timeout, retry_in, asks)
    quiet = moment - max(last_seen, callback.updated_at)
    if quiet <= bound:
        return None
    if callback.status not in TALKING and callback.status not in NOT_ASKED:
        provider = _provider(carrier, settings, egress)
    return Candidate(
        callback.id,
        callback.status,
        callback.attempts,
        callback.provider_call_id,
        last.id if last is not None else None,
        callback.status == Status.DIALING and _awaiting_answer(events, callback.attempts),
        # "dialing" is stale long before the lease runs out: a call its provider cannot
        # report is looked at again on each pass, and settled only once this holds.
        quiet >= timedelta(seconds=bounds.lease_seconds),
        provider,
        providers.REGISTRY.get(carrier),
    )


def _provider(
    name: str, settings: dict[str, Any], egress: EgressPolicy
) -> providers.Provider | None:
    """The provider called `name` with a widget's settings, or None when they no longer build."""
    try:
        return providers.build(name, settings, egress=egress)
    except providers.ProviderConfigError:
        return None


def _awaiting_answer(newest_first: list[CallEvent], attempt: int) -> bool:
    """Say whether nothing of the current attempt came back after the server's "dialing".

    A late report of an earlier attempt (stored with its own attempt number) is no answer:
    taking it for one would treat an attempt that may never have reached the provider as
    a call it took.
    """
    for event in newest_first:
        if event.source == "server" and event.status == Status.DIALING:
            return True
        if event.details.get("attempt", attempt) == attempt:
            return False
    return False


def _settle(session: Session, candidate: Candidate, queue: DialQueue) -> str:
    if candidate.status == Status.SCHEDULED:
        # Sent to the provider's scheduler, and its answer lost: it may hold the booking,
        # so it is never booked again (calls/provider_booking.py).
        return _apply(session, candidate, _give_up)
    if candidate.status == Status.QUEUED:
        if candidate.attempt != 0:
            return "untouched"
        return _apply(session, candidate, partial(_requeue, queue=queue))
    if candidate.status == Status.RETRY_WAIT:
        # The next attempt's job was lost: queue it again. The dial job only places a call
        # from retry_wait and never runs an attempt twice, so a late original is harmless.
        return _apply(session, candidate, partial(_requeue_next_attempt, queue=queue))
    # Dialing or later: whether or not the provider named the call, only it can say more
    # (a status query takes the idempotency key too), or the lease settles it.
    return _ask_provider(session, candidate, queue)


def _ask_provider(session: Session, candidate: Candidate, queue: DialQueue) -> str:
    callback = session.get(Callback, candidate.callback_id)
    if callback is None:
        return "untouched"
    key = f"{callback.id}-{candidate.attempt}"
    provider = candidate.provider
    session.rollback()
    if provider is None or not provider.reports_call_status():
        return _unreported_attempt(session, candidate)
    try:
        state = provider.call_status(
            None if candidate.awaiting_answer else candidate.provider_call_id, key
        )
    except providers.ProviderError as exc:
        if not exc.retryable and (candidate.awaiting_answer or candidate.lease_over):
            # It refuses for good to say how the call went (credentials changed, call id
            # refused): no different from a provider that cannot report.
            return _unreported_attempt(session, candidate)
        log.warning("provider status query for callback=%s failed: %s", callback.id, exc.cause)
        return "provider_unreachable"
    if not state.placed:
        if candidate.awaiting_answer:
            return _apply(session, candidate, partial(_redial, queue=queue))
        return _apply(session, candidate, _give_up)
    if state.event is None or not can_move(candidate.status, state.event.status):
        # Placed and, by the provider's own record, not over yet (no state, or none later
        # than what is known: nothing to record). Past the lease (the longest a call counts
        # as in progress) its record has stopped telling the truth, or will never end (a
        # history entry that never gets its CDR): settle it as unreported.
        if candidate.lease_over:
            return _apply(session, candidate, _end_unreported)
        return "in_progress"
    return _apply(session, candidate, partial(_resolve, event=state.event, source=provider.name))


def _unreported_attempt(session: Session, candidate: Candidate) -> str:
    """Settle an attempt its provider will not report on, once that can be done safely."""
    if candidate.awaiting_answer:
        return _apply(session, candidate, _give_up)
    adapter = candidate.adapter
    if adapter is not None and not adapter.can(providers.Capability.REPORTS_STATUS):
        # It took the attempt and never reports: nothing more will ever be known.
        return _apply(session, candidate, partial(_hand_off, adapter=adapter))
    if candidate.lease_over:
        return _apply(session, candidate, _end_unreported)
    # The provider took the attempt and reports nothing after it: before the lease has run
    # out the call may still be going on.
    return "untouched"


# One way to settle a stale callback: applied to it locked, returns the outcome.
Step = Callable[[Session, Callback], str]


def _apply(session: Session, candidate: Candidate, step: Step) -> str:
    """Run `step` on the locked callback, unless it moved while the provider was asked."""
    callback = session.get(Callback, candidate.callback_id, with_for_update=True)
    if (
        callback is None
        or callback.status != candidate.status
        or callback.attempts != candidate.attempt
        or _last_event_id(session, candidate.callback_id) != candidate.last_event_id
    ):
        session.rollback()
        return "moved_meanwhile"
    return step(session, callback)


def _requeue(session: Session, callback: Callback, *, queue: DialQueue) -> str:
    """Queue attempt 1 again: the callback's dial job was lost."""
    apply_status(session, callback, Status.QUEUED, source=SOURCE, cause=REQUEUED)
    session.commit()
    queue.enqueue_dial(callback.id, 1)
    log.warning("callback=%s re-queued: its dial job was lost", callback.id)
    return REQUEUED


def _requeue_next_attempt(session: Session, callback: Callback, *, queue: DialQueue) -> str:
    """Queue the next attempt again: the job of a retry was lost."""
    session.rollback()
    queue.enqueue_dial(callback.id, callback.attempts + 1)
    log.warning("callback=%s next attempt re-queued: its job was lost", callback.id)
    return RETRY_REQUEUED


def _redial(session: Session, callback: Callback, *, queue: DialQueue) -> str:
    """Dial an attempt that never reached the provider once more, without backoff."""
    if _redialled_before(session, callback.id):
        # A second lost attempt: give up rather than keep ringing into the void.
        return _give_up(session, callback)
    # The next attempt starts from retry_wait, the only way back before dialing.
    lifecycle.retry_later(
        session,
        callback,
        source=SOURCE,
        cause=REDIALLED,
        enqueue_dial=queue.enqueue_dial,
        delay=0,
    )
    log.warning(
        "callback=%s attempt=%s never reached the provider; dialling attempt %s",
        callback.id,
        callback.attempts,
        callback.attempts + 1,
    )
    return "redialled"


def _end_unreported(session: Session, callback: Callback) -> str:
    """End a call its provider took and reports nothing of as completed, cause unreported."""
    # Once the lease has run out the call is certainly over. "completed" with cause
    # "unreported" states exactly what is known, and does not send the owner a "failed
    # call" alert for a call that may well have taken place. A terminal status, so
    # apply_status also frees the leases.
    apply_status(
        session,
        callback,
        Status.COMPLETED,
        source=SOURCE,
        cause=UNREPORTED,
        details={"reconciled": True, "last_confirmed": callback.status},
    )
    session.commit()
    log.info("callback=%s completed: its provider reports no outcome", callback.id)
    return UNREPORTED


def _hand_off(session: Session, callback: Callback, *, adapter: type[providers.Provider]) -> str:
    """End a call a provider that never reports took: handed_off, never completed."""
    hand_off(
        session,
        callback,
        source=adapter.name,
        lease_seconds=adapter.handoff_lease_seconds,
        details={"reconciled": True, "last_confirmed": callback.status},
    )
    session.commit()
    log.info("callback=%s handed off: its provider reports no outcome", callback.id)
    return HANDED_OFF


def _resolve(
    session: Session, callback: Callback, *, event: providers.ProviderEvent, source: str
) -> str:
    """Apply the state the provider reported for the call."""
    apply_status(
        session,
        callback,
        event.status,
        source=source,
        cause=event.cause,
        provider_call_id=event.provider_call_id,
        details={"reconciled": True},
    )
    session.commit()
    return "resolved"


def _give_up(session: Session, callback: Callback) -> str:
    """Fail a callback whose attempt's outcome is lost, rather than risk ringing twice."""
    apply_status(session, callback, Status.FAILED, source=SOURCE, cause=LOST)
    session.commit()
    log.warning("callback=%s failed: its attempt's outcome is lost", callback.id)
    return LOST


def _redialled_before(session: Session, callback_id: str) -> bool:
    return (
        session.scalars(
            select(CallEvent.id).where(
                CallEvent.callback_id == callback_id, CallEvent.cause == REDIALLED
            )
        ).first()
        is not None
    )
