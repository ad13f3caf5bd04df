"""Web origins as this product stores and compares them."""

from __future__ import annotations

from urllib.parse import urlsplit


def normalise_origin(value: object) -> str | None:
    """Return "scheme://host[:port]" for a well-formed http(s) origin, else None."""
    if not isinstance(value, str) or not value or len(value) > 255:
        return None
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    host = parts.hostname.lower()
    if any(ch in host for ch in " ;,'\"\\") or not host.isprintable():
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}[parts.scheme]
    suffix = f":{port}" if port and port != default_port else ""
    return f"{parts.scheme}://{host}{suffix}"
