"""A strict local stand-in for Twilio's Calls API (create, fetch and update a call).

Error codes 20003 (authenticate), 20404 (not found), 21201/21211/21212/21603 (numbers) and
21205 (no TwiML) are Twilio's documented ones; other refusals use 21218 ("invalid
parameter") with a message naming the parameter. Unlike Twilio, unknown parameters are
refused, so a misspelt one cannot pass unnoticed.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from xml.etree import ElementTree

from werkzeug.wrappers import Request, Response

from tests.fakes.base import FakeHTTPServer, json_response

PROVIDER = "twilio"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f" * 32
FROM_NUMBER = "+14155550100"
CALLS_RE = re.compile(
    r"/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Calls(?:/(CA[0-9a-fA-F]{32}))?\.json"
)
E164_RE = re.compile(r"\+[1-9][0-9]{6,14}")
TO_RE = re.compile(r"\+[1-9][0-9]{6,14}|sip:\S+|client:\w+")
EVENTS = {"initiated", "ringing", "answered", "completed"}
CREATE_PARAMS = {
    "To",
    "From",
    "Twiml",
    "Url",
    "ApplicationSid",
    "Timeout",
    "StatusCallback",
    "StatusCallbackEvent",
    "StatusCallbackMethod",
}
DIAL_ATTRIBUTES = {
    "callerId",
    "timeout",
    "answerOnBridge",
    "record",
    "timeLimit",
    "action",
    "method",
}
NUMBER_ATTRIBUTES = {
    "statusCallbackEvent",
    "statusCallback",
    "statusCallbackMethod",
    # Answering-machine detection on the dialled number, as <Number> documents it.
    "machineDetection",
    "machineDetectionTimeout",
    "amdStatusCallback",
    "amdStatusCallbackMethod",
    "url",
    "method",
}
MACHINE_DETECTION = {"Enable", "DetectMessageEnd"}
GATHER_ATTRIBUTES = {
    "action",
    "method",
    "numDigits",
    "timeout",
    "finishOnKey",
    "input",
    "actionOnEmptyResult",
}
SAY_ATTRIBUTES = {"voice", "language", "loop"}
URL_RE = re.compile(r"https?://\S+")


def _error(status: int, code: int, message: str) -> Response:
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    return json_response(
        status, {"code": code, "message": message, "more_info": more_info, "status": status}
    )


class Fake(FakeHTTPServer):
    """Twilio's Calls resource on a loopback port, recording every request."""

    body_format = "form"

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.calls: dict[str, dict[str, Any]] = {}  # call sid -> what was created and updated

    def reset(self) -> None:
        """Forget every request and answer, and go back to mode "ok" (to share one server)."""
        super().reset()
        self.calls.clear()

    def provider_settings(self) -> dict[str, Any]:
        """Return working settings for a widget that uses this fake."""
        return {
            "account_sid": self.account_sid,
            "auth_token": self.auth_token,
            "from_number": FROM_NUMBER,
            "base_url": self.base_url,
            "read_timeout": 0.5,
        }

    @Request.application
    def app(self, request: Request) -> Response:
        match = CALLS_RE.fullmatch(request.path)
        originate = bool(match) and not match[2] and request.method == "POST"
        self._record(request, originate)
        if not match:
            return _error(404, 20404, "The requested resource was not found")
        if request.method not in ("POST", "GET") or (request.method == "GET" and not match[2]):
            return _error(405, 20004, "Method not allowed")
        auth = request.authorization
        if (
            self.mode == "bad_auth"
            or auth is None
            or auth.type != "basic"
            or (auth.username, auth.password) != (self.account_sid, self.auth_token)
        ):
            return _error(401, 20003, "Authenticate")
        if match[1] != self.account_sid:
            return _error(404, 20404, "The requested resource was not found")
        if request.method == "GET":
            return self._fetch(str(match[2]))
        form = request.form if request.mimetype == "application/x-www-form-urlencoded" else {}
        params = {key: form.getlist(key) for key in form} if form else {}
        if match[2]:
            return self._update(match[2], params)
        refusal = _create_error(params)
        if refusal:
            return _error(400, *refusal)
        return self._answer(params)

    def _answer(self, params: dict[str, list[str]]) -> Response:
        canned = self._canned_answer()
        if canned is not None:
            return canned
        if self._take_failure():
            return _error(503, 20503, "Service unavailable")
        if self.mode == "hang":
            self._hang()
            # Late and unrecorded: the client gave up, and a later test may share the server.
            return _error(504, 20504, "Gateway timeout")
        if self.mode == "malformed":
            return Response("<html><body>Temporarily down", status=201, mimetype="text/html")
        sid = "CA" + secrets.token_hex(16)
        call = {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": params["To"][0],
            "from": params["From"][0],
            "status": "queued",
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json",
        }
        self.calls[sid] = {**call, "params": params}
        return json_response(201, call)

    def _fetch(self, sid: str) -> Response:
        """GET /Calls/{Sid}.json: the call resource as it stands."""
        if sid not in self.calls:
            return _error(404, 20404, f"The requested resource /Calls/{sid}.json was not found")
        return json_response(
            200, {key: value for key, value in self.calls[sid].items() if key != "params"}
        )

    def _update(self, sid: str, params: dict[str, list[str]]) -> Response:
        if sid not in self.calls:
            return _error(404, 20404, f"The requested resource /Calls/{sid}.json was not found")
        if set(params) != {"Status"} or params["Status"] not in (["canceled"], ["completed"]):
            return _error(400, 21218, "Status must be canceled or completed")
        self.calls[sid]["status"] = params["Status"][0]
        call = {key: value for key, value in self.calls[sid].items() if key != "params"}
        return json_response(200, call)


