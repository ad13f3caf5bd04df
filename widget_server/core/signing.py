"""Signed requests: one header, `X-Widget-Server-Signature: t=<unix seconds>,v1=<hex>`.

The hex is HMAC-SHA256, under a secret both sides hold, of `"<t>.<raw body>"`. It signs the
site owner's event webhooks, the webhook provider's originate and status requests, and the
events that provider posts back. docs/security.md ("Signed requests") is the receiver's side.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

HEADER = "X-Widget-Server-Signature"
SCHEME = "v1"
TOLERANCE = 300  # seconds a timestamp may be away from the verifier's clock
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """Return the header value that signs `body` at `timestamp` (unix seconds; now by default)."""
    moment = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={moment},{SCHEME}={_digest(secret, str(moment), body)}"


def verify(
    secret: str,
    header: str | None,
    body: bytes,
    *,
    tolerance: int = TOLERANCE,
    now: float | None = None,
) -> bool:
    """Say whether `header` signs the raw `body` under `secret` at a time within `tolerance`.

    The header has exactly one `t=` and one or more `v1=` entries (a sender rotating
    secrets may send one per secret); any matching entry is enough. Entries of other
    schemes are ignored, so a later scheme can be sent beside this one.
    """
    if not isinstance(header, str) or not isinstance(body, bytes):
        return False
    stamps: list[str] = []
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            stamps.append(value)
        elif key == SCHEME:
            candidates.append(value)
    if len(stamps) != 1 or not _TIMESTAMP.fullmatch(stamps[0]) or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - int(stamps[0])) > tolerance:
        return False
    expected = _digest(secret, stamps[0], body).encode("ascii")
    # Every candidate is compared, in constant time, so timing says nothing about which.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate.encode("utf-8", "replace"))
    return matched


def _digest(secret: str, timestamp: str, body: bytes) -> str:
    message = timestamp.encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
