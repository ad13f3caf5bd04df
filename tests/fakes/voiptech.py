"""A strict local stand-in for Voiptech's dialup.php click2call, as its document describes it.

The document shows no answer bodies; this fake answers in the shapes the adapter assumes
(see widget_server/providers/voiptech.py): ``{"status": "ok", "uid1", "uid2"}`` in json,
``<response><status>…`` in xml, ``ok uid1=… uid2=…`` or ``FAIL: reason`` in text.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime
from itertools import count
from typing import Any
from xml.etree import ElementTree

from werkzeug.wrappers import Request, Response

from tests.fakes.server import serve_wsgi

PROVIDER = "voiptech"
PATH = "/API/dialup.php"
USER = "widget"
PASSWORD = "s3cret pass&word"  # form encoding must carry the space and the "&"
ORG = "acme"
MODES = ("ok", "bad_auth", "error_then_ok", "hang", "malformed")
HANG_SECONDS = 3.0
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


class Fake:
    """Voiptech's dialup.php on a loopback port, recording every request."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []  # the calls it accepted, with their parameters
        self.canned: list[tuple[int, Any]] = []  # raw answers for the next valid originates
        self.failures: list[str] = []  # "fail" reasons for the next valid originates
        self.base_url = ""
        self._uids = count(1)
        self._release = threading.Event()
        self._server: Any = None
        self.mode = "ok"

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"unknown mode {value!r}")
        self._mode = value
        self._fail_next = value == "error_then_ok"

    def __enter__(self) -> Fake:
        self._server = serve_wsgi(self.app)
        self.base_url = self._server.__enter__() + "/API"
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._release.set()  # lets a hanging answer finish so the server stops at once
        self._server.__exit__(*exc_info)

    def reset(self) -> None:
        """Forget every request and answer, and go back to mode "ok" (to share one server)."""
        self._release.set()
        self._release = threading.Event()
        self.received.clear()
        self.calls.clear()
        self.canned.clear()
        self.failures.clear()
        self.mode = "ok"

    def originate_count(self) -> int:
        """Count the call-starting requests received, answered or not."""
        return sum(1 for entry in self.received if entry["originate"])

    def answer_next(self, status: int, body: str) -> None:
        """Answer the next valid originate with `status` and a raw text `body`."""
        self.canned.append((status, body))

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
        if self.canned:
            status, body = self.canned.pop(0)
            return Response(body, status=status, mimetype="text/html")
        if self._fail_next:
            self._fail_next = False
            return Response("Internal Server Error", status=500, mimetype="text/html")
        if self.mode == "hang":
            self._release.wait(HANG_SECONDS)
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

    def _record(self, request: Request, originate: bool) -> None:
        raw = request.get_data(cache=True)
        form = request.form.to_dict(flat=False) if request.mimetype.endswith("urlencoded") else None
        self.received.append(
            {
                "method": request.method,
                "path": request.path,
                "query": request.args.to_dict(flat=False),
                "query_string": request.query_string.decode("latin-1"),
                "headers": dict(request.headers),
                "body": form,
                "raw_body": raw,
                "originate": originate,
            }
        )


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
