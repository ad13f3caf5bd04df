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
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context() and "request_id" in g:
            entry["request_id"] = g.request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


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
