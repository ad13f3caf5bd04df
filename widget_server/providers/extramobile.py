"""ExtraMobile click2call: ExtraMobile rings the agent's phone, then dials the visitor.

API: ``GET {base_url}/api/v1/click2call/?caller_id=…&physical=…&destination=…`` with
``Authorization: Bearer <token>``. Every number is sent in E.164 with its "+" (encoded as
%2B in the query string); ``physical`` is the agent leg (CallRequest.agent), ``destination``
the visitor. The answer's ``call_id`` becomes the provider call id and ``numbers.dialer``
(the number the agent's phone shows) is kept in the details.

Settings:
    token            required; the account's API bearer token
    caller_id        E.164 number the visitor sees (a verified id on the account). Optional
                     when every call carries CallRequest.caller_id_number, which wins.
    base_url         default https://www.exm.co.il
    connect_timeout, read_timeout   seconds, at most 60

The agent must be a phone number (E.164); check it with ``validate_agent`` when a widget is
saved. The click2call API documents no cancel, events, scheduling or recording.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from ..statuses import Status
from .base import CallRequest, OriginateResult, PermanentProviderError, ProviderConfigError
from .http import HTTPProvider

PATH = "/api/v1/click2call/"
SETTINGS = ("token", "caller_id", "base_url", "connect_timeout", "read_timeout")
# RFC 6750 b64token: no space, comma or line break that could end or extend the header.
TOKEN_RE = re.compile(r"[A-Za-z0-9\-._~+/]{1,4096}=*")
# What a typed phone number may contain before it is re-formatted from the parsed number.
PHONE_INPUT_RE = re.compile(r"\+[0-9 ().-]{6,30}")


class ExtraMobileProvider(HTTPProvider):
    name = "extramobile"
    default_base_url = "https://www.exm.co.il"

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        values = dict(settings)
        errors = _http_errors(values, SETTINGS)
        token = values.get("token")
        if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
            errors["token"] = "required: the API token (letters, digits and -._~+/=)"
        if values.get("caller_id") is not None:
            try:
                values["caller_id"] = e164(values["caller_id"])
            except ValueError as exc:
                errors["caller_id"] = str(exc)
        if errors:
            raise ProviderConfigError(errors)
        return values

    @classmethod
    def validate_agent(cls, agent: object, settings: Mapping[str, Any] | None = None) -> str:
        """Return the agent's number in E.164; raise ProviderConfigError when it is not one."""
        try:
            return e164(agent)
        except ValueError as exc:
            raise ProviderConfigError({"agent": str(exc)}) from None

    def originate(self, call: CallRequest) -> OriginateResult:
        # Everything is checked before the request: a refusal must not leave a half-placed call.
        params = {
            "caller_id": self._caller_id(call),
            "physical": self.validate_agent(call.agent),
            "destination": visitor_e164(call),
        }
        response = self.request(
            "GET",
            PATH,
            params=params,
            headers={"Authorization": f"Bearer {self.settings['token']}"},
        )
        body = self.json(response)
        if not isinstance(body, dict):
            raise self._malformed()
        if body.get("success") is False:
            message = _printable(body.get("message") or body.get("error"))
            raise PermanentProviderError(
                f"{self.name}: call refused{f' ({message})' if message else ''}", cause="rejected"
            )
        call_id = body.get("call_id")
        if (
            body.get("success") is not True
            or not isinstance(call_id, str | int)
            or isinstance(call_id, bool)
            or not (0 < len(str(call_id)) <= 255)
        ):
            raise self._malformed()
        numbers = body.get("numbers")
        dialer = numbers.get("dialer") if isinstance(numbers, dict) else None
        details = {"dialer": dialer} if isinstance(dialer, str) else {}
        return OriginateResult(
            provider_call_id=str(call_id), status=Status.DIALING, details=details
        )

    def _caller_id(self, call: CallRequest) -> str:
        if call.caller_id_number:
            try:
                return e164(call.caller_id_number)
            except ValueError as exc:
                raise ProviderConfigError({"caller_id_number": str(exc)}) from None
        if self.settings.get("caller_id"):
            return str(self.settings["caller_id"])
        raise ProviderConfigError({"caller_id": "required when the widget has no caller id number"})

    def _malformed(self) -> PermanentProviderError:
        # A 2xx we cannot read may mean the call was placed: never retried.
        return PermanentProviderError(
            f"{self.name}: answer is not the documented shape", cause="malformed_answer"
        )


def e164(value: object) -> str:
    """Return a valid phone number re-formatted in E.164; raise ValueError saying why not."""
    message = "must be a valid phone number in E.164 form, e.g. +972778038038"
    if not isinstance(value, str) or not PHONE_INPUT_RE.fullmatch(value):
        raise ValueError(message)
    try:
        number = phonenumbers.parse(value, None)
    except NumberParseException:
        raise ValueError(message) from None
    if number.extension or not phonenumbers.is_valid_number(number):
        raise ValueError(message)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def visitor_e164(call: CallRequest) -> str:
    """Return the visitor's E.164 number, regenerated from the parsed number."""
    try:
        formatted = phonenumbers.format_number(call.visitor, PhoneNumberFormat.E164)
    except NumberParseException:
        formatted = None
    # Anything the parser skipped (spaces, junk after the digits) means it was never E.164.
    if formatted != call.visitor_e164:
        raise PermanentProviderError("visitor number is not in E.164 form", cause="number_format")
    return formatted


def _printable(value: object, limit: int = 120) -> str:
    return "".join(ch for ch in str(value)[:limit] if ch.isprintable()) if value else ""


def _http_errors(values: Mapping[str, Any], known: tuple[str, ...]) -> dict[str, str]:
    """Check the settings every HTTP adapter shares, and name unknown ones."""
    errors = {key: "unknown setting" for key in sorted(set(values) - set(known))}
    if values.get("base_url") is not None and not _is_base_url(values["base_url"]):
        errors["base_url"] = "must be an http(s) URL with a host and no query or credentials"
    for key in ("connect_timeout", "read_timeout"):
        value = values.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 60
        ):
            errors[key] = "must be a number of seconds above 0, at most 60"
    return errors


def _is_base_url(value: object) -> bool:
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
