"""Kazoo (2600Hz) click-to-call: Kazoo rings the clicktocall's extension, then the visitor.

API (Crossbar, ``X-Auth-Token`` header, JSON envelopes ``{"data": …}``):
    PUT  /{ver}/accounts/{account_id}/clicktocall                  create a clicktocall
    POST /{ver}/accounts/{account_id}/clicktocall/{id}             replace its properties
    POST /{ver}/accounts/{account_id}/clicktocall/{id}/connect     {"data": {"contact": "+…"}}
    GET  /{ver}/accounts/{account_id}/clicktocall/{id}/history     past activations
The visitor is sent as ``contact`` in E.164 with its "+", so a clicktocall whitelist must
match that form. The provider call id is ``data.call_id`` of the connect answer, else the
envelope's ``request_id``.

Settings:
    base_url        required; the Crossbar API, e.g. https://kazoo.example.com:8000
                    (Kazoo is self-hosted or per-reseller: there is no public default)
    api_version     "v2" (default) or "v1"
    account_id      required; the 32-hex-digit account id
    auth_token      required; sent as X-Auth-Token
    clicktocall_id  the clicktocall to connect through; store the id sync_clicktocall returns
    clicktocall     the clicktocall's properties (name, extension, realm, auth_required,
                    whitelist, throttle, caller_id_number, outbound_callee_id_name,
                    outbound_callee_id_number), used to create one when there is no
                    clicktocall_id. ``extension`` defaults to the call's agent, the caller id
                    properties to the call's caller id fields, ``name`` to "widget-server".
    connect_timeout, read_timeout   seconds, at most 60
Names (the clicktocall name is shown to the agent as the caller id name) take letters,
digits, spaces and . ' - _ only, since they reach SIP signalling.
One of clicktocall_id and clicktocall is required. Without an id, originate creates a
clicktocall and reports its id in the result details ("clicktocall_id"): save it into the
settings (or call sync_clicktocall when the widget is saved) so each call does not create one.
The clicktocall API documents no cancel, events, scheduling or recording.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

import requests

from ..phone_policy import whitelist_errors
from ..statuses import Status
from .base import CallRequest, OriginateResult, ProviderConfigError, ProviderError
from .checks import printable
from .http import HTTPProvider, setting_errors
from .numbers import visitor_e164

SETTINGS = (
    "base_url",
    "api_version",
    "account_id",
    "auth_token",
    "clicktocall_id",
    "clicktocall",
    "connect_timeout",
    "read_timeout",
)
PROPERTIES = (
    "name",
    "extension",
    "realm",
    "auth_required",
    "whitelist",
    "throttle",
    "caller_id_number",
    "outbound_callee_id_name",
    "outbound_callee_id_number",
)
DEFAULT_NAME = "widget-server"
ACCOUNT_ID_RE = re.compile(r"[0-9a-f]{32}")
# Ids go into URL paths: nothing that could end a path segment or start a query.
ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
TOKEN_RE = re.compile(r"[A-Za-z0-9\-._~+/]{1,4096}=*")
# "SIP URI or DID or Internal Extension"; no characters with meaning in a dial string.
EXTENSION_RE = re.compile(
    r"\+?[0-9]{2,15}|[A-Za-z0-9_.-]{1,64}"
    r"|sip:[A-Za-z0-9_.+-]{1,64}@[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?"
)
FQDN_RE = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
CALLER_NUMBER_RE = re.compile(r"\+?[0-9]{1,15}")
# Caller id names, and the clicktocall name that Kazoo presents as one, end up in SIP headers
# and FreeSWITCH variables, where , ; & " < > $ { } and line breaks have meaning: only
# letters, digits, spaces and . ' - _ are let through.
CALLER_NAME_RE = re.compile(r"[^\W_]([\w .'-]{0,38}[\w.'])?")
NAME_RE = re.compile(r"[^\W_]([\w .'-]{0,126}[\w.'])?")
# property -> (the pattern its string value must match, what to say when it does not)
TEXT_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "name": (NAME_RE, "must be up to 128 letters, digits, spaces and . ' - _"),
    "extension": (EXTENSION_RE, "must be a SIP URI (sip:user@host), a number or an extension"),
    "caller_id_number": (CALLER_NUMBER_RE, "must be digits, optionally after a +"),
    "outbound_callee_id_number": (CALLER_NUMBER_RE, "must be digits, optionally after a +"),
    "outbound_callee_id_name": (
        CALLER_NAME_RE,
        "must be up to 40 letters, digits, spaces and . ' - _",
    ),
}


class KazooProvider(HTTPProvider):
    name = "kazoo"
    default_base_url = ""  # required setting: every Kazoo cluster has its own address

    def __init__(self, settings: Mapping[str, Any], session: requests.Session | None = None):
        super().__init__(settings, session)
        self.clicktocall_id: str | None = self.settings.get("clicktocall_id")

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {"api_version": "v2", **settings}
        errors = setting_errors(values, SETTINGS)
        if values.get("base_url") is None:
            errors["base_url"] = "required: the Kazoo API address, e.g. https://kazoo:8000"
        if values["api_version"] not in ("v1", "v2"):
            errors["api_version"] = 'must be "v1" or "v2"'
        if not isinstance(values.get("account_id"), str) or not ACCOUNT_ID_RE.fullmatch(
            values["account_id"]
        ):
            errors["account_id"] = "required: 32 lowercase hexadecimal digits"
        token = values.get("auth_token")
        if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
            errors["auth_token"] = "required: the API token (letters, digits and -._~+/=)"
        c2c_id = values.get("clicktocall_id")
        if c2c_id is not None and (not isinstance(c2c_id, str) or not ID_RE.fullmatch(c2c_id)):
            errors["clicktocall_id"] = "must be a clicktocall id (letters, digits, - and _)"
        if values.get("clicktocall") is not None:
            try:
                values["clicktocall"] = clicktocall_data(
                    values["clicktocall"], prefix="clicktocall.", require_extension=False
                )
            except ProviderConfigError as exc:
                errors.update(exc.fields)
        elif c2c_id is None:
            errors["clicktocall_id"] = "required unless clicktocall properties are given"
        if errors:
            raise ProviderConfigError(errors)
        return values

    @classmethod
    def validate_agent(cls, agent: object, settings: Mapping[str, Any] | None = None) -> str:
        """Return the agent as a clicktocall extension; raise ProviderConfigError if unusable."""
        if not isinstance(agent, str) or not EXTENSION_RE.fullmatch(agent):
            raise ProviderConfigError({"agent": "must be a SIP URI, a number or an extension"})
        return agent

    def sync_clicktocall(self, widget_properties: Mapping[str, Any]) -> str:
        """Create (PUT) or update (POST) this widget's clicktocall; return its id to store."""
        data = clicktocall_data(widget_properties)
        if self.clicktocall_id:
            body = self._send("POST", self._path(self.clicktocall_id), {"data": data})
            returned = body["data"].get("id") if isinstance(body["data"], dict) else None
            self.clicktocall_id = self._checked_id(returned or self.clicktocall_id)
        else:
            body = self._send("PUT", self._path(), {"data": data})
            returned = body["data"].get("id") if isinstance(body["data"], dict) else None
            self.clicktocall_id = self._checked_id(returned)
        return self.clicktocall_id

    def history(self, clicktocall_id: str) -> list[Any]:
        """Return the clicktocall's past activations (contact, timestamp, call_id, cdr_id)."""
        if not isinstance(clicktocall_id, str) or not ID_RE.fullmatch(clicktocall_id):
            raise ProviderConfigError({"clicktocall_id": "letters, digits, - and _ only"})
        body = self._send("GET", self._path(clicktocall_id, "history"))
        if not isinstance(body["data"], list):
            raise self.malformed()
        return body["data"]

    def originate(self, call: CallRequest) -> OriginateResult:
        contact = visitor_e164(call)
        c2c_id = self.clicktocall_id or self.sync_clicktocall(self._properties_for(call))
        body = self._send("POST", self._path(c2c_id, "connect"), {"data": {"contact": contact}})
        data = body["data"]
        call_id = data.get("call_id") if isinstance(data, dict) else None
        provider_call_id = _call_id(call_id) or _call_id(body.get("request_id"))
        if provider_call_id is None:
            raise self.malformed()
        details = {"clicktocall_id": c2c_id}
        if _call_id(body.get("request_id")):
            details["request_id"] = str(body["request_id"])
        return OriginateResult(
            provider_call_id=provider_call_id, status=Status.DIALING, details=details
        )

    def raise_for_status(self, response: requests.Response) -> None:
        try:
            super().raise_for_status(response)
        except ProviderError as exc:
            # Kazoo's envelope says why ("invalid credentials", "validation error").
            message = _kazoo_message(response)
            if message:
                raise type(exc)(f"{exc} ({message})", cause=exc.cause) from None
            raise

    def _properties_for(self, call: CallRequest) -> dict[str, Any]:
        properties = {
            "name": DEFAULT_NAME,
            "extension": self.validate_agent(call.agent),
            "caller_id_number": call.caller_id_number or None,
            "outbound_callee_id_name": call.callee_id_name or None,
            "outbound_callee_id_number": call.callee_id_number or None,
        }
        properties.update(self.settings.get("clicktocall") or {})
        return {key: value for key, value in properties.items() if value is not None}

    def _checked_id(self, value: object) -> str:
        # An id Kazoo returns is used in later paths: anything else is an unreadable answer.
        if not isinstance(value, str) or not ID_RE.fullmatch(value):
            raise self.malformed()
        return value

    def _path(self, *parts: str) -> str:
        account = self.settings["account_id"]
        return "/".join((f"/{self.settings['api_version']}/accounts/{account}/clicktocall", *parts))

    def _send(self, method: str, path: str, payload: Any = None) -> dict[str, Any]:
        headers = {"X-Auth-Token": self.settings["auth_token"]}
        response = self.request(method, path, json=payload, headers=headers)
        body = self.json(response)
        if not isinstance(body, dict) or body.get("status") != "success" or "data" not in body:
            raise self.malformed()
        return body


