"""A provider with no network: walks a call through its statuses, or fails on request."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ..core.reasons import Reason
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
from .checks import ONE_OF
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
# Routing: how each agent (by extension) takes a call, and whether a machine answers the
# visitor's phone. Agents not named answer.
AGENT_BEHAVIOURS = ("answer", "no_answer", "busy", "voicemail")
VISITOR_ANSWERS = ("person", "machine")
CONNECTED_STEPS = (
    Status.AGENT_RINGING,
    Status.AGENT_ANSWERED,
    Status.VISITOR_RINGING,
    Status.CONNECTED,
)
SETTINGS = ("step_delay", "talk_time", "fail", "fail_with", "agents", "visitor")
# How a routed leg can end other than completed, numbered for its call id.
ROUTED_ENDS: tuple[tuple[Status, str | None], ...] = (
    (Status.NO_ANSWER, "agent_no_key"),
    (Status.BUSY, "agent_busy"),
    (Status.NO_ANSWER, "agent_no_answer"),
    (Status.VISITOR_VOICEMAIL, "visitor_voicemail"),
)
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
    SettingField(
        "agents",
        N_("Agents' behaviour"),
        N_("By extension, how each agent takes a call: answer, no_answer, busy or voicemail."),
        Kind.JSON,
    ),
    SettingField(
        "visitor",
        N_("Visitor's phone"),
        N_("Who answers the visitor's phone: a person, or a machine (voicemail)."),
        Kind.CHOICE,
        choices=VISITOR_ANSWERS,
    ),
)


class SimulatorProvider(Provider):
    name = "simulator"
    setting_fields = SETTING_FIELDS
    # Everything routing can use, so `make run` and the tests show every branch offline.
    capabilities = frozenset(
        {
            Capability.REPORTS_STATUS,
            Capability.CANCEL,
            Capability.WHISPER,
            Capability.ACCEPT_KEY,
            Capability.AMD,
            Capability.SIMULTANEOUS_RING,
        }
    )

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        # The routing settings are left out unless given: stored settings stay as they were.
        values: dict[str, Any] = {"step_delay": 1.0, "talk_time": 3.0, "fail": "none"}
        values.update(settings)
        errors: dict[str, str] = {}
        for key in ("step_delay", "talk_time"):
            value = values[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0 <= value <= 60
            ):
                errors[key] = Reason("must be a number of seconds from 0 to 60")
        if values["fail"] not in (*SCENARIOS, *FAILURES):
            errors["fail"] = Reason(ONE_OF, choices=", ".join((*SCENARIOS, *FAILURES)))
        if values.get("fail_with") is not None and values["fail_with"] not in FAIL_WITH:
            errors["fail_with"] = Reason(
                "must be null or one of %(choices)s", choices=", ".join(FAIL_WITH)
            )
        errors.update(_routing_errors(values))
        unknown = set(values) - set(SETTINGS)
        for key in sorted(unknown):
            errors[key] = Reason("unknown setting")
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
        steps, end, cause = SCENARIOS[fail] if fail != "none" else self._routed(call)
        call_id = f"sim-{uuid.uuid4().hex[:16]}"
        if fail == "none" and (end, cause) != (Status.COMPLETED, None):
            # A routed leg's end rides in its id, so call_status can tell it later.
            call_id += f"-{ROUTED_ENDS.index((end, cause))}"
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
            details={"agent": ", ".join(call.ringing), "visitor": call.visitor_e164},
            planned_events=tuple(planned),
        )

    def _routed(self, call: CallRequest) -> tuple[tuple[Status, ...], Status, str | None]:
        """Play one leg out as its agents and the visitor are set to behave."""
        agents = self.settings.get("agents", {})
        behaviours = [agents.get(agent, "answer") for agent in call.ringing]
        whispered = call.whisper is not None
        # A voicemail takes an unwhispered call as a person would; a whisper's key it cannot press.
        takes = ("answer",) if whispered else ("answer", "voicemail")
        if not any(behaviour in takes for behaviour in behaviours):
            if whispered and "voicemail" in behaviours:
                return (Status.AGENT_RINGING,), Status.NO_ANSWER, "agent_no_key"
            if behaviours == ["busy"] * len(behaviours):
                return (), Status.BUSY, "agent_busy"
            return (Status.AGENT_RINGING,), Status.NO_ANSWER, "agent_no_answer"
        if self.settings.get("visitor") == "machine" and call.machine_detection:
            return CONNECTED_STEPS[:3], Status.VISITOR_VOICEMAIL, "visitor_voicemail"
        return CONNECTED_STEPS, Status.COMPLETED, None

    def cancel(self, provider_call_id: str) -> None:
        return None

    def call_status(self, provider_call_id: str | None, idempotency_key: str) -> CallState:
        if provider_call_id is None:
            # Nothing outlives a simulated originate whose answer was lost: no call exists.
            return CallState(placed=False)
        # A simulated call plays out in seconds, far less than the reconciler waits before
        # asking: by then it has reached the scenario's end.
        _steps, end, cause = SCENARIOS.get(self.settings["fail"], SCENARIOS["none"])
        routed = provider_call_id.rpartition("-")[2]
        if provider_call_id.count("-") == 2 and routed.isdigit() and int(routed) < len(ROUTED_ENDS):
            end, cause = ROUTED_ENDS[int(routed)]
        return CallState(True, ProviderEvent(end, provider_call_id=provider_call_id, cause=cause))


def _routing_errors(values: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    agents = values.get("agents", {})
    if not isinstance(agents, dict) or not all(
        isinstance(k, str) and b in AGENT_BEHAVIOURS for k, b in agents.items()
    ):
        errors["agents"] = Reason(
            "must map agent extensions to one of %(choices)s", choices=", ".join(AGENT_BEHAVIOURS)
        )
    if values.get("visitor", "person") not in VISITOR_ANSWERS:
        errors["visitor"] = Reason(ONE_OF, choices=", ".join(VISITOR_ANSWERS))
    return errors
