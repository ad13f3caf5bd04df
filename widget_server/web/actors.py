"""Who is acting in this request, for the audit log: the client's address, an API key."""

from __future__ import annotations

from flask import request

from ..core.models import ApiKey
from ..owners import audit, keys


def client_address() -> str | None:
    """Return the client's address as the rate limits see it: ProxyFix has already put the
    proxies' address right for the configured hop count, and only for that many."""
    return request.remote_addr


def key_actor(key: ApiKey) -> audit.Actor:
    return audit.key_actor(key.account_id, key.id, keys.visible_part(key), client_address())
