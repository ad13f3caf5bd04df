"""Intake: check a visitor's request, store the callback, then queue its signed dial job.

A request refused in silence (a bot's filled honeypot, a number on the opt-out or block
list) runs every check a real one runs, in the same order, with the same refusals and
limits, and is stored like any callback; only then does it end `rejected` with the reason
as its cause instead of being queued. The owner sees it so in the history; its visitor
sees a call that was not answered (`calls.live_status`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from flask import current_app
from flask_babel import gettext
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..calls import blocklist, leases, live_status, provider_booking, routing, scheduling
from ..calls.queue import DialQueue
from ..calls.status_machine import apply_status, event_row
from ..core import clock, metrics
from ..core.errors import Conflict, QueueUnavailable, TooManyRequests, Unavailable, Unprocessable
from ..core.i18n import N_
from ..core.models import Callback, CallEvent, UsedFormToken, Widget, new_id, utcnow
from ..core.numbers import mask
from ..core.statuses import Status
from ..core.tokens import FormToken, TokenRefused, Tokens
from ..notify import owner_notices
from . import guard, human_checks, phone_policy, pressure, utm, widget_snapshots
from .number_hash import number_hash

log = logging.getLogger(__name__)

TOKEN_MESSAGE = N_("This form has expired. Please try again.")
USED_TOKENS = cast(Table, UsedFormToken.__table__)
CALLBACKS = cast(Table, Callback.__table__)
EVENTS = cast(Table, CallEvent.__table__)
_INSERT_CALLBACK, _INSERT_EVENT, _INSERT_USED_TOKEN = (
    insert(table) for table in (CALLBACKS, EVENTS, USED_TOKENS)
)
WAIT_MESSAGE = N_("Please wait a moment and try again in %(seconds)d s.")
DEPARTMENT_MESSAGE = N_("Choose one of the offered departments.")


@dataclass(frozen=True)
class Submission:
    """What a visitor sent, already shaped by the web layer (form or JSON)."""

    phone: object
    token: object
    origin: str  # the host page's origin the token must be bound to
    region: str | None = None
    name: str | None = None
    page_url: str | None = None
    locale: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    honeypot: str = ""
    consent: bool = True
    idempotency_key: str | None = None  # None: the form token's nonce serves as the key
    human_check: object = None  # the Turnstile/hCaptcha token or ALTCHA payload, if any
    scheduled_for: str | None = None  # a slot the visitor picked (ISO 8601), None: call now
    department: str | None = None  # the key of the department picked, None: the widget's agents


@dataclass(frozen=True)
class Accepted:
    callback_id: str
    status: str
    status_token: str
    replayed: bool = False  # the same answer as an earlier submission with this key
    scheduled_for: datetime | None = None


def policy_for(widget: Widget) -> phone_policy.NumberPolicy:
    return phone_policy.NumberPolicy(
        default_region=widget.default_region,
        allowed_regions=widget.regions,
        allowed_types=tuple(widget.allowed_number_types) or phone_policy.DEFAULT_NUMBER_TYPES,
        whitelist=tuple(widget.whitelist),
    )


@dataclass(frozen=True)
class Browser:
    """The browser a submission came from, as a captcha's verification needs to know it."""

    remote_ip: str | None
    page_host: str | None  # the host of the page the human check was solved on


@dataclass(frozen=True)
class Intake:
    """What a submission runs against: the app's tokens and queue, and who is asking."""

    tokens: Tokens
    queue: DialQueue
    lease_seconds: int
    client: str  # the requester's key in every rate limit (its IP; an IPv6 address by /64)
    address: str | None  # the requester's own address, as the address block list sees it
    # None when an API key vouches for the caller: no human check is asked of it.
    browser: Browser | None
    # Whose Idempotency-Keys these are: the API key's id for a keyed connect. None: the
    # visitor's, scoped to the form token they hold.
    idempotency_scope: str | None = None


