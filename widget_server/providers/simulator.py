"""A provider with no network: walks a call through its statuses, or fails on request."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ..core.statuses import Status
from .base import (
    CallRequest,
    CallState,
    Capability,
    OriginateResult,
    PermanentProviderError,
    PlannedEvent,
    Provider,
    ProviderConfigError,
    ProviderEvent,
    RetryableProviderError,
)
from .setting_fields import N_, Kind, SettingField

# fail setting -> the statuses the call walks through before its end, and that end.
SCENARIOS: dict[str, tuple[tuple[Status, ...], Status, str | None]] = {
    "none": (
        (Status.AGENT_RINGING, Status.AGENT_ANSWERED, Status.VISITOR_RINGING, Status.CONNECTED),
        Status.COMPLETED,
        None,
    ),
    "agent_no_answer": ((Status.AGENT_RINGING,), Status.NO_ANSWER, "agent_no_answer"),
    "visitor_busy": (
        (Status.AGENT_RINGING, Status.AGENT_ANSWERED, Status.VISITOR_RINGING),
        Status.BUSY,
        "visitor_busy",
    ),
    "visitor_no_answer": (
        (Status.AGENT_RINGING, Status.AGENT_ANSWERED, Status.VISITOR_RINGING),
        Status.NO_ANSWER,
        "visitor_no_answer",
    ),
}
FAILURES = ("provider_error", "provider_unavailable")
# fail_with setting -> how an unreachable provider fails each originate (failover demos):
# "timeout" sent the request and never heard back, the others were never accepted.
FAIL_WITH = {
    "timeout": ("simulated timeout after the request was sent", "timeout", True),
    "5xx": ("simulated answer 503", "http_503", False),
    "connection": ("simulated connection refused", "connection_error", False),
}
SETTING_FIELDS = (
    SettingField(
        "step_delay",
        N_("Seconds per step"),
        N_("Seconds between the simulated statuses, 0 to 60."),
        Kind.NUMBER,
        default=1.0,
    ),
    SettingField(
        "talk_time",
        N_("Talk time"),
        N_("Seconds a simulated connected call lasts, 0 to 60."),
        Kind.NUMBER,
        default=3.0,
    ),
    SettingField(
        "fail",
        N_("Outcome"),
        N_("How the simulated call ends: none completes it; the others play a failure."),
        Kind.CHOICE,
        default="none",
        choices=(*SCENARIOS, *FAILURES),
    ),
    SettingField(
        "fail_with",
        N_("Unreachable as"),
        N_("Optional, for failover tests: every call fails this way before it is placed."),
        Kind.CHOICE,
        choices=tuple(FAIL_WITH),
    ),
)


class SimulatorProvider(Provider):
    name = "simulator"
    setting_fields = SETTING_FIELDS
    capabilities = frozenset({Capability.REPORTS_STATUS, Capability.CANCEL})

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {"step_delay": 1.0, "talk_time": 3.0, "fail": "none"}
        values.update(settings)
        errors = {}
        for key in ("step_delay", "talk_time"):
            value = values[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0 <= value <= 60
            ):
                errors[key] = "must be a number of seconds from 0 to 60"
        if values["fail"] not in (*SCENARIOS, *FAILURES):
            errors["fail"] = "must be one of " + ", ".join((*SCENARIOS, *FAILURES))
        if values.get("fail_with") is not None and values["fail_with"] not in FAIL_WITH:
            errors["fail_with"] = "must be null or one of " + ", ".join(FAIL_WITH)
        unknown = set(values) - {"step_delay", "talk_time", "fail", "fail_with"}
        for key in sorted(unknown):
            errors[key] = "unknown setting"
        if errors:
            raise ProviderConfigError(errors)
        return values

    def originate(self, call: CallRequest) -> OriginateResult:
        if self.settings.get("fail_with") is not None:
            message, failure, maybe_placed = FAIL_WITH[self.settings["fail_with"]]
            raise RetryableProviderError(message, cause=failure, maybe_placed=maybe_placed)
        fail = self.settings["fail"]
        if fail == "provider_error":
            raise PermanentProviderError("simulated provider error", cause="provider_error")
        if fail == "provider_unavailable":
            raise RetryableProviderError("simulated outage", cause="provider_unavailable")
        steps, end, cause = SCENARIOS[fail]
        call_id = f"sim-{uuid.uuid4().hex[:16]}"
        delay = float(self.settings["step_delay"])
        planned = [
            PlannedEvent(delay * (i + 1), ProviderEvent(status, provider_call_id=call_id))
            for i, status in enumerate(steps)
        ]
        talk = float(self.settings["talk_time"]) if end == Status.COMPLETED else 0.0
        planned.append(
            PlannedEvent(
                delay * len(steps) + max(talk, delay),
                ProviderEvent(end, provider_call_id=call_id, cause=cause),
            )
        )
        return OriginateResult(
            provider_call_id=call_id,
            status=Status.DIALING,
            details={"agent": call.agent, "visitor": call.visitor_e164},
            planned_events=tuple(planned),
        )

    def cancel(self, provider_call_id: str) -> None:
        return None

    def call_status(self, provider_call_id: str | None, idempotency_key: str) -> CallState:
        if provider_call_id is None:
            # Nothing outlives a simulated originate whose answer was lost: no call exists.
            return CallState(placed=False)
        # A simulated call plays out in seconds, far less than the reconciler waits before
        # asking: by then it has reached the scenario's end.
        _steps, end, cause = SCENARIOS.get(self.settings["fail"], SCENARIOS["none"])
        return CallState(True, ProviderEvent(end, provider_call_id=provider_call_id, cause=cause))