def clicktocall_data(
    properties: object, *, prefix: str = "", require_extension: bool = True
) -> dict[str, Any]:
    """Return clicktocall properties checked and with defaults; raise ProviderConfigError."""
    if not isinstance(properties, Mapping):
        raise ProviderConfigError({prefix.rstrip(".") or "clicktocall": "must be an object"})
    data: dict[str, Any] = {
        "name": DEFAULT_NAME,
        "auth_required": True,
        "whitelist": [],
        "throttle": 0,
    }
    data.update(properties)
    errors = {f"{prefix}{key}": "unknown property" for key in data if key not in PROPERTIES}
    for key, value in data.items():
        reason = _property_error(key, value)
        if reason and key in PROPERTIES:
            errors[f"{prefix}{key}"] = reason
    if require_extension and "extension" not in data:
        errors[f"{prefix}extension"] = "required: the SIP URI, number or extension to ring"
    if errors:
        raise ProviderConfigError(errors)
    return data


def _property_error(key: str, value: Any) -> str | None:
    if key in TEXT_RULES:
        pattern, message = TEXT_RULES[key]
        return None if isinstance(value, str) and pattern.fullmatch(value) else message
    if key == "realm":
        ok = isinstance(value, str) and bool(FQDN_RE.fullmatch(value) or _is_ip(value))
        return None if ok else "must be a domain name or an IP address"
    if key == "auth_required":
        return None if isinstance(value, bool) else "must be true or false"
    if key == "whitelist":
        problems = whitelist_errors(value)
        return "; ".join(problems) if problems else None
    if key == "throttle":
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10000
        return None if ok else "must be a whole number from 0 (no limit) to 10000"
    return None


def _call_id(value: object) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= 255 and value.isprintable():
        return value
    return None


def _kazoo_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    return printable(message) if isinstance(message, str) else ""


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
