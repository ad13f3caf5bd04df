"""Provider failover: one attempt the primary provider never accepted, taken by the secondary.

The primary's retryable failure switches the attempt only when the primary certainly did
not accept the call: it was never reached, or it answered a refusal worth retrying (5xx,
rate limit). When its answer was lost after the request went out, the call may exist:
the primary is asked by the attempt's idempotency key where it can say, and the attempt
switches only on its "no such call". Otherwise it stays the primary's, whatever happens
next, so nobody is rung by two providers.

The switch is a timeline row (cause `provider_failover`, details naming both providers)
committed before the secondary is asked: a worker killed after it finds the attempt
started, never originates again, and the reconciler asks the secondary about it.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import providers
from ..core.models import Callback, CallEvent, Widget
from ..core.statuses import Status
from .status_machine import event_row

log = logging.getLogger(__name__)

FAILOVER = "provider_failover"


def secondary_of(widget: Widget) -> str | None:
    """The widget's secondary provider, if it has one."""
    return widget.secondary_provider or None


def may_switch(
    widget: Widget,
    error: providers.ProviderError,
    primary: providers.Provider,
    request: providers.CallRequest,
) -> bool:
    """Say whether the attempt may go to the secondary: the primary surely placed nothing."""
    if secondary_of(widget) is None or not isinstance(error, providers.RetryableProviderError):
        return False
    if not error.maybe_placed:
        return True
    return _primary_says_not_placed(primary, request)


def _primary_says_not_placed(primary: providers.Provider, request: providers.CallRequest) -> bool:
    if not primary.reports_call_status():
        return False  # it cannot say: it may have placed the call
    try:
        state = primary.call_status(None, request.idempotency_key)
    except providers.ProviderError as exc:
        log.warning(
            "failover: %s could not say whether it placed the call (%s)", primary.name, exc.cause
        )
        return False
    return not state.placed


def record_switch(
    session: Session, callback: Callback, primary: str, secondary: str, reason: str
) -> None:
    """Commit the switch before the secondary is asked (crash safety: see the module)."""
    session.add(
        event_row(
            callback.id,
            Status.DIALING,
            # The server's own step, as the attempt's "dialing" is: the attempt now awaits
            # the secondary's answer.
            source="server",
            applied=False,
            cause=FAILOVER,
            details={
                "attempt": callback.attempts,
                "from": primary,
                "to": secondary,
                "reason": reason,
            },
        )
    )
    session.commit()
    log.warning(
        "callback=%s attempt=%s fails over from %s to %s (%s)",
        callback.id,
        callback.attempts,
        primary,
        secondary,
        reason,
    )


def carrier(session: Session, callback: Callback) -> tuple[str, dict[str, Any]]:
    """Return the name and settings of the provider carrying the current attempt."""
    widget = callback.widget
    if widget.secondary_provider and _switched(session, callback):
        return widget.secondary_provider, dict(widget.secondary_provider_settings or {})
    return widget.provider, dict(widget.provider_settings or {})


def _switched(session: Session, callback: Callback) -> bool:
    """Say whether the callback's current attempt went to the secondary."""
    switches = session.scalars(
        select(CallEvent.details).where(
            CallEvent.callback_id == callback.id, CallEvent.cause == FAILOVER
        )
    ).all()
    return any(details.get("attempt") == callback.attempts for details in switches)
