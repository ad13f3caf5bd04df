"""Voiptech click2call (``dialup.php``): rings dial1 (the agent), then dial2 (the visitor).

API: ``{base_url}/dialup.php`` by POST (form-encoded, the default) or GET (query string)
with ``user``, ``pass``, ``org``, ``dial1`` = CallRequest.agent (an extension or a number),
``dial2`` = the visitor in E.164 with its "+", ``Response=yes``, ``showUID=yes``,
``RFormat``, ``Timeout`` (the agent leg's ring time, 1-300 s) and ``SetCID`` when a caller
id is known. ``schedule()`` adds ``Date``, ``Maxretry``, ``Retrytime`` and ``ident`` to book
the call in Voiptech's own scheduler.

Assumptions where Voiptech's document is silent:
- With ``Response=yes`` the answer comes once the first leg is answered ("ok") or given up
  ("fail": no answer, busy, not connected, unreachable). So "ok" is reported as
  ``agent_answered``, and without an explicit ``read_timeout`` the read timeout is the ring
  time plus ANSWER_MARGIN seconds.
- An answer carries a status word (ok/success or fail/failed/error), an optional reason and,
  with ``showUID=yes``, each leg's unique id. Keys are matched ignoring case and "_":
  status|result|response, reason|cause|error|message|msg|description, uid1|uniqueid1|
  dial1uid|dial1uniqueid, and the same with 2 (nested objects and elements join their
  names, so ``{"dial1": {"uid": "…"}}`` is uid1). Examples:
    json  ``{"status": "ok", "uid1": "1712.1", "uid2": "1712.2"}``
    xml   ``<response><status>ok</status><uid1>1712.1</uid1></response>``
    text  ``ok uid1=1712.1 uid2=1712.2`` or ``FAIL: no answer`` (tags such as <br> removed)
  The body is read by its shape, not by RFormat, since an error page may ignore RFormat.
- "fail" raises PermanentProviderError whose cause says why: ``auth_failed`` (the reason
  mentions user, password, login or authentication), ``config_missing_params`` (missing or
  required), ``invalid_request`` (invalid), ``agent_busy``, ``agent_no_answer``,
  ``agent_unreachable``, else ``agent_leg_failed``. These are not retried by the dialer:
  re-ringing an agent who did not answer is what ``schedule(max_retry=…)`` is for.
- An "ok" without unique ids is still a placed call: the result has no provider call id.
  A 2xx with no readable status is ``malformed_answer``.
- ``Date`` is written in the ``time_zone`` setting (the PBX's clock, default
  Asia/Jerusalem); ``Retrytime`` is in seconds, as in Asterisk call files.

Settings:
    user, pass, org   required
    method            POST (default) or GET
    rformat           json (default), xml or text
    caller_id         SetCID when the call carries no caller_id_number (digits, optional +)
    time_zone         IANA name for scheduled calls, default Asia/Jerusalem
    base_url          default https://voiptech.pri/API
    connect_timeout   seconds, at most 60; read_timeout seconds, at most 330

No cancel, events or recording control are documented (recording follows the PBX's rules).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..core.reasons import Reason
from ..core.statuses import Status
from .base import (
    CallRequest,
    Capability,
    OriginateResult,
    PermanentProviderError,
    ProviderConfigError,
)
from .checks import printable
from .http import READ_TIMEOUT, HTTPProvider, setting_errors
from .numbers import mask_numbers, visitor_e164
from .setting_fields import N_, Kind, SettingField, base_url, names, timeouts

PATH = "/dialup.php"
SETTING_FIELDS = (
    SettingField("user", N_("User"), N_("The Voiptech API user."), required=True),
    SettingField(
        "pass", N_("Password"), N_("The Voiptech API password."), secret=True, required=True
    ),
    SettingField("org", N_("Organisation"), N_("The Voiptech organisation."), required=True),
    SettingField(
        "method",
        N_("Method"),
        N_("POST sends a form body; GET a query string."),
        Kind.CHOICE,
        default="POST",
        choices=("POST", "GET"),
    ),
    SettingField(
        "rformat",
        N_("Answer format"),
        N_("The format Voiptech answers in."),
        Kind.CHOICE,
        default="json",
        choices=("json", "xml", "text"),
    ),
    SettingField(
        "caller_id",
        N_("Caller id"),
        N_("Digits (optional +) shown when the call carries no caller id."),
    ),
    SettingField(
        "time_zone",
        N_("PBX time zone"),
        N_("IANA name of the PBX's clock, for scheduled calls."),
        default="Asia/Jerusalem",
    ),
    base_url(
        "https://voiptech.pri/API",
        N_("Default https://voiptech.pri/API. Calls go to <base URL>/dialup.php."),
    ),
    *timeouts(),
)
SETTINGS = names(SETTING_FIELDS)
ANSWER_MARGIN = 15
# An explicit read_timeout must be able to outlast the longest ring (300 s) and the margin.
MAX_READ_TIMEOUT = 330
TEXT_RE = re.compile(r"[^\x00-\x1f\x7f]{1,128}")  # printable, one line
AGENT_RE = re.compile(r"\+?[0-9*#]{1,32}")
CALLER_ID_RE = re.compile(r"\+?[0-9]{2,20}")
IDENT_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
UID_RE = re.compile(r"[\x21-\x7e]{1,255}")
OK_WORDS = {"ok", "success"}
FAIL_WORDS = {"fail", "failed", "failure", "error"}
ALIASES = {
    **dict.fromkeys(("status", "result", "response"), "status"),
    **dict.fromkeys(("reason", "cause", "error", "message", "msg", "description"), "reason"),
    **dict.fromkeys(("uid1", "uniqueid1", "dial1uid", "dial1uniqueid"), "uid1"),
    **dict.fromkeys(("uid2", "uniqueid2", "dial2uid", "dial2uniqueid"), "uid2"),
}
# Checked in order: "invalid user or password" is an authentication failure, not a bad value.
FAIL_CAUSES = (
    (re.compile(r"missing|required"), "config_missing_params"),
    (
        re.compile(r"auth|passw|login|credential|(invalid|wrong|unknown|bad) (user|org)"),
        "auth_failed",
    ),
    (re.compile(r"invalid|not allowed"), "invalid_request"),
    (re.compile(r"busy"), "agent_busy"),
    (re.compile(r"no.?answer|not answered|no.?user.?response"), "agent_no_answer"),
    (re.compile(r"unreachable|not connected|unavailable|congestion|offline"), "agent_unreachable"),
)
PAIR_RE = re.compile(r"([A-Za-z][A-Za-z0-9_]*)\s*[=:]\s*(.*?)\s*(?=[;,&\n]|\s\S+\s*[=:]|$)")


class VoiptechProvider(HTTPProvider):
    name = "voiptech"
    default_base_url = "https://voiptech.pri/API"
    setting_fields = SETTING_FIELDS
    # Books calls in its own scheduler (Date, Maxretry, Retrytime, ident); reports nothing
    # after its answer, and documents no cancel.
    capabilities = frozenset({Capability.SCHEDULING})
    # Its answer comes once the agent took the call and the visitor is being rung: the
    # conversation starts within the visitor leg's ring time.
    handoff_lease_seconds = 180

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {
            "method": "POST",
            "rformat": "json",
            "time_zone": "Asia/Jerusalem",
            **settings,
        }
        errors = setting_errors(values, SETTINGS, read_limit=MAX_READ_TIMEOUT)
        for key in ("user", "pass", "org"):
            if not isinstance(values.get(key), str) or not TEXT_RE.fullmatch(values[key]):
                errors[key] = Reason("required: one line of printable text, at most 128 characters")
        if values["method"] not in ("GET", "POST"):
            errors["method"] = Reason("must be GET or POST")
        if values["rformat"] not in ("json", "xml", "text"):
            errors["rformat"] = Reason("must be json, xml or text")
        caller_id = values.get("caller_id")
        if caller_id is not None and (
            not isinstance(caller_id, str) or not CALLER_ID_RE.fullmatch(caller_id)
        ):
            errors["caller_id"] = Reason(
                "must be a phone number: digits with an optional leading +"
            )
        try:
            ZoneInfo(values["time_zone"])
        except (ZoneInfoNotFoundError, TypeError, ValueError):
            errors["time_zone"] = Reason("must be an IANA time zone name, e.g. Asia/Jerusalem")
        if errors:
            raise ProviderConfigError(errors)
        return values

    def originate(self, call: CallRequest) -> OriginateResult:
        params = self._params(call)
        if "read_timeout" not in self.settings:
            # The answer waits for the agent leg, so the read must outlast its ring time.
            self.timeout = (self.timeout[0], max(READ_TIMEOUT, call.timeout + ANSWER_MARGIN))
        return self._send(params, Status.AGENT_ANSWERED)

    def schedule(
        self, call: CallRequest, at: datetime, max_retry: int, retry_time: int, ident: str
    ) -> OriginateResult:
        """Book the call in Voiptech's scheduler for `at`, retried until answered."""
        params = self._params(call)
        if at.tzinfo is None or at <= datetime.now(UTC):
            raise PermanentProviderError(
                "schedule time must be aware and in the future", cause="invalid_schedule"
            )
        for value, low, high in ((max_retry, 0, 20), (retry_time, 1, 86400)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise PermanentProviderError(
                    f"retry value {value!r} is out of range", cause="invalid_schedule"
                )
        if not isinstance(ident, str) or not IDENT_RE.fullmatch(ident):
            raise PermanentProviderError(
                "ident must be 1-64 letters, digits or ._-", cause="invalid_schedule"
            )
        local = at.astimezone(ZoneInfo(self.settings["time_zone"]))
        params.update(
            Date=local.strftime("%Y%m%d%H%M"),
            Maxretry=str(max_retry),
            Retrytime=str(retry_time),
            ident=ident,
        )
        return self._send(params, Status.SCHEDULED)

    def _params(self, call: CallRequest) -> dict[str, str]:
        # Everything is checked before the request: a refusal must not leave a half-placed call.
        if not isinstance(call.agent, str) or not AGENT_RE.fullmatch(call.agent):
            raise ProviderConfigError(
                {"agent": Reason("must be an extension or a number (digits, *, #)")}
            )
        if isinstance(call.timeout, bool) or not 1 <= call.timeout <= 300:
            raise ProviderConfigError({"timeout": Reason("must be 1-300 seconds")})
        params = {
            "user": self.settings["user"],
            "pass": self.settings["pass"],
            "org": self.settings["org"],
            "dial1": call.agent,
            "dial2": visitor_e164(call),
            "Response": "yes",
            "showUID": "yes",
            "RFormat": self.settings["rformat"],
            "Timeout": str(call.timeout),
        }
        caller_id = call.caller_id_number or self.settings.get("caller_id")
        if caller_id:
            if not CALLER_ID_RE.fullmatch(caller_id):
                raise ProviderConfigError(
                    {"caller_id_number": Reason("must be digits, optional +")}
                )
            params["SetCID"] = caller_id
        return params

    def _send(self, params: dict[str, str], status: Status) -> OriginateResult:
        if self.settings["method"] == "GET":
            response = self.request("GET", PATH, params=params)
        else:
            response = self.request("POST", PATH, data=params)
        fields = parse_answer(response.text)
        word = fields.get("status", "").lower()
        if word in FAIL_WORDS:
            reason = fields.get("reason", "")
            cause = fail_cause(reason)
            # Logs keep no phone numbers the answer may quote.
            text = printable(mask_numbers(reason[:120]), limit=None)
            raise PermanentProviderError(
                f"{self.name}: call failed ({text or 'no reason'})", cause=cause
            )
        if word not in OK_WORDS:
            raise self.malformed()
        legs = {"agent_leg_uid": fields.get("uid1", ""), "visitor_leg_uid": fields.get("uid2", "")}
        details = {name: uid for name, uid in legs.items() if UID_RE.fullmatch(uid)}
        return OriginateResult(details.get("agent_leg_uid"), status=status, details=details)


def fail_cause(reason: str) -> str:
    """Return the stable cause for a "fail" answer's reason text."""
    lowered = reason.lower()
    for pattern, cause in FAIL_CAUSES:
        if pattern.search(lowered):
            return cause
    return "agent_leg_failed"


def parse_answer(body: str) -> dict[str, str]:
    """Return an answer's status, reason, uid1 and uid2 from a json, xml or text body."""
    text = body.strip()
    raw: dict[str, str] = {}
    if text.startswith(("{", "[")):
        try:
            raw = _flatten(json.loads(text))
        except ValueError:
            return {}
    elif text.startswith("<") and (tree := _xml(text)) is not None:
        raw = _flatten_xml(tree)
    else:
        return _text_fields(text)
    fields: dict[str, str] = {}
    for key, value in raw.items():
        fields.setdefault(ALIASES.get(key, key), value)
    others = " ".join(value for key, value in raw.items() if key not in ALIASES)
    if "reason" not in fields and others:
        # No reason key: the other values are the best description of a failure.
        fields["reason"] = others
    return fields


def _norm(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    flat: dict[str, str] = {}
    for key, item in value.items():
        name = prefix + _norm(str(key))
        if isinstance(item, dict):
            flat.update(_flatten(item, name))
        elif isinstance(item, str | int | float) and not isinstance(item, bool):
            flat[name] = str(item)
    return flat


def _xml(text: str) -> ElementTree.Element | None:
    # No DTDs: entity definitions are the classic XML bombs, and no answer needs them.
    if "<!" in text.replace("<![CDATA[", ""):
        return None
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return None
    return None if _norm(root.tag) == "html" else root


def _flatten_xml(element: ElementTree.Element, prefix: str = "") -> dict[str, str]:
    flat = {prefix + _norm(key): value for key, value in element.attrib.items()}
    for child in element:
        name = prefix + _norm(child.tag)
        if len(child) or child.attrib:
            flat.update(_flatten_xml(child, name))
        if child.text and child.text.strip():
            flat.setdefault(name, child.text.strip())
    return flat


def _text_fields(text: str) -> dict[str, str]:
    plain = re.sub(r"<br\s*/?>|</p>|</div>|</li>", "\n", text, flags=re.I)
    plain = html.unescape(re.sub(r"<[^>]*>", " ", plain)).strip()
    fields: dict[str, str] = {}
    for key, value in PAIR_RE.findall(plain):
        fields.setdefault(ALIASES.get(_norm(key), _norm(key)), value)
    # A leading status word ("ok uid1=…", "FAIL: busy"): the rest describes a failure.
    leading = re.match(r"([A-Za-z]+)\W*(.*)", plain, re.S)
    if leading and "status" not in fields and leading[1].lower() in OK_WORDS | FAIL_WORDS:
        fields["status"] = leading[1].lower()
        fields.setdefault("reason", leading[2].strip())
    return fields
