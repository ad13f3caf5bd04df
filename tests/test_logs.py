"""Log lines: one JSON object each, stamped to the second, with the request's id."""

from __future__ import annotations

import json
import logging
import time

from flask import Flask

from widget_server.core.logs import JSONFormatter


def record(created: float, message: str = "accepted callback=x") -> logging.LogRecord:
    entry = logging.LogRecord("widget_server.test", logging.INFO, "", 0, message, (), None)
    entry.created = created
    return entry


def test_a_line_is_one_json_object_stamped_to_its_second() -> None:
    formatter = JSONFormatter()
    now = time.time()
    second = int(now)
    lines = [
        json.loads(formatter.format(record(created)))
        for created in (second + 0.1, second + 0.9, second + 1.2, second + 0.5)
    ]
    expected = [
        time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(created))
        for created in (second, second, second + 1, second)
    ]
    # The stamp is kept for its second only: a later second, or an earlier one logged
    # late by another thread, gets its own.
    assert [line["time"] for line in lines] == expected
    assert lines[0] == {
        "time": expected[0],
        "level": "INFO",
        "logger": "widget_server.test",
        "message": "accepted callback=x",
    }


def test_a_request_line_carries_the_request_id(app: Flask) -> None:
    formatter = JSONFormatter()
    with app.test_request_context():
        app.preprocess_request()
        line = json.loads(formatter.format(record(time.time())))
    assert len(line["request_id"]) == 16
