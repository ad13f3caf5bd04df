"""Settings checks, allow-lists and text encoding of the socket PBX adapters.

Asterisk (AMI) and FreeSWITCH (event socket) both take one line-based command per
attempt over a short TCP session (socket_base): every value is either matched against an
allow-list or percent-encoded, so no separator of the PBX's parsers can reach it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ..core.reasons import Reason
from .base import PermanentProviderError
from .checks import ONE_OF, TIMEOUT_SETTINGS, timeout_errors, unsafe_text
from .numbers import E164_RE

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
MAX_TIMEOUT = 120
VISITOR_FORMATS = ("e164", "digits", "00")
# Asterisk drops manager lines over 1024 bytes; encoded values stay well below that.
MAX_VALUE = 400
MAX_EXTRA = 20
MAX_LINE = 8192
# The settings socket_settings fills in; each adapter adds its own to these.
SOCKET_SETTINGS = frozenset({"host", "port", "visitor_format", *TIMEOUT_SETTINGS})

ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,100}")
NUMBER_RE = re.compile(r"\+?[0-9*#]{1,32}")
HOST_RE = re.compile(r"[A-Za-z0-9.:\[\]-]{1,253}")
# An Asterisk channel or FreeSWITCH endpoint template, checked with its placeholder replaced.
ENDPOINT_RE = re.compile(r"[A-Za-z0-9_.+*#@:=-]+/[A-Za-z0-9_./+*#@:=-]*")


def encode_value(value: str, limit: int = MAX_VALUE) -> str:
    """Percent-encode free text so no separator of a PBX's parsers survives it."""
    out: list[str] = []
    size = 0
    for ch in value:
        piece = quote(ch, safe="")
        if size + len(piece) > limit:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


def visitor_number(e164: str, visitor_format: str) -> str:
    """Format the visitor's E.164 number the way the PBX dials it."""
    if not isinstance(e164, str) or not E164_RE.fullmatch(e164):
        raise PermanentProviderError("visitor number is not E.164", cause="invalid_number")
    digits = e164[1:]
    return {"e164": e164, "digits": digits, "00": "00" + digits}[visitor_format]


def socket_settings(settings: Mapping[str, Any], port: int) -> dict[str, Any]:
    """Return `settings` over the defaults every socket PBX adapter shares."""
    values: dict[str, Any] = {
        "port": port,
        "visitor_format": "e164",
        "connect_timeout": CONNECT_TIMEOUT,
        "read_timeout": READ_TIMEOUT,
    }
    values.update(settings)
    return values


def socket_errors(values: Mapping[str, Any]) -> dict[str, str]:
    """Check the port, visitor_format and timeouts that socket_settings filled in."""
    errors: dict[str, str] = {}
    port = values["port"]
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        errors["port"] = Reason("must be a TCP port number")
    if values["visitor_format"] not in VISITOR_FORMATS:
        errors["visitor_format"] = Reason(ONE_OF, choices=", ".join(VISITOR_FORMATS))
    errors.update(timeout_errors(values, dict.fromkeys(TIMEOUT_SETTINGS, MAX_TIMEOUT)))
    return errors


def check_text(
    errors: dict[str, str],
    values: Mapping[str, Any],
    key: str,
    pattern: re.Pattern[str] | None,
    message: Reason,
    *,
    placeholder: str | None = None,
) -> None:
    """Note in `errors` when setting `key` is not one safe line matching `pattern`.

    With `placeholder` the setting is a template that must hold it; the pattern is then
    matched with the placeholder replaced by "0".
    """
    value = values.get(key)
    if (
        not isinstance(value, str)
        or not value
        or len(value) > 255
        or (placeholder is not None and placeholder not in value)
    ):
        errors[key] = message
    elif unsafe_text(value):
        errors[key] = Reason("must not contain control characters or line breaks")
    elif pattern is not None:
        filled = value if placeholder is None else value.replace(placeholder, "0")
        if not pattern.fullmatch(filled):
            errors[key] = message


def checked(provider: str, value: object, pattern: re.Pattern[str], what: str) -> str:
    """Return `value` when `pattern` allows it; refuse the attempt otherwise."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise PermanentProviderError(f"{provider}: unusable {what}", cause="invalid_parameter")
    return value


def ring_timeout(provider: str, timeout: object) -> int:
    """Return the agent leg's ring time in seconds (1-600); refuse the attempt otherwise."""
    if isinstance(timeout, bool) or not isinstance(timeout, int) or not 0 < timeout <= 600:
        raise PermanentProviderError(f"{provider}: bad ring timeout", cause="invalid_parameter")
    return timeout