def submit(session: Session, widget: Widget, submission: Submission, intake: Intake) -> Accepted:
    """Run every check, persist the callback, then enqueue its signed dial job.

    `widget` may be the one a process keeps (widget_snapshots.kept), shared by every
    request: it is only read, and the session gets a copy of its own where it needs one.
    """
    tokens = intake.tokens
    # The checks that read no table come first: most refusals end here, without a query.
    e164 = _checked_number(widget, submission)
    department = _checked_department(widget, submission.department)
    # Checked before the token is used up, so a visitor can pick another slot and resend.
    booked = scheduling.booking_for(widget, submission.scheduled_for, clock.now(), department)
    form_token = _read_form_token(tokens, widget, submission)
    if blocklist.address_blocked(session, intake.address):
        log.info("refused widget=%s reason=blocked_address", widget.id)
        raise TooManyRequests(reason="blocked_address")
    key = _idempotency_key(submission, form_token, intake)
    human_check: Mapping[str, Any] = {}
    if intake.browser is not None:  # an API key's calls are its integrator's to budget
        human_check = pressure.human_check(widget, _count_client(widget, intake.client))
    if _replay_found_by_lookup(key, form_token, human_check):
        earlier = _earlier_answer(session, tokens, widget, key)
        if earlier is not None:
            return earlier
    if intake.browser is not None:
        _check_human(session, widget, submission, intake.browser, human_check)
    # From here on one transaction holds the spent token, the leases and the callback, and
    # a single commit stores them: every outcome below commits the token as used.
    earlier = _use_token_or_replay(session, tokens, widget, form_token.nonce, key)
    if earlier is not None:
        return earlier
    silenced = _silent_refusal(session, submission, e164)
    callback = _new_callback(widget, submission, e164, key, booked)
    pressured = _hold_lines(session, widget, callback, intake)
    _persist(session, callback, form_token.nonce, silenced)
    if silenced:
        # Opted-out and blocked numbers and bots look accepted: nobody learns who is on
        # a list, or that a bot was caught. Nothing is queued, so nothing is dialled.
        metrics.refused(silenced)
        log.info("refused widget=%s reason=%s number=%s", widget.id, silenced, mask(e164))
    else:
        _enqueue(session, callback, intake.queue)
        log.info("accepted callback=%s widget=%s number=%s", callback.id, widget.id, mask(e164))
    if pressured:
        pressure.escalate(widget)
    waiting = Status.SCHEDULED if booked else Status.QUEUED
    return Accepted(
        callback.id, waiting.value, tokens.issue_status_token(callback.id), scheduled_for=booked
    )


def _count_client(widget: Widget, client: str) -> bool:
    """Count the request in its client's SUBMIT_LIMIT_PER_IP bucket (429 when it is full);
    return whether the widget is under pressure, its flag read in the same round trip.

    One bucket per client for every route that can ask for a call (the form, the JSON API,
    the public connect). Counted once the checks that cost nothing to refuse have passed
    (origin, input, number, form token): a request they refuse costs no more than a 429
    would, and a bot's refused requests do not use up the allowance of the people behind
    the same address. Every request that could spend a token, a lease or a call counts.
    """
    flag = pressure.flag(widget.id)
    read = {flag: 0}
    guard.hit_client_limit(client, also_read=read)
    return read[flag] > 0


def _checked_department(widget: Widget, department: str | None) -> str | None:
    """Return the department picked; refuse one the widget does not have, naming the field."""
    if department is None or routing.department_of(widget, department) is not None:
        return department
    raise Unprocessable(
        fields={"department": gettext(DEPARTMENT_MESSAGE)}, reason="department_unknown"
    )


def _silent_refusal(session: Session, submission: Submission, e164: str) -> str | None:
    """Return why this request is refused in silence (a SILENT_REFUSALS cause), else None."""
    blocked = blocklist.number_blocked(session, e164)  # asked for every request alike
    return "honeypot" if submission.honeypot else blocked


