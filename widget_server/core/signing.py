"""The HMAC both kinds of outbound webhook carry: SHA-256 over "<timestamp>.<raw body>".

The webhook provider signs its originate requests with it and the site owner's event
webhooks with it too; each wraps the hex digest in its own header format.
"""

from __future__ import annotations

import hashlib
import hmac


def timestamped_digest(secret: str, timestamp: int | str, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under `secret`."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
