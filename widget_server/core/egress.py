"""Outbound HTTP to addresses chosen by site owners, with care against SSRF.

A webhook URL is typed by a site owner, so it could point the server at its own network:
a metadata service, an admin port, the database. URLs are checked when saved (scheme,
no credentials, no literal private address), and again when used: the address the socket
actually connected to is checked, so a name that resolves to a private address, at save
time or only later (DNS rebinding), is refused before a byte is sent. Redirects are not
followed and proxies from the environment are not used, so the checked address is the one
that receives the request.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

MAX_URL = 2048


class DestinationRefused(Exception):
    """The URL's host is, or resolved to, an address this server may not call."""


def public_address(address: str) -> bool:
    """Say whether an IP address is on the public internet (not private, loopback, …)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # is_global is False for private, loopback, link-local, shared (100.64/10), reserved and
    # documentation ranges; multicast can be global but is never a web server.
    return ip.is_global and not ip.is_multicast


def url_problem(url: object, *, allow_http: bool, allow_private: bool) -> str | None:
    """Return why a URL may not receive webhooks, or None when it may (no DNS lookup)."""
    if not isinstance(url, str) or not url:
        return "must be a URL"
    if len(url) > MAX_URL:
        return f"must be at most {MAX_URL} characters"
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "is not a valid URL"
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        return "must be an https:// URL" if not allow_http else "must be an http(s):// URL"
    if not host:
        return "must name a host"
    if parts.username is not None or parts.password is not None:
        return "must not contain a user name or password (the signature authenticates us)"
    if not allow_private:
        host = host.rstrip(".")
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            return "must be a public host, not a local name"
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return None
        if not public_address(host):
            return "must be a public address, not a private, loopback or link-local one"
    return None


def _checked(sock: socket.socket, allow_private: bool) -> socket.socket:
    peer = sock.getpeername()[0]
    if not allow_private and not public_address(peer):
        sock.close()
        raise DestinationRefused("the host resolved to a non-public address")
    return sock


class _GuardedHTTPConnection(HTTPConnection):
    allow_private = False

    def _new_conn(self) -> socket.socket:
        return _checked(super()._new_conn(), self.allow_private)


class _GuardedHTTPSConnection(HTTPSConnection):
    allow_private = False

    def _new_conn(self) -> socket.socket:
        return _checked(super()._new_conn(), self.allow_private)


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, allow_private: bool) -> None:
        self._allow_private = allow_private
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        allow = self._allow_private
        http_conn = type("Conn", (_GuardedHTTPConnection,), {"allow_private": allow})
        https_conn = type("Conn", (_GuardedHTTPSConnection,), {"allow_private": allow})
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("Pool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type("Pool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
        }


def guarded_session(*, allow_private: bool) -> requests.Session:
    """Return a requests session that checks every connection's peer address."""
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: we check the real peer
    adapter = _GuardedAdapter(allow_private)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
