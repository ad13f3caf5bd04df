"""The provider interface: originate a two-leg call, optionally cancel it or ask its state,
authenticate and parse its events.

Providers never touch Flask or the database; the dialer hands them a CallRequest and
stores what they return, and the event endpoint hands them an EventRequest to check and read.
Whoever builds one passes the operator's EgressPolicy: every connection a provider opens
goes through it, to an address it checked.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

import phonenumbers

from ..core.egress import PUBLIC, EgressPolicy
from ..core.statuses import Status
from .checks import unsafe_text
from .setting_fields import SettingField

STATUSES = frozenset(status.value for status in Status)
ACCEPT_KEY = "1"  # the digit an agent presses to take a whispered call
MAX_CALL_ID = 255


class Capability(StrEnum):
    """What a provider can do beyond placing a two-leg call, declared by each adapter.

    The owner's provider form and the docs' provider table show them, and a widget that
    asks for a feature its provider lacks is refused naming the field.
    """

    REPORTS_STATUS = "reports_status"  # events or call_status() say how the call went
    CANCEL = "cancel"  # a placed call can be withdrawn
    WHISPER = "whisper"  # the agent hears who is calling before the visitor is rung
    ACCEPT_KEY = "accept_key"  # the agent presses a key to take the call
    AMD = "amd"  # answering-machine detection on the visitor leg
    SIMULTANEOUS_RING = "simultaneous_ring"  # several agents rung at once
    SCHEDULING = "scheduling"  # the provider books a call for later itself


class ProviderError(Exception):
    """A provider refused or failed; `cause` is a short stable code stored on the callback."""

    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, cause: str = "provider_error") -> None:
        super().__init__(message)
        self.cause = cause


class PermanentProviderError(ProviderError):
    """Trying again will not help: bad credentials, refused parameters, bad configuration."""


class RetryableProviderError(ProviderError):
    """Trying again later may work: timeouts, connection errors, 5xx answers.

    `maybe_placed` says the request may have reached the provider and its answer was lost
    (a read timeout, a connection broken after sending): the call may exist. Otherwise the
    provider certainly did not accept it (no connection, or it answered a refusal).
    """

    retryable = True

    def __init__(
        self, message: str, *, cause: str = "provider_error", maybe_placed: bool = False
    ) -> None:
        super().__init__(message, cause=cause)
        self.maybe_placed = maybe_placed


class EventRefused(Exception):
    """An event request that does not prove it came from the provider: answered 403.

    `reason` is a short stable code for logs and metrics; the message says what failed.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class EventUnreadable(ValueError):
    """An event body that is not the provider's documented shape: answered 400 naming `fields`."""

    def __init__(self, message: str, fields: dict[str, str]) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class ProviderConfigError(ValueError):
    """A widget's provider settings cannot work; `fields` names each bad setting, with a
    core.reasons.Reason a page can translate."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = dict(fields)


@dataclass(frozen=True)
class CallRequest:
    """One attempt to connect an agent (rung first) with a visitor."""

    callback_id: str
    attempt: int
    agent: str  # the widget's extension: number, SIP URI or internal extension
    visitor_e164: str  # already checked by the number policy
    timeout: int  # seconds to ring the agent leg
    caller_id_number: str | None = None  # shown to the agent
    callee_id_name: str | None = None  # shown to the visitor
    callee_id_number: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    page_url: str | None = None
    event_url: str | None = None  # where the provider may post call events
    # Routing: every agent this leg rings (more than `agent` only in a simultaneous ring,
    # which only providers declaring SIMULTANEOUS_RING are handed).
    agents: tuple[str, ...] = ()
    # What the agent hears before the visitor is rung; set only for providers declaring
    # WHISPER and ACCEPT_KEY. The agent must press ACCEPT_KEY, or the leg counts as not
    # answered (cause "agent_no_key"), so a voicemail never reaches the visitor.
    whisper: str | None = None
    # Answering-machine detection on the visitor leg (providers declaring AMD): a machine
    # ends the attempt as visitor_voicemail, after the agent hears `machine_notice`.
    machine_detection: bool = False
    machine_notice: str | None = None
    speech_language: str = "en"  # the language whisper and notice are spoken in

    @property
    def visitor(self) -> phonenumbers.PhoneNumber:
        """Return the visitor's number re-parsed from E.164, for per-provider formatting."""
        return phonenumbers.parse(self.visitor_e164, None)

    @property
    def ringing(self) -> tuple[str, ...]:
        """Return the agents this leg rings (the one `agent` unless several were handed)."""
        return self.agents or (self.agent,)

    @property
    def idempotency_key(self) -> str:
        """Name this attempt for the provider, so a repeated request places no second call."""
        return f"{self.callback_id}-{self.attempt}"


