"""Record ids as they arrive in URLs: anything that cannot be an id is simply not found."""

from __future__ import annotations

import re

# Ids are uuid4 hex; the pattern is looser so ids made elsewhere still resolve, but it
# keeps NUL bytes and other characters PostgreSQL refuses in text away from queries.
PLAUSIBLE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def plausible(value: str) -> bool:
    return PLAUSIBLE_ID.fullmatch(value) is not None
