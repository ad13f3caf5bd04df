"""A keyed hash of a visitor's number: kept after retention erases the number itself.

A plain SHA-256 of an E.164 number is reversed by hashing every number of a country (a few
billion at most), so the hash is an HMAC under a key derived from the server's secret key.
The hash of a new callback uses SECRET_KEY; lookups also try SECRET_KEY_FALLBACKS, so a
rotated key still finds older callbacks until its fallback is removed.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import current_app

_CONTEXT = b"widget-server number hash\x00"


def _key(secret: str) -> bytes:
    return hashlib.sha256(_CONTEXT + secret.encode()).digest()


def _secrets(config: Any) -> list[str]:
    return [config["SECRET_KEY"], *reversed(config.get("SECRET_KEY_FALLBACKS") or [])]


def _hash(secret: str, e164: str) -> str:
    return hmac.new(_key(secret), e164.encode(), hashlib.sha256).hexdigest()


def number_hash(e164: str, config: Any = None) -> str:
    """Return the hex HMAC-SHA256 of an E.164 number under the current key."""
    config = config if config is not None else current_app.config
    return _hash(_secrets(config)[0], e164)


def candidates(e164: str, config: Any = None) -> list[str]:
    """Return the number's hash under every configured key, current first."""
    config = config if config is not None else current_app.config
    return [_hash(secret, e164) for secret in _secrets(config) if secret]
