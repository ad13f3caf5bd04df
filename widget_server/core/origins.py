"""Web origins as this product stores and compares them."""

from __future__ import annotations

import re
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


# Where `flask serve` listens unless told otherwise: the server's origin outside production
# when PUBLIC_ORIGIN is not set.
LOCAL_ORIGIN = "http://127.0.0.1:5000"
# One machine's own names: a server at one of them is also reached at the other.
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_NAME = re.compile(r"\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


def split_host(value: str) -> tuple[str, int | None] | None:
    """Split "name[:port]" (an IPv6 name in brackets); None when it is not well formed."""
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        if not bracket or not name or any(ch not in "0123456789abcdefABCDEF:." for ch in name):
            return None
        name, port = f"[{name.lower()}]", rest.removeprefix(":")
        if rest and not rest.startswith(":"):
            return None
    else:
        name, colon, port = value.partition(":")
        name = name.lower()
        if not _HOST_NAME.fullmatch(name):
            return None
        if not colon:
            return name, None
    if not port and not value.endswith(":"):
        return name, None
    if not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return name, int(port)


def server_hosts(origin: str, *others: str | None) -> list[str]:
    """Return the hosts a server at `origin` answers: its own, and those of `others` (URLs).

    A loopback origin (127.0.0.1 or localhost) names its port, as several local servers
    share the names, and is answered under both names. Any other host is matched by name
    alone: proxies often drop the port (nginx's `$host`).
    """
    hosts: list[str] = []
    for url in (origin, *others):
        parts = urlsplit(url) if url else None
        if parts is None or not parts.hostname:
            continue
        name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname.lower()
        if name in LOOPBACK_NAMES:
            port = parts.port or DEFAULT_PORTS.get(parts.scheme, 80)
            found = [f"{loopback}:{port}" for loopback in LOOPBACK_NAMES]
        else:
            found = [name]
        hosts.extend(host for host in found if host not in hosts)
    return hosts


def own_origins(origin: str) -> frozenset[str]:
    """Return the origins of this server's own pages: `origin`, and its loopback twin."""
    parts = urlsplit(origin)
    if parts.hostname not in LOOPBACK_NAMES:
        return frozenset({origin})
    port = f":{parts.port}" if parts.port else ""
    return frozenset(f"{parts.scheme}://{name}{port}" for name in LOOPBACK_NAMES)


def host_allowed(host: str, scheme: str, allowed: list[str]) -> bool:
    """Say whether a request's Host ("name[:port]") is one of `allowed`.

    An entry "name" admits any port, "name:port" that port only (a Host without a port
    has the scheme's default), ".name" the name and all its subdomains.
    """
    asked = split_host(host) if host else None
    if asked is None:
        return False
    name, port = asked
    port = port or DEFAULT_PORTS.get(scheme)
    for entry in allowed:
        wanted = split_host(entry)
        if wanted is None:
            continue
        wanted_name, wanted_port = wanted
        if wanted_name.startswith("."):
            matches = name == wanted_name[1:] or name.endswith(wanted_name)
        else:
            matches = name == wanted_name
        if matches and wanted_port in (None, port):
            return True
    return False
