"""A strict local stand-in for Voiptech's dialup.php click2call, as its document describes it.

The document shows no answer bodies; this fake answers in the shapes the adapter assumes
(see widget_server/providers/voiptech.py): ``{"status": "ok", "uid1", "uid2"}`` in json,
``<response><status>…`` in xml, ``ok uid1=… uid2=…`` or ``FAIL: reason`` in text.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from itertools import count
from typing import Any
from xml.etree import ElementTree

from werkzeug.wrappers import Request, Response

from tests.fakes.base import FakeHTTPServer

PROVIDER = "voiptech"
PATH = "/API/dialup.php"
USER = "widget"
PASSWORD = "s3cret pass&word"  # form encoding must carry the space and the "&"
ORG = "acme"
REQUIRED = ("user", "pass", "org", "dial1", "dial2")
FUTURE = ("Date", "Maxretry", "Retrytime", "ident")
KNOWN = {*REQUIRED, *FUTURE, "Response", "showUID", "RFormat", "SetCID", "Timeout"}
FORMATS = {
    "dial1": re.compile(r"\+?[0-9*#]{1,32}"),
    "dial2": re.compile(r"\+[1-9][0-9]{6,14}|[0-9*#]{1,32}"),
    "SetCID": re.compile(r"\+?[0-9]{2,20}"),
    "Timeout": re.compile(r"[1-9][0-9]{0,2}"),
    "Response": re.compile(r"yes|no"),
    "showUID": re.compile(r"yes|no"),
    "RFormat": re.compile(r"text|html|xml|json"),
    "Date": re.compile(r"[0-9]{12}"),
    "Maxretry": re.compile(r"[0-9]{1,3}"),
    "Retrytime": re.compile(r"[0-9]{1,6}"),
    "ident": re.compile(r"\S{1,64}"),
}


class Fake(FakeHTTPServer):
    """Voiptech's dialup.php on a loopback port, recording every request.

    `answer_next` queues a raw answer (status and text body) for the next valid originate.
    """

    body_format = "form"
    base_path = "/API"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []  # the calls it accepted, with their parameters
        self.failures: list[str] = []  # "fail" reasons for the next valid originates
        self._uids = count(1)

    def reset(self) -> None:
        """Forget every request and answer, and go back to mode "ok" (to share one server)."""
        super().reset()
        self.calls.clear()
        self.failures.clear()

    def fail_next(self, reason: str) -> None:
        """Answer the next valid originate "fail" with `reason`, in the requested format."""
        self.failures.append(reason)

    def provider_settings(self) -> dict[str, Any]:
        """Return working settings for a widget that uses this fake."""
        return {
            "user": USER,
            "pass": PASSWORD,
            "org": ORG,
            "base_url": self.base_url,
            "read_timeout": 0.5,
        }

    def _canned_response(self, status: int, body: Any) -> Response:
        return Response(body, status=status, mimetype="text/html")

    @Request.application
    def app(self, request: Request) -> Response:
        originate = request.path == PATH and request.method in ("GET", "POST")
        self._record(request, originate)
        if request.path != PATH:
            return Response("Not Found", status=404, mimetype="text/html")
        if request.method not in ("GET", "POST"):
            return Response("Method Not Allowed", status=405, mimetype="text/html")
        # GET reads the query string only; POST reads the form body only.
        source = request.args if request.method == "GET" else request.form
        params = {key: source.getlist(key) for key in source}
        if params.get("Response") != ["yes"]:
            return Response("", status=200, mimetype="text/html")  # no answer asked for
        rformat = (params.get("RFormat") or ["text"])[0]
        error = _param_error(params)
        if error is None and (
            self.mode == "bad_auth"
            or [params["user"], params["pass"], params["org"]] != [[USER], [PASSWORD], [ORG]]
        ):
            error = "Invalid user or password"
        if error:
            return _render(rformat, {"status": "fail", "reason": error})
        return self._answer({key: values[0] for key, values in params.items()}, rformat)

    def _answer(self, params: dict[str, str], rformat: str) -> Response:
        canned = self._canned_answer()
        if canned is not None:
            return canned
        if self._take_failure():
            return Response("Internal Server Error", status=500, mimetype="text/html")
        if self.mode == "hang":
            self._hang()
            # Late and unrecorded: the client gave up, and a later test may share the server.
            return _render(rformat, {"status": "ok"})
        if self.mode == "malformed":
            return Response("<html><body>Welcome to Voiptech</body></html>", mimetype="text/html")
        if self.failures:
            return _render(rformat, {"status": "fail", "reason": self.failures.pop(0)})
        answer = {"status": "ok"}
        if params.get("showUID") == "yes":
            answer["uid1"] = f"1712000000.{next(self._uids)}"
            answer["uid2"] = f"1712000000.{next(self._uids)}"
        self.calls.append({"params": params, "answer": answer})
        return _render(rformat, answer)


def _param_error(params: dict[str, list[str]]) -> str | None:
    """Say what is wrong with the parameters, the way the document describes them."""
    unknown = sorted(set(params) - KNOWN)
    if unknown:
        return f"Invalid parameter {unknown[0]}"
    future = [key for key in FUTURE if key in params]
    needed = REQUIRED + (FUTURE if future else ())
    for key in needed:
        if len(params.get(key, [])) != 1 or not params[key][0]:
            return f"Missing parameter {key}"
    for key, pattern in FORMATS.items():
        values = params.get(key, [])
        if len(values) > 1 or (values and not pattern.fullmatch(values[0])):
            return f"Invalid {key}"
    if "Timeout" in params and not 1 <= int(params["Timeout"][0]) <= 300:
        return "Invalid Timeout"
    if params.get("showUID") == ["yes"] and params.get("Response") != ["yes"]:
        return "showUID needs Response=yes"
    if "Date" in params:
        try:
            datetime.strptime(params["Date"][0], "%Y%m%d%H%M")
        except ValueError:
            return "Invalid Date"
    return None


def _render(rformat: str, answer: dict[str, str]) -> Response:
    if rformat == "json":
        return Response(json.dumps(answer), mimetype="application/json")
    if rformat == "xml":
        root = ElementTree.Element("response")
        for key, value in answer.items():
            ElementTree.SubElement(root, key).text = value
        return Response(ElementTree.tostring(root, encoding="unicode"), mimetype="text/xml")
    if answer["status"] == "fail":
        text = f"FAIL: {answer['reason']}"
    else:
        text = " ".join(["OK", *(f"{k}={v}" for k, v in answer.items() if k != "status")])
    return Response(
        text.replace(" ", "<br>", 1) if rformat == "html" else text,
        mimetype="text/html" if rformat == "html" else "text/plain",
    )
