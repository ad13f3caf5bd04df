"""Twilio Calls API: Twilio rings the agent, then inline TwiML <Dial>s the visitor.

API: ``POST {base_url}/2010-04-01/Accounts/{AccountSid}/Calls.json`` with HTTP Basic auth
(AccountSid:AuthToken) and a form body: ``To`` = the agent (E.164, ``sip:`` or ``client:``),
``From`` = CallRequest.caller_id_number or the ``from_number`` setting, ``Twiml`` =
``<Response><Dial callerId timeout><Number …>+visitor</Number></Dial></Response>``,
``Timeout`` = the agent leg's ring time and, when the call has an event_url, ``StatusCallback``
with one ``StatusCallbackEvent`` per event for the agent leg and the same events on <Number>
for the visitor leg. The answer's ``sid`` (CA…) becomes the provider call id.

The visitor sees CallRequest.callee_id_number, else from_number, else the From number.
Twilio has no caller name or custom metadata on outbound calls, so callee_id_name and extra
are not sent. TwiML is
built with ElementTree, so every value is XML-escaped.

Events: form-encoded status callbacks, each with a valid ``X-Twilio-Signature`` (HMAC-SHA1
under the auth token over the URL Twilio called and the sorted POST parameters). The agent
leg's callbacks carry our CallSid; the visitor leg's carry its own CallSid and
``ParentCallSid`` (ours). Each maps to at most one status (see AGENT_LEG, VISITOR_LEG).

Settings:
    account_sid      required, AC + 32 hex digits
    auth_token       required
    from_number      E.164 number the agent sees when the call carries no caller_id_number
    visitor_timeout  seconds the visitor's phone rings (<Dial timeout>), 5-600, default 30
    base_url         default https://api.twilio.com
    connect_timeout, read_timeout   seconds, at most 60

Whisper (CallRequest.whisper, with an event URL): the agent leg's TwiML is instead a
``<Gather numDigits="1" action="<event URL>?step=accept" actionOnEmptyResult="true">``
around a ``<Say>``; the event endpoint answers that action with the ``<Dial>`` above only
for ``Digits=1`` (event_reply), else ``<Hangup/>``. Machine detection adds
``machineDetection="Enable"`` and a ``url`` (``?step=visitor``) to the ``<Number>``: Twilio
asks it with ``AnsweredBy`` before bridging, and a machine is hung up and reported as
visitor_voicemail; the ``<Dial action>`` (``?step=dial_end``) then tells the agent why.

Cancel posts ``Status=canceled``, which Twilio applies to queued or ringing calls only.
call_status fetches ``GET …/Calls/{Sid}.json`` and maps its ``status`` as the agent leg's
callbacks are mapped; Twilio takes no idempotency key on create, so a call whose sid never
came back cannot be looked up.
Recording is not exposed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import requests

from ..core.reasons import Reason
from ..core.statuses import Status
from .base import (
    ACCEPT_KEY,
    CallRequest,
    CallState,
    Capability,
    EventRefused,
    EventReply,
    EventRequest,
    EventUnreadable,
    OriginateResult,
    PermanentProviderError,
    ProviderConfigError,
    ProviderEvent,
    RetryableProviderError,
)
from .http import HTTPProvider, setting_errors
from .numbers import e164, e164_field, e164_setting, mask_numbers, visitor_e164
from .setting_fields import N_, Kind, SettingField, base_url, names, timeouts

SETTING_FIELDS = (
    SettingField(
        "account_sid", N_("Account SID"), N_("AC followed by 32 hex digits."), required=True
    ),
    SettingField(
        "auth_token",
        N_("Auth token"),
        N_("Signs requests (HTTP Basic) and checks Twilio's status callbacks."),
        secret=True,
        required=True,
    ),
    SettingField(
        "from_number",
        N_("From number"),
        N_("E.164 number the agent sees when the call carries no caller id."),
    ),
    SettingField(
        "visitor_timeout",
        N_("Visitor ring time"),
        N_("Seconds the visitor's phone rings, 5 to 600."),
        Kind.NUMBER,
        default=30,
    ),
    base_url(
        "https://api.twilio.com",
        N_(
            "Default https://api.twilio.com. Calls go to "
            "<base URL>/2010-04-01/Accounts/<Account SID>/Calls.json."
        ),
    ),
    *timeouts(),
)
SETTINGS = names(SETTING_FIELDS)
EVENTS = ("initiated", "ringing", "answered", "completed")
# The status callback fields without which a callback says nothing.
CALLBACK_REQUIRED = ("CallSid", "CallStatus")
ACCOUNT_SID_RE = re.compile(r"AC[0-9a-fA-F]{32}")
CALL_SID_RE = re.compile(r"CA[0-9a-fA-F]{32}")
TOKEN_RE = re.compile(r"[\x21-\x7e]{1,256}")
# SIP URI characters (RFC 3261) without quotes, angle brackets or spaces; client names are
# what Twilio's Client SDKs accept.
AGENT_URI_RE = re.compile(r"sip:[A-Za-z0-9\-_.!~*'()&=+$,;?/%:@\[\]]{1,250}|client:\w{1,200}")
# CallStatus -> (status, cause) for each leg. The visitor leg being queued or initiated adds
# nothing: this product has no step for it.
AGENT_LEG: dict[str, tuple[Status, str | None]] = {
    "queued": (Status.DIALING, None),
    "initiated": (Status.DIALING, None),
    "ringing": (Status.AGENT_RINGING, None),
    "in-progress": (Status.AGENT_ANSWERED, None),
    "completed": (Status.COMPLETED, None),
    "busy": (Status.BUSY, "agent_busy"),
    "no-answer": (Status.NO_ANSWER, "agent_no_answer"),
    "canceled": (Status.CANCELED, "canceled"),
    "failed": (Status.FAILED, "agent_failed"),
}
VISITOR_LEG: dict[str, tuple[Status, str | None]] = {
    "ringing": (Status.VISITOR_RINGING, None),
    "in-progress": (Status.CONNECTED, None),
    "completed": (Status.COMPLETED, None),
    "busy": (Status.BUSY, "visitor_busy"),
    "no-answer": (Status.NO_ANSWER, "visitor_no_answer"),
    "canceled": (Status.CANCELED, "visitor_canceled"),
    "failed": (Status.FAILED, "visitor_failed"),
}


# Twilio's AnsweredBy values that mean a machine took the visitor's call.
MACHINE_ANSWERS = frozenset(
    {"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"}
)
# The steps of a whispered call that ask this server for TwiML, named in their action URLs.
ACCEPT, VISITOR_ANSWERED, DIAL_ENDED = "accept", "visitor", "dial_end"
STEPS = (ACCEPT, VISITOR_ANSWERED, DIAL_ENDED)
STEP_PARAMETER = "step"
WHISPERED = "whispered"  # marks the status callbacks of an agent leg that hears a whisper
GATHER_SECONDS = 8  # how long the agent has to press the accept key after the whisper
TWIML = "text/xml"
HANG_UP = "<Response><Hangup /></Response>"
# Twilio's <Say> voices by this product's languages (Twilio's language codes).
SAY_LANGUAGES = {
    "en": "en-US",
    "he": "he-IL",
    "ar": "ar-AE",
    "es": "es-ES",
    "fr": "fr-FR",
    "de": "de-DE",
    "pt": "pt-BR",
    "ru": "ru-RU",
}


class TwilioProvider(HTTPProvider):
    name = "twilio"
    # Status by call sid; whisper and accept key by TwiML <Say>/<Gather> on the agent leg,
    # AMD by machineDetection on the visitor's <Number>.
    capabilities = frozenset(
        {
            Capability.REPORTS_STATUS,
            Capability.CANCEL,
            Capability.WHISPER,
            Capability.ACCEPT_KEY,
            Capability.AMD,
        }
    )
    default_base_url = "https://api.twilio.com"
    setting_fields = SETTING_FIELDS
    event_status_field = "CallStatus"

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {"visitor_timeout": 30, **settings}
        errors = setting_errors(values, SETTINGS)
        if not isinstance(values.get("account_sid"), str) or not ACCOUNT_SID_RE.fullmatch(
            values["account_sid"]
        ):
            errors["account_sid"] = Reason("required: AC followed by 32 hexadecimal digits")
        if not isinstance(values.get("auth_token"), str) or not TOKEN_RE.fullmatch(
            values["auth_token"]
        ):
            errors["auth_token"] = Reason("required: printable text without spaces")
        e164_setting(values, "from_number", errors)
        timeout = values["visitor_timeout"]
        if isinstance(timeout, bool) or not isinstance(timeout, int) or not 5 <= timeout <= 600:
            errors["visitor_timeout"] = Reason("must be a whole number of seconds from 5 to 600")
        if errors:
            raise ProviderConfigError(errors)
        return values

    @classmethod
    def validate_agent(cls, agent: object, settings: Mapping[str, Any] | None = None) -> str:
        """Return the agent as Twilio's `To` wants it; raise ProviderConfigError if unusable."""
        if isinstance(agent, str) and AGENT_URI_RE.fullmatch(agent):
            return agent
        try:
            return e164(agent)
        except ValueError:
            raise ProviderConfigError(
                {"agent": Reason("must be an E.164 number, a sip: URI or a client: name")}
            ) from None

    def originate(self, call: CallRequest) -> OriginateResult:
        # Everything is checked before the request: a refusal must not leave a half-placed call.
        agent = self.validate_agent(call.agent)
        from_number = self.settings.get("from_number")
        caller = _e164_field(call.caller_id_number, "caller_id_number") or from_number
        if caller is None:
            raise ProviderConfigError(
                {"from_number": Reason("required when the widget has no caller id number")}
            )
        # The visitor sees the widget's callee id, else the account's number, else the From.
        shown = _e164_field(call.callee_id_number, "callee_id_number") or from_number or caller
        if isinstance(call.timeout, bool) or not 1 <= call.timeout <= 600:
            raise ProviderConfigError({"timeout": Reason("must be 1-600 seconds")})
        event_url = _event_url(call.event_url)
        if call.whisper and event_url:
            # The visitor is dialled only from the TwiML this server answers the accept key.
            twiml = whisper_twiml(call.whisper, call.speech_language, event_url)
        else:
            twiml = dial_twiml(
                visitor_e164(call), shown, self.settings["visitor_timeout"], event_url
            )
        form = [("To", agent), ("From", caller), ("Twiml", twiml), ("Timeout", str(call.timeout))]
        if event_url:
            whispered = bool(call.whisper)
            form += [
                ("StatusCallback", _whispered_url(event_url) if whispered else event_url),
                *(("StatusCallbackEvent", e) for e in EVENTS),
                ("StatusCallbackMethod", "POST"),
            ]
        answer = self.json(
            self.request("POST", self._calls_path() + ".json", data=form, auth=self._auth())
        )
        sid = answer.get("sid") if isinstance(answer, dict) else None
        if not isinstance(sid, str) or not CALL_SID_RE.fullmatch(sid):
            raise self.malformed()
        status = answer.get("status")
        return OriginateResult(
            provider_call_id=sid,
            status=Status.DIALING,
            details={"twilio_status": status} if isinstance(status, str) else {},
        )

    def cancel(self, provider_call_id: str) -> None:
        """Cancel a call that is still queued or ringing."""
        if not isinstance(provider_call_id, str) or not CALL_SID_RE.fullmatch(provider_call_id):
            raise PermanentProviderError(f"{self.name}: not a call sid", cause="invalid_call_id")
        self.request(
            "POST",
            f"{self._calls_path()}/{provider_call_id}.json",
            data={"Status": "canceled"},
            auth=self._auth(),
        )

    def call_status(self, provider_call_id: str | None, idempotency_key: str) -> CallState:
        if provider_call_id is None:
            return super().call_status(provider_call_id, idempotency_key)
        if not CALL_SID_RE.fullmatch(provider_call_id):
            raise PermanentProviderError(f"{self.name}: not a call sid", cause="invalid_call_id")
        response = self.request(
            "GET",
            f"{self._calls_path()}/{provider_call_id}.json",
            auth=self._auth(),
            not_found_is_answer=True,
        )
        if response.status_code == 404:
            return CallState(placed=False)
        answer = self.json(response)
        mapped = AGENT_LEG.get(str(answer.get("status"))) if isinstance(answer, dict) else None
        if mapped is None:
            raise self.malformed()
        status, cause = mapped
        return CallState(
            True, ProviderEvent(status, provider_call_id=provider_call_id, cause=cause)
        )

    def authenticate_event(self, request: EventRequest) -> None:
        """Refuse a status callback whose X-Twilio-Signature does not verify."""
        token = str(self.settings["auth_token"])
        signature = request.header("X-Twilio-Signature")
        if not verify_signature(token, request.url, request.form, signature):
            raise EventRefused(
                "X-Twilio-Signature does not verify", reason="twilio_signature_invalid"
            )

    def event_payload(self, request: EventRequest) -> Mapping[str, Any]:
        """Return a status callback's form; refuse one without a call sid and a status.

        An action of a whispered call (its URL names the step) is returned with its step.
        """
        form = request.form
        step = _step(request.url)
        if step is not None:
            return _action_payload(form, step)
        missing = {name: "required" for name in CALLBACK_REQUIRED if not form.get(name)}
        if missing:
            raise EventUnreadable("The status callback is incomplete.", missing)
        if not CALL_SID_RE.fullmatch(form["CallSid"]):
            raise EventUnreadable(
                "The status callback is not valid.",
                {"CallSid": "must be CA followed by 32 hexadecimal digits"},
            )
        if _query_value(request.url, WHISPERED) == "1":
            return {**form, WHISPERED: "1"}
        return form

    def event_reply(
        self, payload: Mapping[str, Any], call: CallRequest, status: str
    ) -> EventReply | None:
        """Answer a whispered call's actions: dial the visitor only after the accept key,
        hang up a machine, and tell the agent why their call ends."""
        step = payload.get(STEP_PARAMETER)
        if step == ACCEPT:
            if payload.get("Digits") == ACCEPT_KEY and status == Status.AGENT_ANSWERED:
                return EventReply(self._visitor_dial(call), TWIML)
            return EventReply(HANG_UP, TWIML)
        if step == VISITOR_ANSWERED:
            if payload.get("AnsweredBy") in MACHINE_ANSWERS:
                return EventReply(HANG_UP, TWIML)  # the visitor's leg: never bridged
            return EventReply("<Response />", TWIML)
        if step == DIAL_ENDED:
            if status == Status.VISITOR_VOICEMAIL and call.machine_notice:
                return EventReply(say_twiml(call.machine_notice, call.speech_language), TWIML)
            return EventReply(HANG_UP, TWIML)
        return None

    def _visitor_dial(self, call: CallRequest) -> str:
        from_number = self.settings.get("from_number")
        caller = _e164_field(call.caller_id_number, "caller_id_number") or from_number
        shown = _e164_field(call.callee_id_number, "callee_id_number") or from_number or caller
        event_url = _event_url(call.event_url)
        return dial_twiml(
            visitor_e164(call),
            str(shown),
            self.settings["visitor_timeout"],
            event_url,
            machine_detection=call.machine_detection,
        )

    def parse_event(self, payload: Mapping[str, Any]) -> list[ProviderEvent]:
        """Map one Twilio status callback (agent or visitor leg) to at most one status."""
        account = payload.get("AccountSid")
        if account is not None and account != self.settings["account_sid"]:
            return []
        if STEP_PARAMETER in payload:
            return _action_events(payload)
        call_sid, parent_sid = payload.get("CallSid"), payload.get("ParentCallSid")
        if not isinstance(call_sid, str) or not CALL_SID_RE.fullmatch(call_sid):
            return []
        visitor_leg = isinstance(parent_sid, str) and bool(CALL_SID_RE.fullmatch(parent_sid))
        if (
            payload.get(WHISPERED)
            and not visitor_leg
            and payload.get("CallStatus") == "in-progress"
        ):
            # A whispered agent leg picked up, perhaps by voicemail: only the key says the
            # agent took the call (the <Gather> action).
            return []
        mapped = (VISITOR_LEG if visitor_leg else AGENT_LEG).get(str(payload.get("CallStatus")))
        if mapped is None:
            return []
        status, cause = mapped
        details: dict[str, Any] = {
            "leg": "visitor" if visitor_leg else "agent",
            "call_status": payload["CallStatus"],
        }
        if visitor_leg:
            details["visitor_leg_sid"] = call_sid
        duration = payload.get("CallDuration")
        if isinstance(duration, str) and duration.isdigit():
            details["duration"] = int(duration)
        return [
            ProviderEvent(
                status,
                provider_call_id=parent_sid if visitor_leg else call_sid,
                cause=cause,
                details=details,
            )
        ]

    def raise_for_status(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 300:
            return
        try:
            error = response.json()
        except ValueError:
            error = None
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        text = f"{self.name}: answered {status}"
        if isinstance(code, int):
            text += f", error {code}"
        if isinstance(message, str):
            # Twilio's messages may quote numbers; logs keep only masked ones.
            text += ": " + mask_numbers(message[:200])
        if status in (401, 403):
            raise PermanentProviderError(text, cause="auth_failed")
        if status == 429 or status >= 500:
            raise RetryableProviderError(text, cause=f"http_{status}")
        raise PermanentProviderError(
            text, cause=f"twilio_{code}" if isinstance(code, int) else f"http_{status}"
        )

    def _calls_path(self) -> str:
        return f"/2010-04-01/Accounts/{self.settings['account_sid']}/Calls"

    def _auth(self) -> tuple[str, str]:
        return (self.settings["account_sid"], self.settings["auth_token"])


def dial_twiml(
    visitor: str,
    caller_id: str,
    timeout: int,
    event_url: str | None,
    *,
    machine_detection: bool = False,
) -> str:
    """Return the TwiML that connects the answered agent leg to the visitor.

    With machine detection (which needs the event URL), Twilio asks the <Number>'s url
    with AnsweredBy before bridging, and the <Dial>'s action when the visitor leg ends.
    """
    response = ElementTree.Element("Response")
    dial_attributes = {"callerId": caller_id, "timeout": str(timeout)}
    if machine_detection and event_url:
        dial_attributes |= {"action": _step_url(event_url, DIAL_ENDED), "method": "POST"}
    dial = ElementTree.SubElement(response, "Dial", dial_attributes)
    attributes = {}
    if event_url:
        attributes = {
            "statusCallbackEvent": " ".join(EVENTS),
            "statusCallback": event_url,
            "statusCallbackMethod": "POST",
        }
        if machine_detection:
            attributes |= {
                "machineDetection": "Enable",
                "url": _step_url(event_url, VISITOR_ANSWERED),
                "method": "POST",
            }
    ElementTree.SubElement(dial, "Number", attributes).text = visitor
    return ElementTree.tostring(response, encoding="unicode")


def whisper_twiml(whisper: str, language: str, event_url: str) -> str:
    """Return the agent leg's TwiML: say who is calling, then wait for the accept key.

    actionOnEmptyResult makes Twilio ask the action without a digit too, so no key (an
    agent's voicemail) ends in an answer of this server that hangs up.
    """
    response = ElementTree.Element("Response")
    gather = ElementTree.SubElement(
        response,
        "Gather",
        {
            "numDigits": "1",
            "timeout": str(GATHER_SECONDS),
            "action": _step_url(event_url, ACCEPT),
            "method": "POST",
            "actionOnEmptyResult": "true",
        },
    )
    say = ElementTree.SubElement(gather, "Say", {"language": SAY_LANGUAGES.get(language, "en-US")})
    say.text = whisper
    return ElementTree.tostring(response, encoding="unicode")


def say_twiml(text: str, language: str) -> str:
    """Return TwiML that tells the agent something, then hangs up."""
    response = ElementTree.Element("Response")
    say = ElementTree.SubElement(
        response, "Say", {"language": SAY_LANGUAGES.get(language, "en-US")}
    )
    say.text = text
    ElementTree.SubElement(response, "Hangup")
    return ElementTree.tostring(response, encoding="unicode")


def _step_url(event_url: str, step: str) -> str:
    separator = "&" if "?" in event_url else "?"
    return f"{event_url}{separator}{STEP_PARAMETER}={step}"


def _step(url: str) -> str | None:
    """Return the step an action URL names, or None for a status callback's URL."""
    step = _query_value(url, STEP_PARAMETER)
    return step if step in STEPS else None


def _whispered_url(event_url: str) -> str:
    separator = "&" if "?" in event_url else "?"
    return f"{event_url}{separator}{WHISPERED}=1"


def _query_value(url: str, name: str) -> str | None:
    try:
        values = parse_qs(urlsplit(url).query).get(name, [])
    except ValueError:
        return None
    return values[0] if len(values) == 1 else None


def _action_payload(form: Mapping[str, str], step: str) -> Mapping[str, Any]:
    """Return an action's form with its step; refuse one without a call sid."""
    call_sid = form.get("CallSid", "")
    if not CALL_SID_RE.fullmatch(call_sid):
        raise EventUnreadable(
            "The action request is not valid.",
            {"CallSid": "must be CA followed by 32 hexadecimal digits"},
        )
    return {**form, STEP_PARAMETER: step}


def _action_events(payload: Mapping[str, Any]) -> list[ProviderEvent]:
    """Map an action of a whispered call: the accept key, or what answered the visitor."""
    step, call_sid = payload[STEP_PARAMETER], payload.get("CallSid")
    parent = payload.get("ParentCallSid")
    agent_sid = parent if isinstance(parent, str) and CALL_SID_RE.fullmatch(parent) else call_sid
    if step == ACCEPT:
        if payload.get("Digits") == ACCEPT_KEY:
            details = {"leg": "agent", "accepted": True}
            return [
                ProviderEvent(Status.AGENT_ANSWERED, provider_call_id=call_sid, details=details)
            ]
        details = {"leg": "agent", "accepted": False}
        return [
            ProviderEvent(
                Status.NO_ANSWER, provider_call_id=call_sid, cause="agent_no_key", details=details
            )
        ]
    if step == VISITOR_ANSWERED and payload.get("AnsweredBy") in MACHINE_ANSWERS:
        details = {"leg": "visitor", "answered_by": payload["AnsweredBy"]}
        return [
            ProviderEvent(
                Status.VISITOR_VOICEMAIL,
                provider_call_id=agent_sid,
                cause="visitor_voicemail",
                details=details,
            )
        ]
    return []  # a person answered, or the dial ended: the status callbacks say how


def verify_signature(auth_token: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    """Say whether `signature` is Twilio's X-Twilio-Signature for this URL and POST body."""
    if not auth_token or not isinstance(signature, str):
        return False
    signed = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return hmac.compare_digest(base64.b64encode(digest), signature.encode())


def _e164_field(value: str | None, field: str) -> str | None:
    return e164_field(value, field) if value else None


def _event_url(url: str | None) -> str | None:
    if url is None:
        return None
    try:
        parts = urlsplit(url) if url.isprintable() and " " not in url else None
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentProviderError(
            "event url is not an absolute http(s) URL", cause="invalid_event_url"
        )
    return url
