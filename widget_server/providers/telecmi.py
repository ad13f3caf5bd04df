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

import requests

from ..core.reasons import Reason
from ..core.statuses import Status
from .base import (
    CallRequest,
    OriginateResult,
    PermanentProviderError,
    ProviderConfigError,
    RetryableProviderError,
)
from .checks import printable
from .http import HTTPProvider, setting_errors
from .numbers import visitor_e164
from .setting_fields import N_, Kind, SettingField, base_url, names, timeouts

PATH = "/v2/webrtc/click2call"
SETTING_FIELDS = (
    SettingField(
        "user_id",
        N_("User id"),
        N_("The TeleCMI user rung first (the agent)."),
        required=True,
    ),
    SettingField(
        "secret", N_("App secret"), N_("The TeleCMI app secret."), secret=True, required=True
    ),
    SettingField(
        "webrtc",
        N_("Ring the softphone"),
        N_("Ring the user's softphone."),
        Kind.BOOLEAN,
        default=True,
    ),
    SettingField(
        "followme",
        N_("Ring the mobile"),
        N_("Ring the user's mobile instead of the softphone."),
        Kind.BOOLEAN,
        default=False,
    ),
    base_url(
        "https://rest.telecmi.com",
        N_("Default https://rest.telecmi.com. Calls go to <base URL>/v2/webrtc/click2call."),
    ),
    *timeouts(),
)
SETTINGS = names(SETTING_FIELDS)
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
    setting_fields = SETTING_FIELDS

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {"webrtc": True, "followme": False, **settings}
        errors = setting_errors(values, SETTINGS)
        for key in ("user_id", "secret"):
            if not isinstance(values.get(key), str) or not CREDENTIAL_RE.fullmatch(values[key]):
                errors[key] = Reason("required: printable text without spaces")
        for key in ("webrtc", "followme"):
            if not isinstance(values[key], bool):
                errors[key] = Reason("must be true or false")
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
            raise self.malformed()
        code = answer.get("code")
        if isinstance(code, int) and not isinstance(code, bool) and code != 200:
            # A refusal in the answer's `code` counts even when the HTTP status is 2xx.
            self._refuse(code, answer.get("msg"))
        request_id = answer.get("request_id")
        if not isinstance(request_id, str) or not 0 < len(request_id) <= 255:
            raise self.malformed()
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
        text = printable(msg)
        message = f"{self.name}: {what}{f' ({text})' if text else ''}"
        if code == 429 or code >= 500:
            raise RetryableProviderError(message, cause=cause)
        raise PermanentProviderError(message, cause=cause)


def visitor_number(call: CallRequest) -> int:
    """Return the visitor's E.164 digits without "+" as an integer, as TeleCMI's `to` wants."""
    return int(visitor_e164(call)[1:])


def extra_params(call: CallRequest) -> dict[str, str]:
    """Return TeleCMI's `extra_params`: the callback's metadata, then our own ids on top."""
    params = {str(key): str(value) for key, value in call.extra.items()}
    params["callback_id"] = call.callback_id
    if call.page_url:
        params["page_url"] = call.page_url
    return params