@dataclass(frozen=True)
class ProviderEvent:
    """A status the provider reported, already mapped to this product's statuses."""

    status: str
    provider_call_id: str | None = None
    cause: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class EventRequest:
    """One request a provider sent to its event URL, as this server received it."""

    url: str  # the full URL the provider called (Twilio signs exactly that)
    form: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    raw: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str:
        """Return a header's value, its name matched in any case ("" when it was not sent)."""
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), "")


@dataclass(frozen=True)
class EventReply:
    """What the event endpoint answers a provider that asks for its next instructions
    (Twilio's <Gather> and <Dial> actions want TwiML back)."""

    body: str
    content_type: str


@dataclass(frozen=True)
class PlannedEvent:
    """An event the provider will report after `delay` seconds without being asked."""

    delay: float
    event: ProviderEvent


@dataclass(frozen=True)
class CallState:
    """What a provider knows of one attempt, asked after the answer to originate was lost.

    `placed` False is a certainty, not a guess: the provider has no record of the attempt,
    so trying again cannot ring anyone twice. With `placed` True, `event` is its state now.
    """

    placed: bool
    event: ProviderEvent | None = None


def channels_gone(provider_call_id: str) -> CallState:
    """A PBX call whose channels are all gone: the originate's success meant the agent had
    answered, so the call is over; the PBX keeps no record of how it went, and "completed"
    with cause "unreported" says no more than that."""
    event = ProviderEvent(
        Status.COMPLETED,
        provider_call_id=provider_call_id,
        cause="unreported",
        details={"channel": "gone"},
    )
    return CallState(placed=True, event=event)


@dataclass(frozen=True)
class OriginateResult:
    provider_call_id: str | None
    status: str = "dialing"  # what the provider confirmed; never more than it said
    details: Mapping[str, Any] = field(default_factory=dict)
    cause: str | None = None  # why, when the status already ends the call (no_answer, busy)
    planned_events: tuple[PlannedEvent, ...] = ()