def _checked_number(widget: Widget, submission: Submission) -> str:
    """Apply the consent and number policy; return the visitor's number in E.164."""
    if widget.require_consent and not submission.consent:
        raise Unprocessable(
            fields={"consent": gettext("Please agree so we can call you.")}, reason="consent"
        )
    try:
        number = phone_policy.check(submission.phone, policy_for(widget), submission.region)
    except phone_policy.PolicyRefusal as refusal:
        log.info("refused widget=%s reason=%s", widget.id, refusal.reason)
        raise Unprocessable(fields={"phone": refusal.message}, reason=refusal.reason) from None
    return number.e164


def _read_form_token(tokens: Tokens, widget: Widget, submission: Submission) -> FormToken:
    """Verify the form token for this widget and the host page's origin."""
    try:
        return tokens.read_form_token(submission.token, widget.id, submission.origin)
    except TokenRefused as refusal:
        log.info("refused widget=%s reason=%s", widget.id, refusal.reason)
        # Sent sooner than a person fills the form in: waiting cures it, so say so.
        message = (
            gettext(WAIT_MESSAGE, seconds=refusal.wait) if refusal.wait else gettext(TOKEN_MESSAGE)
        )
        raise Unprocessable(message, fields={"token": message}, reason=refusal.reason) from None


def _idempotency_key(submission: Submission, form_token: FormToken, intake: Intake) -> str:
    """The key a replay is found by, scoped to its requester (within the widget's keys).

    A key is the requester's own: another visitor, or another API key, sending the same
    Idempotency-Key gets a callback of its own, never the first one's id and status URL.
    """
    if submission.idempotency_key is None:
        return form_token.nonce
    scope = intake.idempotency_scope or f"form-token:{form_token.nonce}"
    scoped = f"{scope}\n{submission.idempotency_key}".encode()
    return hashlib.sha256(scoped).hexdigest()  # 64 hex digits: the column's width


def _replay_found_by_lookup(
    key: str, form_token: FormToken, human_check: Mapping[str, Any]
) -> bool:
    """Whether a replay must be looked for before the token is spent, or only if it was.

    Keyed by the token's own nonce, a stored callback means a spent token, so the lookup
    can wait for the token's insert to conflict (most submissions never pay for it). Not
    when a human check comes first: a replay must find its answer without being asked.
    """
    return key != form_token.nonce or bool(human_check)


def _use_token_or_replay(
    session: Session, tokens: Tokens, widget: Widget, nonce: str, key: str
) -> Accepted | None:
    """Spend the form token; if it was spent, return the answer it got, if any (a replay)."""
    try:
        _use_token_once(session, nonce, widget.id)
    except Conflict:
        earlier = _earlier_answer(session, tokens, widget, key) if key == nonce else None
        if earlier is None:
            raise
        return earlier
    return None


def _earlier_answer(session: Session, tokens: Tokens, widget: Widget, key: str) -> Accepted | None:
    """Return the answer given to an earlier submission with this idempotency key, if any."""
    earlier = session.scalars(
        select(Callback).where(Callback.widget_id == widget.id, Callback.idempotency_key == key)
    ).first()
    if earlier is None:
        return None
    # The status its visitor sees: a callback refused in silence answers as a placed one.
    shown = live_status.visible_step(earlier, clock.now()).status
    return Accepted(
        earlier.id,
        shown.value,
        tokens.issue_status_token(earlier.id),
        replayed=True,
        scheduled_for=earlier.scheduled_for,
    )


def _check_human(
    session: Session,
    widget: Widget,
    submission: Submission,
    browser: Browser,
    human_check: Mapping[str, Any],
) -> None:
    """Run the widget's human check, if it has one, against the browser's answer."""
    # After the cheap checks (a request without a valid form token never costs a call to a
    # captcha provider) and before the form token is spent, so a visitor who failed the
    # check can try again on the same page.
    attempt = human_checks.Attempt(
        widget_id=widget.id,
        response=submission.human_check,
        remote_ip=browser.remote_ip,
        hostname=browser.page_host,
    )
    try:
        human_checks.check(session, human_check, attempt, current_app.config)
    except human_checks.HumanCheckRefused as refusal:
        message = gettext("Please confirm you are not a robot, then try again.")
        raise Unprocessable(
            message, fields={"human_check": message}, reason=f"human_check_{refusal.reason}"
        ) from None