def _create_error(params: dict[str, list[str]]) -> tuple[int, str] | None:
    """Return Twilio's (code, message) refusing these Calls parameters, or None."""
    unknown = sorted(set(params) - CREATE_PARAMS)
    if unknown:
        return 21218, f"Unknown parameter {unknown[0]}"
    single = {key: values[0] for key, values in params.items() if len(values) == 1}
    if "To" not in single:
        return 21201, "No 'To' number is specified"
    if not TO_RE.fullmatch(single["To"]):
        return 21211, f"Invalid 'To' Phone Number: {single['To']}"
    if "From" not in single:
        return 21603, "A 'From' phone number is required"
    if not E164_RE.fullmatch(single["From"]):
        return 21212, f"Invalid 'From' Phone Number: {single['From']}"
    if sum(key in single for key in ("Url", "Twiml", "ApplicationSid")) != 1:
        return 21205, "Url parameter is required"
    if "Twiml" in single and not _twiml_ok(single["Twiml"]):
        return 21218, "Twiml is not valid TwiML"
    timeout = single.get("Timeout", "60")
    if not timeout.isdigit() or not 1 <= int(timeout) <= 600:
        return 21218, "Timeout must be 1-600"
    if "StatusCallback" in params:
        if not re.fullmatch(r"https?://\S+", single.get("StatusCallback", "")):
            return 21218, "StatusCallback must be an absolute URL"
        if not set(params.get("StatusCallbackEvent", ["completed"])) <= EVENTS:
            return 21218, "StatusCallbackEvent must be initiated, ringing, answered, completed"
        if params.get("StatusCallbackMethod", ["POST"]) not in (["GET"], ["POST"]):
            return 21218, "StatusCallbackMethod must be GET or POST"
    return None


def _twiml_ok(twiml: str) -> bool:
    """Accept exactly <Response><Dial …><Number …>+E164</Number></Dial></Response>, or a
    whisper: <Response><Gather …><Say …>text</Say></Gather></Response>."""
    if len(twiml) > 4000 or "<!" in twiml:
        return False
    try:
        response = ElementTree.fromstring(twiml)
    except ElementTree.ParseError:
        return False
    if response.tag != "Response" or response.attrib or len(response) != 1:
        return False
    return dial_ok(response[0]) or gather_ok(response[0])


def dial_ok(dial: ElementTree.Element) -> bool:
    """Accept a <Dial> of one <Number> with the attributes Twilio documents for them."""
    if dial.tag != "Dial" or not set(dial.attrib) <= DIAL_ATTRIBUTES or len(dial) != 1:
        return False
    if not _urls_ok(dial, "action") or dial.get("method", "POST") not in ("GET", "POST"):
        return False
    number = dial[0]
    events = number.get("statusCallbackEvent", "completed").split(" ")
    return (
        number.tag == "Number"
        and not len(number)
        and set(number.attrib) <= NUMBER_ATTRIBUTES
        and set(events) <= EVENTS
        and number.get("machineDetection", "Enable") in MACHINE_DETECTION
        and _urls_ok(number, "url", "amdStatusCallback", "statusCallback")
        and bool(E164_RE.fullmatch(number.text or ""))
        and E164_RE.fullmatch(dial.get("callerId", FROM_NUMBER)) is not None
        and not (dial.text or "").strip()
        and not (number.tail or "").strip()
    )


def gather_ok(gather: ElementTree.Element) -> bool:
    """Accept a <Gather> of one digit around one <Say>, its action an absolute URL."""
    if gather.tag != "Gather" or not set(gather.attrib) <= GATHER_ATTRIBUTES or len(gather) != 1:
        return False
    say = gather[0]
    timeout = gather.get("timeout", "5")
    return (
        "action" in gather.attrib
        and _urls_ok(gather, "action")
        and gather.get("numDigits", "1").isdigit()
        and timeout.isdigit()
        and 1 <= int(timeout) <= 600
        and gather.get("actionOnEmptyResult", "false") in ("true", "false")
        and say.tag == "Say"
        and not len(say)
        and set(say.attrib) <= SAY_ATTRIBUTES
        and bool((say.text or "").strip())
        and not (gather.text or "").strip()
    )


def _urls_ok(element: ElementTree.Element, *names: str) -> bool:
    return all(URL_RE.fullmatch(element.get(name, "http://x")) for name in names)


def parse_twiml(twiml: str) -> ElementTree.Element:
    """Parse TwiML a test received, for assertions on its elements and attributes."""
    return ElementTree.fromstring(twiml)
