"""The shared HTTP base for providers: one session, explicit timeouts, typed errors.

Every request goes through a session of the provider's egress policy: the host is
resolved once and checked before connecting, the connection goes to the checked address,
and redirects are never followed (a 3xx answer is a permanent error), so a tenant's
base URL cannot make the server call its own network, nor carry credentials elsewhere.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from ..core.egress import PUBLIC, DestinationRefused, EgressPolicy
from ..core.reasons import Reason
from .base import PermanentProviderError, Provider, ProviderConfigError, RetryableProviderError
from .checks import timeout_errors, unknown_settings

USER_AGENT = "widget-server/0.1 (+https://github.com/widget-server/widget-server)"
CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 15.0
MAX_TIMEOUT = 60
BASE_URL_ERROR = Reason("must be an http(s) URL with a host and no query or credentials")
REFUSED_MESSAGE = "the endpoint is not a public address this server may call"

_sessions: dict[EgressPolicy, requests.Session] = {}
_sessions_lock = threading.Lock()


def shared_session(egress: EgressPolicy = PUBLIC) -> requests.Session:
    """Return the process-wide session of a policy (connection pooling across calls)."""
    with _sessions_lock:
        session = _sessions.get(egress)
        if session is None:
            session = _sessions[egress] = egress.session()
            session.headers["User-Agent"] = USER_AGENT
        return session


def url_endpoint(value: object) -> tuple[str, int] | None:
    """Return the host and port an http(s) URL connects to, or None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        parts = urlsplit(value)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    return host, port or (443 if parts.scheme == "https" else 80)


def same_url(value: object) -> str:
    """Return a URL setting as compared to tell destinations apart (never raises)."""
    return str(value).rstrip("/") if value is not None else ""


def is_base_url(value: object) -> bool:
    """Say whether `value` is an http(s) URL with a host and no credentials, query or fragment."""
    if not isinstance(value, str) or not value.isprintable() or " " in value:
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and parts.username is None
        and "?" not in value
        and "#" not in value
    )


def connection_errors(
    values: Mapping[str, Any], *, read_limit: int = MAX_TIMEOUT
) -> dict[str, str]:
    """Check base_url, connect_timeout and read_timeout, each only when it is set."""
    errors: dict[str, str] = {}
    if values.get("base_url") is not None and not is_base_url(values["base_url"]):
        errors["base_url"] = BASE_URL_ERROR
    limits = {"connect_timeout": MAX_TIMEOUT, "read_timeout": read_limit}
    set_limits = {key: limit for key, limit in limits.items() if values.get(key) is not None}
    errors.update(timeout_errors(values, set_limits))
    return errors


def setting_errors(
    values: Mapping[str, Any], known: Iterable[str], *, read_limit: int = MAX_TIMEOUT
) -> dict[str, str]:
    """Check the settings every HTTP adapter shares, and name unknown ones."""
    errors = unknown_settings(values, known)
    errors.update(connection_errors(values, read_limit=read_limit))
    return errors


