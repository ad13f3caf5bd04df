"""FreeSWITCH hangup causes, as FreeSWITCH's originate answers them and Kazoo's CDRs carry them.

Both adapters name the same outcomes the same way, so a callback's cause does not depend
on which switch placed its call.
"""

from __future__ import annotations

import re

from ..core.statuses import Status

CAUSE_RE = re.compile(r"[A-Z0-9_]{1,64}")

# A person's answer on the agent leg ends the callback with that status; every other cause
# is a failure named after it (see cause_code).
AGENT_OUTCOMES: dict[str, tuple[Status, str]] = {
    "NO_ANSWER": (Status.NO_ANSWER, "agent_no_answer"),
    "NO_USER_RESPONSE": (Status.NO_ANSWER, "agent_no_answer"),
    "USER_BUSY": (Status.BUSY, "agent_busy"),
}


def agent_outcome(name: object) -> tuple[Status, str] | None:
    """Return (status, cause) when the agent leg's hangup cause is a person's answer."""
    return AGENT_OUTCOMES.get(name) if isinstance(name, str) else None


def cause_code(name: object, default: str) -> str:
    """Return a hangup cause as a stored cause (lower-cased), or `default` if unreadable."""
    return name.lower() if isinstance(name, str) and CAUSE_RE.fullmatch(name) else default