def _new_callback(
    widget: Widget, submission: Submission, e164: str, key: str, booked: datetime | None
) -> Callback:
    now = utcnow()
    callback = Callback(
        id=new_id(),
        idempotency_key=key,
        widget_id=widget.id,
        visitor_number=e164,
        visitor_name=submission.name or None,
        page_url=submission.page_url,
        origin=submission.origin,
        locale=submission.locale,
        extra=dict(submission.extra),
        status=Status.SCHEDULED if booked else Status.QUEUED,
        scheduled_for=booked,
        department=submission.department,
        utm=utm.from_page_url(submission.page_url),
        # Kept when retention erases the number, so the record still belongs to it.
        number_hash=number_hash(e164),
        # What a flush would fill in: a callback stored by a Core insert is never flushed.
        attempts=0,
        provider_details={},
        agent_order=[],
        agent_leg=0,
        rounds=0,
        created_at=now,
        updated_at=now,
    )
    callback.widget = widget
    return callback


def _hold_lines(session: Session, widget: Widget, callback: Callback, intake: Intake) -> bool:
    """Take the callback's leases, then count it against the limits; refuse when over.

    Counted with them: the widget's pressure count, for a browser's submission (an API
    key's calls are its integrator's to budget), silenced ones too: they look accepted, and
    a farm of bots is what pressure is for. Return whether that count passed a bound.
    """
    e164 = callback.visitor_number
    pressure_hits = pressure.accepted_hits(widget, intake.client) if intake.browser else []
    try:
        # A booking takes its leases when it is due (scheduling.gate), not hours ahead.
        if callback.scheduled_for is None:
            _take_leases(session, widget, callback.id, e164, intake.lease_seconds)
        # Counted only now, so a visitor turned away while the lines are busy can try again.
        return guard.hit_limits(widget, e164, intake.client, pressure_hits)
    except (TooManyRequests, Unavailable):
        # Refused (or the limit store is down): give back the leases this request took, but
        # keep the token spent, as a refusal always has.
        leases.release(session, callback.id)
        session.commit()
        raise


def _take_leases(
    session: Session, widget: Widget, callback_id: str, e164: str, lease_seconds: int
) -> None:
    if not leases.take_widget_slot(session, widget.id, widget.throttle, callback_id, lease_seconds):
        raise _refused(widget, "throttle", e164)
    if not leases.take_destination(session, e164, callback_id, lease_seconds):
        raise _refused(widget, "destination_busy", e164)


def _persist(session: Session, callback: Callback, nonce: str, silenced: str | None) -> None:
    """Store the callback with its first event and the spent token, in one commit.

    A callback refused in silence is stored too, and ended `rejected` with its cause in the
    same commit, through the status machine: its leases are freed, the owner is told.
    """
    first = callback.status
    if silenced:
        # Through the session: the status machine ends it in the same commit. Its widget
        # may be one a process keeps (widget_snapshots.kept): the session gets its own copy.
        callback.widget = widget_snapshots.attached(session, callback.widget)
        session.add(callback)
        session.add(event_row(callback.id, first, source="server", applied=True))
        owner_notices.callback_created(session, callback)
        apply_status(session, callback, Status.REJECTED, source="server", cause=silenced)
    else:
        _insert_new(session, callback)
        owner_notices.callback_created(session, callback)
    # Committed before the job exists, so a worker never looks for a callback not yet stored.
    try:
        session.commit()
    except IntegrityError:
        # Another request with the same idempotency key was stored first. The rollback took
        # the token's use with it: spend it again on its own, as for any other refusal.
        session.rollback()
        try:
            _use_token_once(session, nonce, callback.widget_id)
            session.commit()
        except Conflict:
            pass  # used again meanwhile: spent either way
        raise Conflict(gettext(TOKEN_MESSAGE), reason="idempotency_key_in_flight") from None
    metrics.CALLBACK_STATUS.labels(first).inc()


