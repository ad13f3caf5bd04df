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

from ..core.reasons import Reason
from ..core.statuses import Status
from .base import CallRequest, OriginateResult, PermanentProviderError, ProviderConfigError
from .checks import printable
from .http import HTTPProvider, setting_errors
from .numbers import e164_field, e164_setting, visitor_e164
from .setting_fields import N_, SettingField, base_url, names, timeouts

PATH = "/api/v1/click2call/"
SETTING_FIELDS = (
    SettingField(
        "token",
        N_("API token"),
        N_("The account's API bearer token, sent as Authorization: Bearer."),
        secret=True,
        required=True,
    ),
    SettingField(
        "caller_id",
        N_("Caller id"),
        N_("E.164 number the visitor sees, verified on the account, e.g. +972778038038."),
    ),
    base_url(
        "https://www.exm.co.il",
        N_("Default https://www.exm.co.il. Calls go to <base URL>/api/v1/click2call/."),
    ),
    *timeouts(),
)
SETTINGS = names(SETTING_FIELDS)
# RFC 6750 b64token: no space, comma or line break that could end or extend the header.
TOKEN_RE = re.compile(r"[A-Za-z0-9\-._~+/]{1,4096}=*")
EXAMPLE_NUMBER = "+972778038038"


class ExtraMobileProvider(HTTPProvider):
    name = "extramobile"
    default_base_url = "https://www.exm.co.il"
    setting_fields = SETTING_FIELDS

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        values = dict(settings)
        errors = setting_errors(values, SETTINGS)
        token = values.get("token")
        if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
            errors["token"] = Reason("required: the API token (letters, digits and -._~+/=)")
        e164_setting(values, "caller_id", errors, EXAMPLE_NUMBER)
        if errors:
            raise ProviderConfigError(errors)
        return values

    @classmethod
    def validate_agent(cls, agent: object, settings: Mapping[str, Any] | None = None) -> str:
        """Return the agent's number in E.164; raise ProviderConfigError when it is not one."""
        return e164_field(agent, "agent", EXAMPLE_NUMBER)

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
            raise self.malformed()
        if body.get("success") is False:
            message = printable(body.get("message") or body.get("error"))
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
            raise self.malformed()
        numbers = body.get("numbers")
        dialer = numbers.get("dialer") if isinstance(numbers, dict) else None
        details = {"dialer": dialer} if isinstance(dialer, str) else {}
        return OriginateResult(
            provider_call_id=str(call_id), status=Status.DIALING, details=details
        )

    def _caller_id(self, call: CallRequest) -> str:
        if call.caller_id_number:
            return e164_field(call.caller_id_number, "caller_id_number", EXAMPLE_NUMBER)
        if self.settings.get("caller_id"):
            return str(self.settings["caller_id"])
        raise ProviderConfigError(
            {"caller_id": Reason("required when the widget has no caller id number")}
        )
