"""What the call stages ask of the job queue; `jobs.Jobs` is the one in the app.

Every method raises `QueueUnavailable` when the queue's store cannot take the job, and only
then: anything else it raises is a bug, not an outage.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ..providers import ProviderEvent


class DialQueue(Protocol):
    """Where dial jobs go: now, after a delay, or at a booked time."""

    def enqueue_dial(self, callback_id: str, attempt: int, delay: float = 0) -> None:
        """Queue a signed dial job for this attempt, due after `delay` seconds."""
        ...

    def enqueue_dial_at(self, callback_id: str, attempt: int, when: datetime) -> None:
        """Queue a signed dial job for this attempt, due at `when` (aware)."""
        ...


class JobQueue(DialQueue, Protocol):
    """What the dialer asks for: a later attempt, or a provider event to apply."""

    def enqueue_event(
        self, callback_id: str, attempt: int, event: ProviderEvent, source: str, delay: float = 0
    ) -> None:
        """Queue a signed job applying `event` to this attempt, due after `delay` seconds."""
        ...
