"""The owner's test call: ring a number the owner typed through the widget's provider.

The number passes the widget's whole number policy first, exactly as a visitor's would, and
each account may place only so many test calls; nothing reaches the provider otherwise.
A test call stores no callback and takes no provider events: its result is the provider's
answer to the originate.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from limits import parse_many
from limits.storage import Storage
from limits.strategies import MovingWindowRateLimiter

from .. import providers
from ..core.egress import EgressPolicy
from ..core.models import Widget
from ..core.numbers import mask
from ..intake import phone_policy
from ..intake.submission import policy_for

log = logging.getLogger(__name__)
NAMESPACE = "widget-server/test-call"


class TrialCallRefused(ValueError):
    """No call was placed; `reason` is a stable code, `message` (maybe empty) for the owner."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class TrialCallResult:
    placed: bool
    number: str  # masked
    status: str | None = None
    provider_call_id: str | None = None
    cause: str | None = None  # why the provider refused or failed


def place(
    widget: Widget,
    raw_number: object,
    *,
    storage: Storage,
    limit: str,
    egress: EgressPolicy,
) -> TrialCallResult:
    """Check the number, count the call against the account's limit, then originate it."""
    try:
        accepted = phone_policy.check(raw_number, policy_for(widget))
    except phone_policy.PolicyRefusal as refusal:
        raise TrialCallRefused(refusal.reason, refusal.message) from None
    window = MovingWindowRateLimiter(storage)
    for item in parse_many(limit):
        if not window.hit(item, NAMESPACE, widget.account_id):
            raise TrialCallRefused("limited", "")
    try:
        provider = providers.build(widget.provider, widget.provider_settings, egress=egress)
    except providers.ProviderConfigError:
        raise TrialCallRefused("provider_settings", "") from None
    call = providers.CallRequest(
        callback_id=f"test-{secrets.token_hex(8)}",
        attempt=1,
        agent=widget.extension,
        visitor_e164=accepted.e164,
        timeout=widget.timeout,
        caller_id_number=widget.caller_id_number,
        callee_id_name=widget.outbound_callee_id_name,
        callee_id_number=widget.outbound_callee_id_number,
    )
    shown = mask(accepted.e164)
    log.info(
        "test call account=%s widget=%s provider=%s number=%s",
        widget.account_id,
        widget.id,
        widget.provider,
        shown,
    )
    try:
        result = provider.originate(call)
    except providers.ProviderError as exc:
        log.info("test call failed widget=%s cause=%s", widget.id, exc.cause)
        return TrialCallResult(placed=False, number=shown, cause=exc.cause)
    return TrialCallResult(
        placed=True,
        number=shown,
        status=str(result.status),
        provider_call_id=result.provider_call_id,
    )
