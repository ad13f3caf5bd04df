"""TeleCMI click2call: TeleCMI rings the TeleCMI user (the agent) first, then the visitor.

API: ``POST {base_url}/v2/webrtc/click2call`` with a JSON body ``{"user_id", "secret", "to",
"extra_params", "webrtc", "followme"}``. ``to`` is a JSON number: the visitor's E.164 digits
without "+" (+919100000000 -> 919100000000). The answer's ``request_id`` becomes the provider
call id. TeleCMI answers 400 when user_id or secret is missing and 404 when they are wrong;
both are configuration errors and never retried.

The agent leg is the TeleCMI user named by ``user_id`` (its softphone, or its mobile with
``followme``), so CallRequest.agent is not sent. ``extra_params`` carries the callback id,
the page URL and the callback's extra metadata, JSON-encoded.

Settings:
    user_id, secret   required; the TeleCMI user id and app secret
    webrtc            default true; ring the user's softphone
    followme          default false; ring the user's mobile instead (forces webrtc false)
    base_url          default https://rest.telecmi.com
    connect_timeout, read_timeout   seconds, at most 60

The click2call API documents no cancel, events, scheduling or recording.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NoReturn
from urllib.parse import urlsplit

import phonenumbers
import requests
from phonenumbers import NumberParseException, PhoneNumberFormat

from ..statuses import Status
from .base import (
    CallRequest,
    OriginateResult,
    PermanentProviderError,
    ProviderConfigError,
    RetryableProviderError,
)
from .http import HTTPProvider

PATH = "/v2/webrtc/click2call"
SETTINGS = (
    "user_id",
    "secret",
    "webrtc",
    "followme",
    "base_url",
    "connect_timeout",
    "read_timeout",
)
CREDENTIAL_RE = re.compile(r"[\x21-\x7e]{1,256}")  # printable ASCII, no space
# TeleCMI's documented refusals (400, 404) and the usual credential ones; the answer's
# `code` uses the same numbers as the HTTP status.
REFUSALS = {
    400: ("user_id or secret missing", "config_missing_params"),
    401: ("credentials refused", "auth_failed"),
    403: ("credentials refused", "auth_failed"),
    404: ("invalid user_id or secret", "auth_failed"),
}


class TeleCMIProvider(HTTPProvider):
    name = "telecmi"
    default_base_url = "https://rest.telecmi.com"

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {"webrtc": True, "followme": False, **settings}
        errors = _http_errors(values, SETTINGS)
        for key in ("user_id", "secret"):
            if not isinstance(values.get(key), str) or not CREDENTIAL_RE.fullmatch(values[key]):
                errors[key] = "required: printable text without spaces"
        for key in ("webrtc", "followme"):
            if not isinstance(values[key], bool):
                errors[key] = "must be true or false"
        if errors:
            raise ProviderConfigError(errors)
        if values["followme"]:
            values["webrtc"] = False  # TeleCMI rings the mobile only with the softphone off
        return values

    def originate(self, call: CallRequest) -> OriginateResult:
        body = {
            "user_id": self.settings["user_id"],
            "secret": self.settings["secret"],
            "to": visitor_number(call),
            "extra_params": extra_params(call),
            "webrtc": self.settings["webrtc"],
            "followme": self.settings["followme"],
        }
        answer = self.json(self.request("POST", PATH, json=body))
        if not isinstance(answer, dict):
            raise self._malformed()
        code = answer.get("code")
        if isinstance(code, int) and not isinstance(code, bool) and code != 200:
            # A refusal in the answer's `code` counts even when the HTTP status is 2xx.
            self._refuse(code, answer.get("msg"))
        request_id = answer.get("request_id")
        if not isinstance(request_id, str) or not 0 < len(request_id) <= 255:
            raise self._malformed()
        msg = answer.get("msg")
        return OriginateResult(
            provider_call_id=request_id,
            status=Status.DIALING,
            details={"msg": msg} if isinstance(msg, str) else {},
        )

    def raise_for_status(self, response: requests.Response) -> None:
        if response.status_code in REFUSALS:
            try:
                msg = response.json().get("msg")
            except (ValueError, AttributeError):
                msg = None
            self._refuse(response.status_code, msg)
        super().raise_for_status(response)

    def _refuse(self, code: int, msg: object) -> NoReturn:
        what, cause = REFUSALS.get(code, (f"refused with code {code}", f"http_{code}"))
        text = "".join(ch for ch in str(msg)[:120] if ch.isprintable()) if msg else ""
        message = f"{self.name}: {what}{f' ({text})' if text else ''}"
        if code == 429 or code >= 500:
            raise RetryableProviderError(message, cause=cause)
        raise PermanentProviderError(message, cause=cause)

    def _malformed(self) -> PermanentProviderError:
        # A 2xx we cannot read may mean the call was placed: never retried.
        return PermanentProviderError(
            f"{self.name}: answer is not the documented shape", cause="malformed_answer"
        )


def visitor_number(call: CallRequest) -> int:
    """Return the visitor's E.164 digits without "+" as an integer, as TeleCMI's `to` wants."""
    try:
        formatted = phonenumbers.format_number(call.visitor, PhoneNumberFormat.E164)
    except NumberParseException:
        formatted = None
    # Anything the parser skipped (spaces, junk after the digits) means it was never E.164.
    if formatted is None or formatted != call.visitor_e164:
        raise PermanentProviderError("visitor number is not in E.164 form", cause="number_format")
    return int(formatted[1:])


def extra_params(call: CallRequest) -> dict[str, str]:
    """Return TeleCMI's `extra_params`: the callback's metadata, then our own ids on top."""
    params = {str(key): str(value) for key, value in call.extra.items()}
    params["callback_id"] = call.callback_id
    if call.page_url:
        params["page_url"] = call.page_url
    return params


def _http_errors(values: Mapping[str, Any], known: tuple[str, ...]) -> dict[str, str]:
    errors = {key: "unknown setting" for key in sorted(set(values) - set(known))}
    base_url = values.get("base_url")
    if base_url is not None and not _is_base_url(base_url):
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
