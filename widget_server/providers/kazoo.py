"""Kazoo (2600Hz) click-to-call: Kazoo rings the clicktocall's extension, then the visitor.

API (Crossbar, ``X-Auth-Token`` header, JSON envelopes ``{"data": …}``):
    PUT  /{ver}/accounts/{account_id}/clicktocall                  create a clicktocall
    POST /{ver}/accounts/{account_id}/clicktocall/{id}             replace its properties
    POST /{ver}/accounts/{account_id}/clicktocall/{id}/connect     {"data": {"contact": "+…"}}
    GET  /{ver}/accounts/{account_id}/clicktocall/{id}/history     past activations
    GET  /{ver}/accounts/{account_id}/cdrs/{cdr_id}                one call leg's CDR
The visitor is sent as ``contact`` in E.164 with its "+", so a clicktocall whitelist must
match that form. The provider call id is ``data.call_id`` of the connect answer, else the
envelope's ``request_id``.

call_status finds the call in the clicktocall's history by its ``call_id``: an entry
without ``cdr_id`` is a call still going; with one, the CDR's ``billing_seconds`` and
``hangup_cause`` say how it ended. It needs ``clicktocall_id`` in the settings, and a call
id: connect takes no idempotency key, so an attempt whose answer was lost cannot be found.

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
One of clicktocall_id and clicktocall is required. Without an id, the dialer runs set_up()
before the widget's first call: it creates the clicktocall once and stores its id in the
widget's settings, so every later call connects through it (and can be looked up in its
history). Called directly without an id, originate creates one and reports its id in the
result details ("clicktocall_id").
The clicktocall API documents no cancel, events, scheduling or recording.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import requests

from ..core.egress import PUBLIC, EgressPolicy
from ..core.numbers import whitelist_errors
from ..core.reasons import Reason
from ..core.statuses import Status
from .base import (
    CallRequest,
    CallState,
    Capability,
    OriginateResult,
    PermanentProviderError,
    ProviderConfigError,
    ProviderError,
    ProviderEvent,
)
from .checks import printable
from .hangup_causes import CAUSE_RE, agent_outcome, cause_code
from .http import HTTPProvider, setting_errors
from .numbers import visitor_e164
from .setting_fields import N_, Kind, SettingField, base_url, names, timeouts

SETTING_FIELDS = (
    base_url(
        "",
        N_(
            "Required: the Crossbar API, e.g. https://kazoo.example.com:8000. Calls go to "
            "<base URL>/<version>/accounts/<account id>/clicktocall/..."
        ),
    ),
    SettingField(
        "api_version",
        N_("API version"),
        N_("The Crossbar API version in the path."),
        Kind.CHOICE,
        default="v2",
        choices=("v2", "v1"),
    ),
    SettingField(
        "account_id",
        N_("Account id"),
        N_("The 32-hex-digit Kazoo account id."),
        required=True,
    ),
    SettingField(
        "auth_token",
        N_("Auth token"),
        N_("Sent as X-Auth-Token."),
        secret=True,
        required=True,
    ),
    SettingField(
        "clicktocall_id",
        N_("Clicktocall id"),
        N_("The Kazoo clicktocall calls go through; without one, one is created."),
    ),
    SettingField(
        "clicktocall",
        N_("Clicktocall properties"),
        N_('JSON object used to create a clicktocall when there is no id, e.g. {"name": "Sales"}.'),
        Kind.JSON,
    ),
    *timeouts(),
)
SETTINGS = names(SETTING_FIELDS)
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
# Pages of a clicktocall's history read at most when looking a call up.
MAX_HISTORY_PAGES = 20
TOKEN_RE = re.compile(r"[A-Za-z0-9\-._~+/]{1,4096}=*")
# A CDR id embeds the leg's call id, which may hold "@", "." or ":"; it is percent-encoded
# into its path segment, and must not start with "." so it can never be "." or "..".
CDR_ID_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@:+~-]{0,254}")
SECONDS_RE = re.compile(r"[0-9]{1,9}")
# SIP's "486 Busy Here" and "600 Busy Everywhere", whatever hangup cause they came with.
BUSY_CODES = frozenset({"sip:486", "sip:600"})
# Causes a CDR carries for a leg that rang until it was given up on (the clicktocall's own
# ring timeout), which originate's answer never does: nobody answered.
GAVE_UP_CAUSES = frozenset({"ORIGINATOR_CANCEL", "ALLOTTED_TIMEOUT"})
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
DIGITS_AFTER_PLUS = Reason("must be digits, optionally after a +")
UNKNOWN_PROPERTY = Reason("unknown property")
TEXT_RULES: dict[str, tuple[re.Pattern[str], Reason]] = {
    "name": (NAME_RE, Reason("must be up to 128 letters, digits, spaces and . ' - _")),
    "extension": (
        EXTENSION_RE,
        Reason("must be a SIP URI (sip:user@host), a number or an extension"),
    ),
    "caller_id_number": (CALLER_NUMBER_RE, DIGITS_AFTER_PLUS),
    "outbound_callee_id_number": (CALLER_NUMBER_RE, DIGITS_AFTER_PLUS),
    "outbound_callee_id_name": (
        CALLER_NAME_RE,
        Reason("must be up to 40 letters, digits, spaces and . ' - _"),
    ),
}


class KazooProvider(HTTPProvider):
    name = "kazoo"
    default_base_url = ""  # required setting: every Kazoo cluster has its own address
    setting_fields = SETTING_FIELDS
    # Status by call id through the clicktocall's history. No cancel: the API has none.
    capabilities = frozenset({Capability.REPORTS_STATUS})

    def __init__(
        self,
        settings: Mapping[str, Any],
        session: requests.Session | None = None,
        *,
        egress: EgressPolicy = PUBLIC,
    ):
        super().__init__(settings, session, egress=egress)
        self.clicktocall_id: str | None = self.settings.get("clicktocall_id")

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {"api_version": "v2", **settings}
        errors = setting_errors(values, SETTINGS)
        if values.get("base_url") is None:
            errors["base_url"] = Reason("required: the Kazoo API address, e.g. https://kazoo:8000")
        if values["api_version"] not in ("v1", "v2"):
            errors["api_version"] = Reason('must be "v1" or "v2"')
        if not isinstance(values.get("account_id"), str) or not ACCOUNT_ID_RE.fullmatch(
            values["account_id"]
        ):
            errors["account_id"] = Reason("required: 32 lowercase hexadecimal digits")
        token = values.get("auth_token")
        if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
            errors["auth_token"] = Reason("required: the API token (letters, digits and -._~+/=)")
        c2c_id = values.get("clicktocall_id")
        if c2c_id is not None and (not isinstance(c2c_id, str) or not ID_RE.fullmatch(c2c_id)):
            errors["clicktocall_id"] = Reason("must be a clicktocall id (letters, digits, - and _)")
        if values.get("clicktocall") is not None:
            try:
                values["clicktocall"] = clicktocall_data(
                    values["clicktocall"], prefix="clicktocall.", require_extension=False
                )
            except ProviderConfigError as exc:
                errors.update(exc.fields)
        elif c2c_id is None:
            errors["clicktocall_id"] = Reason("required unless clicktocall properties are given")
        if errors:
            raise ProviderConfigError(errors)
        return values

    @classmethod
    def validate_agent(cls, agent: object, settings: Mapping[str, Any] | None = None) -> str:
        """Return the agent as a clicktocall extension; raise ProviderConfigError if unusable."""
        if not isinstance(agent, str) or not EXTENSION_RE.fullmatch(agent):
            raise ProviderConfigError(
                {"agent": Reason("must be a SIP URI, a number or an extension")}
            )
        return agent

    @classmethod
    def needs_setup(cls, settings: Mapping[str, Any]) -> bool:
        return not settings.get("clicktocall_id")

    def set_up(self, call: CallRequest) -> dict[str, Any]:
        """Create the widget's clicktocall once; its id is stored in the settings, so every
        call connects through it and its history says how each call went."""
        return {"clicktocall_id": self.sync_clicktocall(self._properties_for(call))}

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
        return list(self._history_pages(clicktocall_id))

    def _history_pages(self, clicktocall_id: str) -> Iterator[Any]:
        """Yield the history's entries page by page, as Crossbar pages its lists: an answer
        with `next_start_key` has more, fetched with `?start_key=`; bounded, so a server
        that keeps answering with one more page cannot hold a worker for good."""
        if not isinstance(clicktocall_id, str) or not ID_RE.fullmatch(clicktocall_id):
            raise ProviderConfigError({"clicktocall_id": Reason("letters, digits, - and _ only")})
        path = self._path(clicktocall_id, "history")
        start_key: str | None = None
        for _ in range(MAX_HISTORY_PAGES):
            query = f"?start_key={quote(start_key, safe='')}" if start_key else ""
            body = self._send("GET", path + query)
            if not isinstance(body["data"], list):
                raise self.malformed()
            yield from body["data"]
            next_key = body.get("next_start_key")
            if next_key in (None, ""):
                return
            if not isinstance(next_key, str) or len(next_key) > 1024 or next_key == start_key:
                raise self.malformed()
            start_key = next_key

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

    def reports_call_status(self) -> bool:
        # call_status gets only the call id, so the clicktocall whose history holds the call
        # must come from the settings: the id of one that originate created is kept in that
        # call's details, which never reach call_status.
        return self.clicktocall_id is not None

    def call_status(self, provider_call_id: str | None, idempotency_key: str) -> CallState:
        """Return what became of a call, from the clicktocall's history and the call's CDR."""
        if provider_call_id is None:
            # connect takes no idempotency key, so nothing ties an attempt whose answer was
            # lost to a history entry: the history cannot prove that no call was placed, and
            # "not placed" would be a guess that could ring the visitor twice.
            raise PermanentProviderError(
                f"{self.name}: a call without a call id cannot be looked up",
                cause="not_supported",
            )
        if self.clicktocall_id is None:
            return super().call_status(provider_call_id, idempotency_key)
        entry = self._history_entry(self.clicktocall_id, provider_call_id)
        if entry is None:
            # Never "not placed": the call id came from Kazoo's answer, so a call may exist
            # that this history does not show (another clicktocall since, a request_id
            # kept as the call id); "not placed" could get it dialled a second time.
            raise PermanentProviderError(
                f"{self.name}: the clicktocall history has no such call", cause="unknown_call"
            )
        cdr_id = entry.get("cdr_id")
        if cdr_id in (None, ""):
            return CallState(placed=True, event=None)  # no CDR yet: the call is still going
        if not isinstance(cdr_id, str) or not CDR_ID_RE.fullmatch(cdr_id):
            raise self.malformed()
        event = cdr_event(self._cdr(cdr_id), provider_call_id, cdr_id)
        return CallState(placed=True, event=event)

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

    def _history_entry(self, clicktocall_id: str, call_id: str) -> dict[str, Any] | None:
        # Pages are read only until the call turns up.
        for entry in self._history_pages(clicktocall_id):
            if not isinstance(entry, dict):
                raise self.malformed()
            if entry.get("call_id") == call_id:
                return entry
        return None

    def _cdr(self, cdr_id: str) -> dict[str, Any]:
        response = self.request(
            "GET",
            self._account_path("cdrs", quote(cdr_id, safe="")),
            headers=self._auth_header(),
            not_found_is_answer=True,
        )
        if response.status_code == 404:
            # Never "not placed": the history named this CDR, so the call happened.
            raise PermanentProviderError(
                f"{self.name}: the call's CDR is not found", cause="unknown_call"
            )
        body = self._envelope(response)
        if not isinstance(body["data"], dict):
            raise self.malformed()
        return body["data"]

    def _path(self, *parts: str) -> str:
        return self._account_path("clicktocall", *parts)

    def _account_path(self, *parts: str) -> str:
        # Kazoo's clicktocall document shows v1 paths and its CDR document v2; Crossbar
        # serves both versions, so every request uses the one configured version, as the
        # rest of that cluster's clients do.
        account = self.settings["account_id"]
        return "/".join((f"/{self.settings['api_version']}/accounts/{account}", *parts))

    def _send(self, method: str, path: str, payload: Any = None) -> dict[str, Any]:
        response = self.request(method, path, json=payload, headers=self._auth_header())
        return self._envelope(response)

    def _auth_header(self) -> dict[str, str]:
        return {"X-Auth-Token": self.settings["auth_token"]}

    def _envelope(self, response: requests.Response) -> dict[str, Any]:
        """Return a success envelope's body; anything else is an unreadable answer."""
        body = self.json(response)
        if not isinstance(body, dict) or body.get("status") != "success" or "data" not in body:
            raise self.malformed()
        return body


