"""A PBX's click2dial REST API: the PBX rings the agent, then dials the callee (the visitor).

API: ``POST {base_url}/click2dial/calls`` with a JSON body of strings
``{"agent", "callee", "outbound_id", "contact_ref"}`` (``call_ref`` instead of
``contact_ref`` before v3.0.0). The document gives no answer body: any 2xx is accepted, a
JSON ``call_id``/``id`` in it is kept as the provider call id, otherwise the contact_ref.

Numbers, in the forms the document lists:
    callee       South African numbers as 27 + 9 digits (recommended) or, with
                 callee_format "national", 0 + 9 digits; other countries as 00 + the E.164
                 digits, 13-16 digits in all. Anything else is refused ("number_format").
    agent        a 3-4 digit extension, or a number in a callee form (an E.164 agent is
                 converted to one); check it with ``validate_agent`` when a widget is saved.
    outbound_id  "random" (needs PBX configuration), 0 + 9 digits, or 27 + 9 digits.
    contact_ref  the callback id and attempt ("<callback_id>-<attempt>") keeping only
                 letters, digits and . - _ ~, at most 230 characters.

Settings:
    base_url       required; e.g. http://pbx.example.com:8300
    outbound_id    required; the caller id the visitor sees, in a form above
    api_version    "v3" (default, sends contact_ref) or "v2" (sends call_ref)
    callee_format  "international" (default) or "national", for South African numbers
    connect_timeout, read_timeout   seconds, at most 60
The API documents no authentication: expose the PBX port to this server only. It documents
no cancel, events, scheduling or recording.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat

from ..core.reasons import Reason
from ..core.statuses import Status
from .base import CallRequest, OriginateResult, PermanentProviderError, ProviderConfigError
from .http import HTTPProvider, setting_errors
from .numbers import E164_RE
from .setting_fields import N_, Kind, SettingField, base_url, names, timeouts

PATH = "/click2dial/calls"
SETTING_FIELDS = (
    base_url(
        "",
        N_(
            "Required: the PBX's address, e.g. http://pbx.example.com:8300. Calls go to "
            "<base URL>/click2dial/calls. The API has no authentication: open the port to "
            "this server only."
        ),
    ),
    SettingField(
        "outbound_id",
        N_("Outbound id"),
        N_("The caller id the visitor sees: random, 0 + 9 digits or 27 + 9 digits."),
        required=True,
    ),
    SettingField(
        "api_version",
        N_("API version"),
        N_("v3 sends contact_ref; v2 (before 3.0.0) sends call_ref."),
        Kind.CHOICE,
        default="v3",
        choices=("v3", "v2"),
    ),
    SettingField(
        "callee_format",
        N_("Callee format"),
        N_("How South African numbers are sent: 27 + 9 digits, or national 0 + 9 digits."),
        Kind.CHOICE,
        default="international",
        choices=("international", "national"),
    ),
    *timeouts(),
)
SETTINGS = names(SETTING_FIELDS)
EXTENSION_RE = re.compile(r"[0-9]{3,4}")
CALLEE_RE = re.compile(r"0[0-9]{9}|27[0-9]{9}|00[0-9]{11,14}")
OUTBOUND_ID_RE = re.compile(r"random|0[0-9]{9}|27[0-9]{9}")
REF_UNSAFE_RE = re.compile(r"[^A-Za-z0-9._~-]")
MAX_REF = 230
ZA = 27
AGENT_ERROR = Reason(
    "must be a 3-4 digit extension or a number such as 0820001234, 27820001234, "
    "0027820001234 or +27820001234"
)


class Click2DialProvider(HTTPProvider):
    name = "click2dial"
    default_base_url = ""  # required setting: the PBX's own address
    setting_fields = SETTING_FIELDS

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {"api_version": "v3", "callee_format": "international", **settings}
        errors = setting_errors(values, SETTINGS)
        if values.get("base_url") is None:
            errors["base_url"] = Reason(
                "required: the PBX address, e.g. http://pbx.example.com:8300"
            )
        outbound_id = values.get("outbound_id")
        if not isinstance(outbound_id, str) or not OUTBOUND_ID_RE.fullmatch(outbound_id):
            errors["outbound_id"] = Reason(
                'required: "random", 0 and 9 digits, or 27 and 9 digits (recommended)'
            )
        if values["api_version"] not in ("v3", "v2"):
            errors["api_version"] = Reason('must be "v3" (contact_ref) or "v2" (call_ref)')
        if values["callee_format"] not in ("international", "national"):
            errors["callee_format"] = Reason('must be "international" (27…) or "national" (0…)')
        if errors:
            raise ProviderConfigError(errors)
        return values

    @classmethod
    def validate_agent(cls, agent: object, settings: Mapping[str, Any] | None = None) -> str:
        """Return the agent in a documented form; raise ProviderConfigError when it has none."""
        if isinstance(agent, str) and (EXTENSION_RE.fullmatch(agent) or CALLEE_RE.fullmatch(agent)):
            return agent
        if isinstance(agent, str) and E164_RE.fullmatch(agent):
            national = (settings or {}).get("callee_format") == "national"
            try:
                return format_callee(phonenumbers.parse(agent, None), national=national)
            except (NumberParseException, ValueError):
                pass
        raise ProviderConfigError({"agent": AGENT_ERROR})

    def originate(self, call: CallRequest) -> OriginateResult:
        # Everything is checked before the request: a refusal must not leave a half-placed call.
        national = self.settings["callee_format"] == "national"
        ref = contact_ref(call)
        ref_key = "contact_ref" if self.settings["api_version"] == "v3" else "call_ref"
        payload = {
            "agent": self.validate_agent(call.agent, self.settings),
            "callee": callee(call, national=national),
            "outbound_id": self.settings["outbound_id"],
            ref_key: ref,
        }
        response = self.request("POST", PATH, json=payload)
        provider_call_id = ref
        if response.content.strip():
            body = self.json(response)
            if isinstance(body, dict):
                if body.get("success") is False or body.get("error"):
                    raise PermanentProviderError(f"{self.name}: call refused", cause="rejected")
                provider_call_id = _answer_id(body) or ref
        return OriginateResult(
            provider_call_id=provider_call_id, status=Status.DIALING, details={"contact_ref": ref}
        )


def format_callee(number: PhoneNumber, *, national: bool = False) -> str:
    """Return a number in the API's callee form; raise ValueError when it has none."""
    if number.country_code == ZA:
        significant = phonenumbers.national_significant_number(number)
        if len(significant) != 9 or not significant.isdigit():
            raise ValueError("South African numbers have 9 digits after 27 or 0")
        return ("0" if national else "27") + significant
    formatted = "00" + phonenumbers.format_number(number, PhoneNumberFormat.E164)[1:]
    if not CALLEE_RE.fullmatch(formatted) or not 13 <= len(formatted) <= 16:
        raise ValueError("international numbers must have 13-16 digits with their 00")
    return formatted


def callee(call: CallRequest, *, national: bool = False) -> str:
    """Return the visitor's number in the API's callee form, or refuse it as number_format."""
    try:
        number = call.visitor
        if phonenumbers.format_number(number, PhoneNumberFormat.E164) != call.visitor_e164:
            raise ValueError("visitor number is not in E.164 form")
        return format_callee(number, national=national)
    except (NumberParseException, ValueError) as exc:
        raise PermanentProviderError(
            f"click2dial cannot dial this number: {exc}", cause="number_format"
        ) from None


def contact_ref(call: CallRequest) -> str:
    """Return "<callback_id>-<attempt>" with only the characters the API allows, ≤ 230."""
    suffix = f"-{call.attempt}"
    stem = REF_UNSAFE_RE.sub("", call.callback_id)[: MAX_REF - len(suffix)]
    return stem + suffix


def _answer_id(body: Mapping[str, Any]) -> str | None:
    for key in ("call_id", "id"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and 0 < len(value) <= 255 and value.isprintable():
            return value
    return None
