"""Outbound connections to destinations tenants choose, with care against SSRF.

Site owners type webhook URLs, and provider endpoints (HTTP base URLs, a PBX's host and
port); either could point the server at its own network: a metadata service, an admin
port, the database. Every such connection is made here, one way:

- the host is looked up once (`resolve`), and every address it resolves to is checked
  against an `EgressPolicy` before any packet is sent to it: public addresses, plus the
  non-public hosts and networks an operator allowed;
- the socket connects to an address that was checked, never to the name again, so a
  second lookup (DNS rebinding) cannot swap it; TLS still verifies, and the Host header
  still names, the host of the URL;
- redirects are not followed and proxies from the environment are not used, so the
  checked address is the one that receives the request.

A refused destination raises DestinationRefused, before a connection exists: an open and a
closed port behind it look the same.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.timeout import _DEFAULT_TIMEOUT

from .reasons import Reason

MAX_URL = 2048
# The one answer for every refused destination, whatever made it refused.
REFUSED = "destination not allowed: non-public address"
NOT_PUBLIC = Reason("must be a public address, not a private, loopback or link-local one")
LOCAL_NAME = Reason("must be a public host, not a local name")
HOST_RE = re.compile(r"(?=.{1,253}\Z)[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?")
NAT64 = ipaddress.ip_network("64:ff9b::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class DestinationRefused(Exception):
    """The host is, or resolved to, an address this server may not call."""

    def __init__(self, message: str = REFUSED) -> None:
        super().__init__(message)


def resolve(host: str, port: int) -> list[str]:
    """Look `host` up once and return its addresses: the only lookup a connection makes."""
    found = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def _ip(address: str) -> Address | None:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _embedded(ip: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a 6to4 or NAT64 address reaches, where the translation routes it."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def public_address(address: str) -> bool:
    """Say whether an IP address is on the public internet (not private, loopback, …)."""
    ip = _ip(address)
    if ip is None:
        return False
    embedded = _embedded(ip)
    if embedded is not None and not public_address(str(embedded)):
        return False
    # is_global is False for private, loopback, link-local, shared (100.64/10), reserved and
    # documentation ranges; multicast can be global but is never a web server.
    return ip.is_global and not ip.is_multicast


def _local_name(host: str) -> bool:
    return host == "localhost" or host.endswith((".localhost", ".local", ".internal"))


@dataclass(frozen=True)
class EgressPolicy:
    """Where outbound connections may go: public addresses always; non-public ones only
    when they are in `networks`, when the host is one of `hosts`, or with `private`."""

    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()
    private: bool = False  # every address: a development or test server only

    @classmethod
    def allowing(cls, entries: Iterable[str]) -> EgressPolicy:
        """Build a policy from an operator's list of host names and networks (CIDR or IP)."""
        networks: list[Network] = []
        hosts: set[str] = set()
        for entry in entries:
            if not isinstance(entry, str) or not entry.strip():
                raise ValueError(f"{entry!r} is not a host name, an IP address or a network")
            text = entry.strip()
            try:
                networks.append(ipaddress.ip_network(text.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            name = text.lower().rstrip(".")
            if not HOST_RE.fullmatch(name) or "/" in name:
                raise ValueError(f"{entry!r} is not a host name, an IP address or a network")
            hosts.add(name)
        return cls(tuple(networks), frozenset(hosts))

    def allows(self, host: str, address: str) -> bool:
        """Say whether `address`, which `host` resolved to, may be connected to."""
        if self.private or public_address(address):
            return True
        if host.lower().rstrip(".") in self.hosts:
            return True
        ip = _ip(address)
        return ip is not None and any(ip in network for network in self.networks)

    def addresses(self, host: str, port: int) -> list[str]:
        """Look `host` up once; return its addresses when every one of them is allowed.

        Raise DestinationRefused when any is not (a name that also resolves to a private
        address is not one to trust), and OSError when the name does not resolve.
        """
        name = host.strip("[]")
        found = resolve(name, port)
        if not found:
            raise socket.gaierror(socket.EAI_NONAME, "the host resolved to no address")
        if not all(self.allows(name, address) for address in found):
            raise DestinationRefused()
        return found

    def connect(
        self,
        host: str,
        port: int,
        timeout: float | None,
        *,
        source_address: tuple[str, int] | None = None,
        socket_options: Iterable[tuple[int, int, int | bytes]] | None = None,
    ) -> socket.socket:
        """Open a TCP connection to `host` at an address that was checked (see `addresses`)."""
        error: OSError | None = None
        for address in self.addresses(host, port):
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                for option in socket_options or ():
                    sock.setsockopt(*option)
                sock.settimeout(timeout)
                if source_address:
                    sock.bind(source_address)
                sock.connect((address, port))
                return sock
            except OSError as exc:
                sock.close()
                error = exc
        assert error is not None  # addresses() returned at least one address
        raise error

    def host_problem(self, host: str, port: int) -> Reason | None:
        """Say why `host` may not be a destination, or None: checked when settings are saved.

        A name that does not resolve now is not refused here (DNS may be down for a
        moment), unless it is a local name; the check at connect time decides, as it does
        for every connection.
        """
        name = host.strip("[]").lower().rstrip(".")
        try:
            self.addresses(name, port)
        except DestinationRefused:
            return NOT_PUBLIC
        except (OSError, UnicodeError):
            local = _ip(name) is None and _local_name(name) and name not in self.hosts
            return LOCAL_NAME if local and not self.private else None
        return None

    def url_problem(self, url: str) -> Reason | None:
        """Say why an http(s) URL's host may not be a destination (see `host_problem`)."""
        try:
            parts = urlsplit(url)
            host, port = parts.hostname, parts.port
        except ValueError:
            return Reason("is not a valid URL")
        if not host:
            return Reason("must name a host")
        return self.host_problem(host, port or (443 if parts.scheme == "https" else 80))

    def session(self) -> requests.Session:
        """Return a requests session whose every connection goes through this policy."""
        session = requests.Session()
        session.trust_env = False  # no proxy from the environment: we check the real peer
        adapter = _GuardedAdapter(self)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session


PUBLIC = EgressPolicy()
ANYWHERE = EgressPolicy(private=True)


def provider_policy(config: Mapping[str, Any]) -> EgressPolicy:
    """The policy for provider endpoints: public addresses and PROVIDER_PRIVATE_HOSTS."""
    return _allowing(tuple(config.get("PROVIDER_PRIVATE_HOSTS") or ()))


def webhook_policy(config: Mapping[str, Any]) -> EgressPolicy:
    """The policy for owner webhooks: public addresses, or any with WEBHOOK_ALLOW_PRIVATE."""
    return ANYWHERE if config.get("WEBHOOK_ALLOW_PRIVATE") else PUBLIC


@functools.lru_cache(maxsize=32)
def _allowing(entries: tuple[str, ...]) -> EgressPolicy:
    return EgressPolicy.allowing(entries)


def url_problem(url: object, *, allow_http: bool, allow_private: bool) -> Reason | None:
    """Return why a URL may not receive webhooks, or None when it may (no DNS lookup)."""
    if not isinstance(url, str) or not url:
        return Reason("must be a URL")
    if len(url) > MAX_URL:
        return Reason("must be at most %(limit)s characters", limit=MAX_URL)
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return Reason("must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return Reason("is not a valid URL")
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        return (
            Reason("must be an https:// URL")
            if not allow_http
            else Reason("must be an http(s):// URL")
        )
    if not host:
        return Reason("must name a host")
    if parts.username is not None or parts.password is not None:
        return Reason("must not contain a user name or password (the signature authenticates us)")
    if not allow_private:
        host = host.rstrip(".")
        if _local_name(host):
            return LOCAL_NAME
        if _ip(host) is not None and not public_address(host):
            return NOT_PUBLIC
    return None


# The requests transport -------------------------------------------------------------------


def _guarded_conn(conn: HTTPConnection, policy: EgressPolicy) -> Any:
    """Open `conn`'s socket through `policy`, mapping errors as urllib3 itself does."""
    timeout = conn.timeout
    seconds = socket.getdefaulttimeout() if timeout is _DEFAULT_TIMEOUT else timeout
    try:
        return policy.connect(
            conn._dns_host,  # the URL's host without a trailing dot, as urllib3 looks it up
            int(conn.port or 0),
            seconds,
            source_address=conn.source_address,
            socket_options=conn.socket_options,
        )
    except socket.gaierror as exc:
        raise NameResolutionError(conn.host, conn, exc) from exc
    except TimeoutError as exc:
        raise ConnectTimeoutError(conn, f"Connection to {conn.host} timed out") from exc
    except OSError as exc:
        raise NewConnectionError(conn, f"Failed to establish a new connection: {exc}") from exc


class _GuardedHTTPConnection(HTTPConnection):
    policy: EgressPolicy = PUBLIC

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = _guarded_conn(self, self.policy)
        return sock


class _GuardedHTTPSConnection(HTTPSConnection):
    # TLS is set up on the socket _new_conn returns, with SNI and certificate checks for
    # the URL's host name: pinning the address changes nothing of that.
    policy: EgressPolicy = PUBLIC

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = _guarded_conn(self, self.policy)
        return sock


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        policy = self._policy
        http_conn = type("Conn", (_GuardedHTTPConnection,), {"policy": policy})
        https_conn = type("Conn", (_GuardedHTTPSConnection,), {"policy": policy})
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("Pool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type("Pool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
        }


def guarded_session(*, allow_private: bool) -> requests.Session:
    """Return a session for owner webhooks: public destinations only, unless told otherwise."""
    return (ANYWHERE if allow_private else PUBLIC).session()