def _enqueue(session: Session, callback: Callback, queue: DialQueue) -> None:
    """Queue the callback's first dial job, now or at its booked time."""
    try:
        if callback.scheduled_for is None or provider_booking.books_with_provider(
            callback.widget, callback.scheduled_for, clock.now(), callback.department
        ):
            # Now: a booking the provider's own scheduler keeps is handed to it at once.
            queue.enqueue_dial(callback.id, 1)
        else:
            queue.enqueue_dial_at(callback.id, 1, callback.scheduled_for)
    except QueueUnavailable:
        log.error("queue unavailable for callback=%s", callback.id)
        # The stored row (a callback stored by a Core insert is not in the session).
        stored = session.get(Callback, callback.id) or callback
        apply_status(session, stored, Status.FAILED, source="server", cause="queue_unavailable")
        session.commit()
        raise


def _insert_new(session: Session, callback: Callback) -> None:
    """Store a new callback and its first event by Core inserts, as a flush would."""
    # Half the CPU of a unit-of-work flush of the two objects; nothing reads them back.
    # The callback stays outside the session: later changes to it go through a fresh load.
    # Values as parameters of a statement built once, not baked into a new one: building
    # and caching a statement per request cost more than sending it.
    # Sent on the session's connection (its transaction), past the ORM's statement handling.
    connection = session.connection()
    stored = _column_values(CALLBACKS, callback)
    first = _column_values(
        EVENTS, event_row(callback.id, callback.status, source="server", applied=True)
    )
    # Every column given: an INSERT … SELECT fills in no Python-side default.
    first["occurred_at"] = callback.created_at
    if connection.dialect.name == "postgresql":
        # One statement, one round trip: the event is inserted from the callback's insert.
        both = _insert_with_first_event(tuple(stored), tuple(first))
        connection.execute(both, {**stored, **{EVENT_PARAM + key: v for key, v in first.items()}})
        return
    connection.execute(_INSERT_CALLBACK, stored)
    connection.execute(_INSERT_EVENT, first)


def _column_values(table: Table, record: object) -> dict[str, Any]:
    # The attributes the record was given; the columns' own defaults fill in the rest.
    given = vars(record)
    return {column.key: given[column.key] for column in table.columns if column.key in given}


EVENT_PARAM = "event_"  # the event's parameters, beside the callback's of the same name


@lru_cache(maxsize=8)  # one per set of columns given (a submission always gives the same)
def _insert_with_first_event(
    callback_columns: tuple[str, ...], event_columns: tuple[str, ...]
) -> Any:
    """INSERT the callback and, from its RETURNING, its first event (PostgreSQL only)."""
    stored = (
        insert(CALLBACKS)
        .values({name: bindparam(name, type_=CALLBACKS.c[name].type) for name in callback_columns})
        .returning(CALLBACKS.c.id)
        .cte("stored")
    )
    others = [name for name in event_columns if name != "callback_id"]
    values = select(
        stored.c.id,
        *(bindparam(EVENT_PARAM + name, type_=EVENTS.c[name].type) for name in others),
    )
    return insert(EVENTS).from_select(["callback_id", *others], values)


def _use_token_once(session: Session, nonce: str, widget_id: str) -> None:
    # The primary key decides: of two concurrent uses, exactly one insert commits. Flushed,
    # not committed, so the token is stored by the same commit as the callback it pays for
    # (one commit per submission instead of two): a second use of the nonce waits on this
    # row until that commit, then fails as reused. A Core insert: nothing reads the row back.
    try:
        session.connection().execute(_INSERT_USED_TOKEN, {"nonce": nonce})
    except IntegrityError:
        session.rollback()
        log.info("refused widget=%s reason=token_reused", widget_id)
        message = gettext(TOKEN_MESSAGE)
        raise Conflict(message, fields={"token": message}, reason="token_reused") from None


def _refused(widget: Widget, reason: str, e164: str) -> TooManyRequests:
    log.info("refused widget=%s reason=%s number=%s", widget.id, reason, mask(e164))
    return TooManyRequests(reason=reason)