def cdr_event(cdr: Mapping[str, Any], provider_call_id: str, cdr_id: str) -> ProviderEvent:
    """Map a finished call's CDR to this product's status; raise ProviderError if unreadable.

    Billed seconds mean the call was answered and went on; a busy or unanswered end gives
    that status; any other cause fails the callback under the cause's own name. Which
    party a busy or unanswered end belongs to is left unsaid (causes "busy", "no_answer"):
    the clicktocall document calls the history's call id the leg out to the contact, while
    connect rings the extension first, so a CDR cannot be pinned on the agent or on the
    visitor, and the visitor is never told a reason that may be the wrong one.
    """
    billing = _seconds(cdr.get("billing_seconds"))
    if billing is None:
        # Without billed seconds an answered call cannot be told from an unanswered one.
        raise PermanentProviderError(
            "kazoo: the CDR is not the documented shape", cause="malformed_answer"
        )
    hangup_cause = cdr.get("hangup_cause")
    if not isinstance(hangup_cause, str) or not CAUSE_RE.fullmatch(hangup_cause):
        hangup_cause = None  # a cause's name is kept, never other text
    details = {"hangup_cause": hangup_cause, "billing_seconds": billing, "cdr_id": cdr_id}
    outcome = agent_outcome(hangup_cause)
    if billing > 0:
        status, cause = Status.COMPLETED, None
    elif cdr.get("hangup_code") in BUSY_CODES:
        status, cause = Status.BUSY, "busy"
    elif hangup_cause in GAVE_UP_CAUSES:
        status, cause = Status.NO_ANSWER, "no_answer"
    elif outcome is not None:
        status = outcome[0]
        cause = "busy" if status == Status.BUSY else "no_answer"
    else:
        status, cause = Status.FAILED, cause_code(hangup_cause, "call_failed")
    return ProviderEvent(status, provider_call_id=provider_call_id, cause=cause, details=details)


