"""The life of a callback: statuses in order, which ones end it, and forward-only moves."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext


class Status(StrEnum):
    QUEUED = "queued"
    SCHEDULED = "scheduled"
    RETRY_WAIT = "retry_wait"  # an attempt ended unanswered; the next one is queued
    DIALING = "dialing"
    AGENT_RINGING = "agent_ringing"
    AGENT_ANSWERED = "agent_answered"
    VISITOR_RINGING = "visitor_ringing"
    CONNECTED = "connected"
    COMPLETED = "completed"
    FAILED = "failed"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    CANCELED = "canceled"
    REJECTED = "rejected"
    VISITOR_VOICEMAIL = "visitor_voicemail"  # a machine answered the visitor's phone
    # A provider that reports no outcome accepted the call: the last this product can know.
    HANDED_OFF = "handed_off"


PROGRESS = [
    Status.QUEUED,
    Status.SCHEDULED,
    Status.RETRY_WAIT,
    Status.DIALING,
    Status.AGENT_RINGING,
    Status.AGENT_ANSWERED,
    Status.VISITOR_RINGING,
    Status.CONNECTED,
    Status.COMPLETED,
]
TERMINAL = frozenset(
    {
        Status.COMPLETED,
        Status.FAILED,
        Status.NO_ANSWER,
        Status.BUSY,
        Status.CANCELED,
        Status.REJECTED,
        Status.VISITOR_VOICEMAIL,
        Status.HANDED_OFF,
    }
)
ACTIVE = frozenset(Status) - TERMINAL
# The cause a handed_off callback carries: its provider says nothing after accepting.
NO_OUTCOME_REPORTED = "provider_reports_no_outcome"
# Causes of a refusal the visitor is not told of (a bot's filled honeypot, a number on the
# opt-out or block list): the callback is stored `rejected` with the cause, for the owner,
# and its visitor sees a call placed and not answered (`calls.live_status`).
SILENT_REFUSALS = frozenset({"honeypot", "opted_out", "blocked_number", "blocked_prefix"})
# No call is live in these: a visitor may still cancel, and a dial job may start one.
NOT_YET_DIALING = frozenset({Status.QUEUED, Status.SCHEDULED, Status.RETRY_WAIT})
_RANK = {status: rank for rank, status in enumerate(PROGRESS)}


def is_terminal(status: str) -> bool:
    return status in TERMINAL


def is_silenced(status: str, cause: str | None) -> bool:
    """Say whether a callback was refused in silence (its visitor must not learn it)."""
    return status == Status.REJECTED and cause in SILENT_REFUSALS


def can_move(current: str, new: str) -> bool:
    """Say whether `new` moves a callback on from `current` (never back, never out of an end)."""
    if current in TERMINAL or current == new:
        return False
    if new in TERMINAL:
        return True
    return _RANK[Status(new)] > _RANK[Status(current)]


# Plain words for the visitor; the form page and the status API use the same texts, each
# translated into the language of the request that shows it.
VISITOR_TEXT = {
    Status.QUEUED: lazy_gettext("Request received. Calling our team…"),
    Status.SCHEDULED: lazy_gettext("Your callback is booked."),
    Status.RETRY_WAIT: lazy_gettext("Our team couldn't answer yet. We'll try again shortly…"),
    Status.DIALING: lazy_gettext("Calling our team…"),
    Status.AGENT_RINGING: lazy_gettext("Calling our team…"),
    Status.AGENT_ANSWERED: lazy_gettext("Our team is on the line. Calling you now…"),
    Status.VISITOR_RINGING: lazy_gettext("Calling you now…"),
    Status.CONNECTED: lazy_gettext("You're connected."),
    Status.COMPLETED: lazy_gettext("Call finished. Thank you!"),
    Status.FAILED: lazy_gettext("Sorry, we couldn't place the call. Please try again later."),
    Status.NO_ANSWER: lazy_gettext("Nobody answered. Please try again later."),
    Status.BUSY: lazy_gettext("The line was busy. Please try again later."),
    Status.CANCELED: lazy_gettext("The callback was canceled."),
    Status.REJECTED: lazy_gettext("Sorry, we can't call this number."),
    Status.VISITOR_VOICEMAIL: lazy_gettext(
        "Your voicemail answered, so we hung up. Please pick up when we call again."
    ),
    # Never "Call finished": nothing confirms the call took place, only that it is placed.
    Status.HANDED_OFF: lazy_gettext("Our team is calling you now."),
}

# What the site owner reads about an end whose status name says too little on its own.
OWNER_TEXT = {
    Status.VISITOR_VOICEMAIL: lazy_gettext(
        "The visitor's voicemail answered; the agent was not connected to it."
    ),
    Status.HANDED_OFF: lazy_gettext(
        "The phone system took the call; it does not report how the call went."
    ),
}