class Provider(ABC):
    """Base class for one telephony provider or PBX."""

    name: ClassVar[str]
    # What this adapter can do (docs/providers.md shows them as a table). REPORTS_STATUS:
    # events or call_status() tell how a call went, so the reconciler asks, not guesses.
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    # Every setting the adapter takes, for the owner's form and the masking of secrets.
    setting_fields: ClassVar[tuple[SettingField, ...]] = ()
    # A setting without which a declared capability is not offered (e.g. the dialplan
    # context a PBX plays the whisper in): a widget asking for it must name the setting.
    capability_settings: ClassVar[Mapping[Capability, str]] = {}
    # How long a visitor's number counts as in a call after a provider that reports nothing
    # took it: long enough that a second request cannot ring them mid-call, and no longer.
    handoff_lease_seconds: ClassVar[int] = 300
    # The event payload's field that names the reported status, kept when it is unknown.
    event_status_field: ClassVar[str] = "status"

    def __init__(self, settings: Mapping[str, Any], *, egress: EgressPolicy = PUBLIC) -> None:
        self.settings = self.validate_settings(settings)
        self.egress = egress

    @classmethod
    def endpoints(cls, settings: Mapping[str, Any]) -> dict[str, tuple[str, int]]:
        """Return the host and port of each endpoint `settings` name, by setting.

        These are what a tenant can point elsewhere: they are checked against the egress
        policy when the settings are saved, as every connection is when it is opened.
        """
        return {}

    @classmethod
    def destination(cls, settings: Mapping[str, Any]) -> tuple[str, ...]:
        """Say where requests, and so credentials, go with `settings` (defaults filled in).

        Settings may be unchecked input: this never raises.
        """
        return (cls.name,)

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Return the settings with defaults filled in; raise ProviderConfigError if unusable."""
        return dict(settings)

    @classmethod
    def validate_agent(cls, agent: object, settings: Mapping[str, Any] | None = None) -> str:
        """Return the agent leg as this provider needs it; raise ProviderConfigError if unusable."""
        return str(agent)

    @abstractmethod
    def originate(self, call: CallRequest) -> OriginateResult:
        """Ring the agent, then connect the visitor."""

    @classmethod
    def needs_setup(cls, settings: Mapping[str, Any]) -> bool:
        """Say whether `settings` lack something set_up() creates at the provider once."""
        return False

    def set_up(self, call: CallRequest) -> dict[str, Any]:
        """Create what the widget needs at the provider; return the settings to store.

        Run once per widget, before its first call, under a lease so two first calls
        cannot both create it; the dialer stores the answer in the widget's settings.
        """
        return {}

    def cancel(self, provider_call_id: str) -> None:
        raise PermanentProviderError(f"{self.name} cannot cancel calls", cause="not_supported")

    @classmethod
    def can(cls, capability: Capability) -> bool:
        """Say whether this adapter declares `capability`."""
        return capability in cls.capabilities

    def reports_call_status(self) -> bool:
        """Say whether call_status() works with these settings."""
        return self.can(Capability.REPORTS_STATUS)

    def schedule(
        self, call: CallRequest, at: datetime, max_retry: int, retry_time: int, ident: str
    ) -> OriginateResult:
        """Book the call for `at` in the provider's own scheduler (Capability.SCHEDULING).

        `max_retry` more tries `retry_time` seconds apart; `ident` names the booking.
        """
        raise PermanentProviderError(f"{self.name} cannot book calls", cause="not_supported")

    def call_status(self, provider_call_id: str | None, idempotency_key: str) -> CallState:
        """Return the provider's record of one attempt: by its call id, or by its idempotency
        key when the originate's answer never arrived (provider_call_id None)."""
        raise PermanentProviderError(
            f"{self.name} cannot report a call's state", cause="not_supported"
        )

    def authenticate_event(self, request: EventRequest) -> None:
        """Raise EventRefused unless `request` proves it came from this provider.

        By default the signed event URL is the credential: it names the callback, the
        attempt and the provider and cannot be guessed, and the endpoint has checked it
        already. Providers that sign their requests check that signature too.
        """
        return None  # accepted: nothing beyond the signed URL to check

    def event_payload(self, request: EventRequest) -> Mapping[str, Any]:
        """Return the event's payload for parse_event; raise EventUnreadable if malformed.

        By default the product's own report shape, posted as JSON or as a form.
        """
        return report_payload(request)

    def event_reply(
        self, payload: Mapping[str, Any], call: CallRequest, status: str
    ) -> EventReply | None:
        """Return the instructions an event asks for, for `call` now at `status` (None: the
        provider wants none, and the endpoint answers its usual JSON)."""
        return None

    def parse_event(self, payload: Mapping[str, Any]) -> list[ProviderEvent]:
        """Map a provider's event payload to ProviderEvents (empty: nothing to report).

        By default the product's own report shape (parse_report): what the webhook provider
        documents and a PBX dialplan can post; providers with their own format override it.
        """
        return parse_report(payload)


def report_payload(request: EventRequest) -> Mapping[str, Any]:
    """Return a {"status", "call_id"?, "cause"?} report's body; raise EventUnreadable otherwise."""
    payload = request.json if request.json is not None else request.form
    if not isinstance(payload, Mapping) or not payload:
        raise EventUnreadable(
            "The event body must be a JSON object.", {"body": "must be a JSON object"}
        )
    if not isinstance(payload.get("status"), str) or not payload["status"]:
        raise EventUnreadable("The event names no status.", {"status": "required: a status name"})
    for name in ("call_id", "cause"):
        value = payload.get(name)
        if value is not None and not isinstance(value, str | int):
            raise EventUnreadable("The event is not valid.", {name: "must be a string"})
    return payload


def parse_report(payload: object) -> list[ProviderEvent]:
    """Map a {"status", "call_id", "cause"} report to events; unknown statuses are dropped."""
    if not isinstance(payload, Mapping):
        return []
    status = payload.get("status")
    if not isinstance(status, str) or status not in STATUSES:
        return []
    call_id = report_call_id(payload.get("call_id"))
    cause = payload.get("cause")
    if isinstance(cause, str):
        # Causes are short stored codes: keep them that way whatever the sender wrote.
        cause = re.sub(r"[^a-z0-9_]+", "_", cause.lower()).strip("_")[:64] or None
    else:
        cause = None
    return [ProviderEvent(Status(status), provider_call_id=call_id, cause=cause)]


def report_call_id(value: object) -> str | None:
    """A call id as a report names it (string or number), or None if unusable."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    if not text or len(text) > MAX_CALL_ID or unsafe_text(text):
        return None
    return text
