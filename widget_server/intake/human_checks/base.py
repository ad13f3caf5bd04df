"""The interface every human check implements, and what a refusal looks like."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from ...core.reasons import Reason

# A configuration key no check knows.
UNKNOWN_FIELD = Reason("unknown field")


class HumanCheckRefused(Exception):
    """The visitor did not pass; `reason` is for logs and metrics, never for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Attempt:
    """What the web layer knows about the request carrying a human-check response."""

    widget_id: str
    response: object  # the token or payload the browser produced
    remote_ip: str | None
    hostname: str | None  # the host of the page the check was solved on


class HumanCheck(Protocol):
    kind: str
    form_field: str  # the form field the browser-side widget fills in

    def validate(self, config: Mapping[str, Any]) -> dict[str, Reason]:
        """Return {field: reason} for a bad configuration ({} when it can be saved)."""

    def verify(
        self, session: Session, config: Mapping[str, Any], attempt: Attempt, settings: Any
    ) -> None:
        """Return when the attempt passes; raise HumanCheckRefused otherwise."""

    def public(self, config: Mapping[str, Any], widget_id: str, settings: Any) -> dict[str, Any]:
        """What a browser needs to show the check (never a secret)."""
