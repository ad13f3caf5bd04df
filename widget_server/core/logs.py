"""Structured logs: one JSON object per line, with the request id; numbers arrive masked."""

from __future__ import annotations

import json
import logging
import re
import secrets

from flask import Flask, Response, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class JSONFormatter(logging.Formatter):
    # The stamp has whole seconds: formatted once per second, not once per line (a flood
    # of refusals logs a line each).
    _stamp: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self._time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context() and "request_id" in g:
            entry["request_id"] = g.request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)

    def _time(self, record: logging.LogRecord) -> str:
        second, stamp = self._stamp
        if second != int(record.created):
            stamp = self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z")
            self._stamp = (int(record.created), stamp)
        return stamp


def configure(app: Flask) -> None:
    """Log JSON lines (LOG_FORMAT=json, the default outside development) or plain text."""
    handler = logging.StreamHandler()
    if app.config["LOG_FORMAT"] == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in [h for h in root.handlers if getattr(h, "widget_server", False)]:
        root.removeHandler(existing)
    handler.widget_server = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # No format here shows the caller's file and line, thread or process: skip collecting
    # them for every record (the logging HOWTO's "Optimization").
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False

    @app.before_request
    def request_id() -> None:
        # Keep a well-formed id from the proxy in front, so logs join across hops.
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = offered if _REQUEST_ID.fullmatch(offered) else secrets.token_hex(8)

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        if "request_id" in g:
            response.headers[REQUEST_ID_HEADER] = g.request_id
        return response