class HTTPProvider(Provider):
    """A provider reached over HTTP at `base_url` (defaulting to the provider's real address)."""

    default_base_url: ClassVar[str]
    # The settings holding URLs this adapter sends requests to.
    url_settings: ClassVar[tuple[str, ...]] = ("base_url",)

    def __init__(
        self,
        settings: Mapping[str, Any],
        session: requests.Session | None = None,
        *,
        egress: EgressPolicy = PUBLIC,
    ):
        super().__init__(settings, egress=egress)
        # A session passed in must come from EgressPolicy.session() (tests pass their own).
        self.session = session or shared_session(egress)
        self.base_url = str(self.settings.get("base_url") or self.default_base_url).rstrip("/")
        self.timeout = (
            float(self.settings.get("connect_timeout", CONNECT_TIMEOUT)),
            float(self.settings.get("read_timeout", READ_TIMEOUT)),
        )

    @classmethod
    def endpoints(cls, settings: Mapping[str, Any]) -> dict[str, tuple[str, int]]:
        found = {key: url_endpoint(settings.get(key)) for key in cls.url_settings}
        return {key: endpoint for key, endpoint in found.items() if endpoint is not None}

    @classmethod
    def destination(cls, settings: Mapping[str, Any]) -> tuple[str, ...]:
        base_url = settings.get("base_url") or getattr(cls, "default_base_url", "")
        others = (same_url(settings.get(key)) for key in cls.url_settings if key != "base_url")
        return (cls.name, same_url(base_url), *others)

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Check the settings this class reads; adapters also name their unknown settings."""
        values = dict(settings)
        errors = connection_errors(values)
        if errors:
            raise ProviderConfigError(errors)
        return values

    def request(
        self, method: str, path: str, *, not_found_is_answer: bool = False, **kwargs: Any
    ) -> requests.Response:
        """Send one request; raise typed errors for anything but a 2xx answer.

        `path` is appended to base_url as it is (adapters' paths start with "/"); an
        absolute http(s) URL is used instead. With `not_found_is_answer` a 404 is returned
        too: to a status query it is the provider saying it has no such call, an answer
        the caller acts on, while timeouts and every other status (a redirect included)
        fail as usual.
        """
        response = self.exchange(method, path, **kwargs)
        if not (not_found_is_answer and response.status_code == 404):
            self.raise_for_status(response)
        return response

    def exchange(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send one request and return its answer, whatever its status; raise typed errors
        only when no answer came. Redirects are never followed."""
        url = path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"
        # A redirect could send the request, its credentials with it, anywhere.
        kwargs["allow_redirects"] = False
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except DestinationRefused:
            raise PermanentProviderError(
                f"{self.name}: {REFUSED_MESSAGE}", cause="destination_refused"
            ) from None
        except requests.ConnectTimeout:
            # No connection, so no request: the provider cannot have placed anything.
            raise RetryableProviderError(f"{self.name}: timed out", cause="timeout") from None
        except requests.Timeout:
            raise RetryableProviderError(
                f"{self.name}: timed out", cause="timeout", maybe_placed=True
            ) from None
        except requests.ConnectionError as exc:
            raise RetryableProviderError(
                f"{self.name}: connection failed",
                cause="connection_error",
                maybe_placed=not _never_connected(exc),
            ) from None
        except requests.RequestException as exc:
            raise RetryableProviderError(
                f"{self.name}: {exc.__class__.__name__}", maybe_placed=True
            ) from None
        return response

    def raise_for_status(self, response: requests.Response) -> None:
        """Map HTTP answers to typed errors; adapters override for provider quirks."""
        status = response.status_code
        if status < 300:
            return
        if status < 400:
            raise PermanentProviderError(
                f"{self.name}: answered {status}, a redirect, which is never followed",
                cause=f"http_{status}",
            )
        if status in (401, 403):
            raise PermanentProviderError(f"{self.name}: credentials refused", cause="auth_failed")
        if status == 429 or status >= 500:
            raise RetryableProviderError(f"{self.name}: answered {status}", cause=f"http_{status}")
        raise PermanentProviderError(f"{self.name}: answered {status}", cause=f"http_{status}")

    def malformed(self) -> PermanentProviderError:
        """Return the error for a 2xx answer that is not the documented shape."""
        # A 2xx we cannot read may mean the call was placed: never retried.
        return PermanentProviderError(
            f"{self.name}: answer is not the documented shape", cause="malformed_answer"
        )

    def json(self, response: requests.Response) -> Any:
        # A 2xx answer we cannot read may still mean the call was placed: retrying could
        # ring the visitor twice, so this is permanent.
        try:
            return response.json()
        except ValueError:
            raise PermanentProviderError(
                f"{self.name}: answer is not JSON", cause="malformed_answer"
            ) from None


def _never_connected(exc: requests.ConnectionError) -> bool:
    """Say whether a connection error came before any byte of the request was sent."""
    reason = exc.args[0] if exc.args else None
    # urllib3 wraps a failed connect as MaxRetryError(reason=NewConnectionError); a reset
    # or a broken answer after sending is a ProtocolError instead.
    inner = getattr(reason, "reason", reason)
    return isinstance(inner, NewConnectionError | ConnectTimeoutError)