def clicktocall_data(
    properties: object, *, prefix: str = "", require_extension: bool = True
) -> dict[str, Any]:
    """Return clicktocall properties checked and with defaults; raise ProviderConfigError."""
    if not isinstance(properties, Mapping):
        raise ProviderConfigError(
            {prefix.rstrip(".") or "clicktocall": Reason("must be an object")}
        )
    data: dict[str, Any] = {
        "name": DEFAULT_NAME,
        "auth_required": True,
        "whitelist": [],
        "throttle": 0,
    }
    data.update(properties)
    errors: dict[str, str] = {
        f"{prefix}{key}": UNKNOWN_PROPERTY for key in data if key not in PROPERTIES
    }
    for key, value in data.items():
        reason = _property_error(key, value)
        if reason and key in PROPERTIES:
            errors[f"{prefix}{key}"] = reason
    if require_extension and "extension" not in data:
        errors[f"{prefix}extension"] = Reason("required: the SIP URI, number or extension to ring")
    if errors:
        raise ProviderConfigError(errors)
    return data


def _property_error(key: str, value: Any) -> Reason | None:
    if key in TEXT_RULES:
        pattern, message = TEXT_RULES[key]
        return None if isinstance(value, str) and pattern.fullmatch(value) else message
    if key == "realm":
        ok = isinstance(value, str) and bool(FQDN_RE.fullmatch(value) or _is_ip(value))
        return None if ok else Reason("must be a domain name or an IP address")
    if key == "auth_required":
        return None if isinstance(value, bool) else Reason("must be true or false")
    if key == "whitelist":
        problems = whitelist_errors(value)
        return Reason.joined(problems) if problems else None
    if key == "throttle":
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10000
        return None if ok else Reason("must be a whole number from 0 (no limit) to 10000")
    return None


def _seconds(value: object) -> int | None:
    # CDR fields are strings ("42"); a number is taken too, anything else is unreadable.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and SECONDS_RE.fullmatch(value):
        return int(value)
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
