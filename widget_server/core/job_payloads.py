"""What each queued job carries: one typed payload per task, signed by `Tokens.sign_job`.

On the wire a payload keeps the short keys it has always had, so jobs already waiting in
the queue or in Huey's schedule (a booking may be days ahead) still read after an upgrade.
Reading is exact: the keys of one kind of job, each of its type, or nothing. The key sets
of the kinds differ, so a job signed for one task is never taken for another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, Self, TypeGuard

from .statuses import Status


class JobPayload(Protocol):
    """A job's payload: named fields, and the short keys it is signed under."""

    def wire(self) -> dict[str, Any]:
        """Return the payload as signed."""
        ...

    @classmethod
    def from_wire(cls, payload: dict[str, Any]) -> Self | None:
        """Return the payload a verified job carries, or None if it is not of this kind."""
        ...


def _integer(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional_text(value: object) -> TypeGuard[str | None]:
    return value is None or isinstance(value, str)


@dataclass(frozen=True)
class DialJob:
    """Place one attempt of a callback."""

    callback_id: str
    attempt: int

    KEYS: ClassVar[frozenset[str]] = frozenset({"c", "a"})

    def wire(self) -> dict[str, Any]:
        return {"c": self.callback_id, "a": self.attempt}

    @classmethod
    def from_wire(cls, payload: dict[str, Any]) -> DialJob | None:
        callback_id, attempt = payload.get("c"), payload.get("a")
        if set(payload) != cls.KEYS or not isinstance(callback_id, str) or not _integer(attempt):
            return None
        return cls(callback_id, attempt)

    @staticmethod
    def claimed_callback_id(payload: object) -> str | None:
        """Return the callback an unverified dial job names, to mark what a forgery aimed at."""
        claimed = payload.get("c") if isinstance(payload, dict) else None
        return claimed if isinstance(claimed, str) else None


@dataclass(frozen=True)
class EventJob:
    """Apply one provider event to one attempt of a callback."""

    callback_id: str
    attempt: int
    status: str  # one of Status: a job never carries a status this product lacks
    cause: str | None
    provider_call_id: str | None
    source: str  # the provider that reported it

    KEYS: ClassVar[frozenset[str]] = frozenset({"c", "a", "s", "cause", "pid", "src"})

    def wire(self) -> dict[str, Any]:
        return {
            "c": self.callback_id,
            "a": self.attempt,
            "s": self.status,
            "cause": self.cause,
            "pid": self.provider_call_id,
            "src": self.source,
        }

    @classmethod
    def from_wire(cls, payload: dict[str, Any]) -> EventJob | None:
        if set(payload) != cls.KEYS:
            return None
        callback_id, attempt, status = payload["c"], payload["a"], payload["s"]
        cause, provider_call_id, source = payload["cause"], payload["pid"], payload["src"]
        if not (
            isinstance(callback_id, str)
            and _integer(attempt)
            and status in set(Status)
            and _optional_text(cause)
            and _optional_text(provider_call_id)
            and isinstance(source, str)
        ):
            return None
        return cls(callback_id, attempt, status, cause, provider_call_id, source)


@dataclass(frozen=True)
class WebhookJob:
    """Make one delivery attempt of a webhook to the site owner."""

    delivery_id: int
    attempt: int

    KEYS: ClassVar[frozenset[str]] = frozenset({"wd", "a"})

    def wire(self) -> dict[str, Any]:
        return {"wd": self.delivery_id, "a": self.attempt}

    @classmethod
    def from_wire(cls, payload: dict[str, Any]) -> WebhookJob | None:
        delivery_id, attempt = payload.get("wd"), payload.get("a")
        if set(payload) != cls.KEYS or not _integer(delivery_id) or not _integer(attempt):
            return None
        return cls(delivery_id, attempt)


@dataclass(frozen=True)
class OwnerEmailJob:
    """Email the site owner that a callback reached a status."""

    callback_id: str
    status: str

    # Its own key for the callback ("email", not "c"): never read as a dial or event job.
    KEYS: ClassVar[frozenset[str]] = frozenset({"email", "s"})

    def wire(self) -> dict[str, Any]:
        return {"email": self.callback_id, "s": self.status}

    @classmethod
    def from_wire(cls, payload: dict[str, Any]) -> OwnerEmailJob | None:
        callback_id, status = payload.get("email"), payload.get("s")
        if set(payload) != cls.KEYS or not (
            isinstance(callback_id, str) and isinstance(status, str)
        ):
            return None
        return cls(callback_id, status)


@dataclass(frozen=True)
class OptOutCodeJob:
    """Text a fresh opt-out code to the number of one opt-out request."""

    request_id: str

    KEYS: ClassVar[frozenset[str]] = frozenset({"optout"})

    def wire(self) -> dict[str, Any]:
        return {"optout": self.request_id}

    @classmethod
    def from_wire(cls, payload: dict[str, Any]) -> OptOutCodeJob | None:
        request_id = payload.get("optout")
        if set(payload) != cls.KEYS or not isinstance(request_id, str):
            return None
        return cls(request_id)
