"""Encryption at rest for secrets stored in the database (provider credentials)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app
from sqlalchemy import JSON
from sqlalchemy.types import TypeDecorator

# Stored shape of an encrypted value: {"fernet": "<token>"}; anything else is legacy plaintext.
MARKER = "fernet"


class SettingsKeyError(RuntimeError):
    """Stored settings cannot be decrypted with any configured key."""


def derive_key(secret: str) -> bytes:
    """Derive a Fernet key from a server secret (used when no explicit keys are set)."""
    digest = hashlib.sha256(b"widget-server settings encryption\x00" + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _keys(config: Any) -> list[bytes]:
    explicit = config.get("SETTINGS_ENCRYPTION_KEYS") or []
    if isinstance(explicit, str):
        explicit = [key for key in explicit.split(",") if key]
    if explicit:
        return [key.encode() if isinstance(key, str) else key for key in explicit]
    # Without explicit keys, follow SECRET_KEY and its fallbacks, so rotating the secret key
    # the documented way (new key, old one in SECRET_KEY_FALLBACKS) keeps settings readable.
    secrets = [config["SECRET_KEY"], *reversed(config.get("SECRET_KEY_FALLBACKS") or [])]
    return [derive_key(secret) for secret in secrets if secret]


def cipher(app: Flask | None = None) -> MultiFernet:
    """Return the app's MultiFernet: the first key encrypts, every key decrypts."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("settings_cipher")
    if found is None:
        found = MultiFernet([Fernet(key) for key in _keys(app.config)])
        app.extensions["settings_cipher"] = found
    return found


def encrypt_json(value: Any, app: Flask | None = None) -> dict[str, str]:
    token = cipher(app).encrypt(json.dumps(value, separators=(",", ":")).encode())
    return {MARKER: token.decode()}


def decrypt_json(stored: Any, app: Flask | None = None) -> Any:
    if not (isinstance(stored, dict) and set(stored) == {MARKER}):
        return stored  # written before encryption existed
    try:
        return json.loads(cipher(app).decrypt(stored[MARKER].encode()))
    except InvalidToken:
        raise SettingsKeyError(
            "stored provider settings cannot be decrypted: SETTINGS_ENCRYPTION_KEYS "
            "(or SECRET_KEY) changed without keeping the old key"
        ) from None


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON column whose value is stored Fernet-encrypted; reads still yield plain JSON."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return None if value is None else encrypt_json(value)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else decrypt_json(value)
