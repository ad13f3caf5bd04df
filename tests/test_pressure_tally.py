"""The pressure count's hits (TALLIED): every window counts, a full one is reported.

Runs on the pass's limit store: in memory, and on Redis in the PostgreSQL pass, where the
whole count is one script (guard.HIT_ALL_SCRIPT).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from limits import parse
from limits.strategies import MovingWindowRateLimiter

from widget_server.intake import guard
from widget_server.intake.guard import NAMESPACE, STORAGE, TALLIED


def tallied(hits: list[guard.Hit]) -> bool:
    """Count the hits as a submission counts them after its limits: was one full?"""
    return guard._hit_all(hits) == TALLIED


def _remaining(app: Flask, limit: str, *key: str) -> int:
    window = MovingWindowRateLimiter(app.extensions[STORAGE])
    return int(window.get_window_stats(parse(limit), NAMESPACE, *key).remaining)


def test_a_full_window_is_reported_and_the_windows_after_it_still_count(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app()
    hits: list[guard.Hit] = [
        (parse("1 per minute"), ("t-one", "w1"), 1, TALLIED, 0),
        (parse("5 per minute"), ("t-five", "w1"), 1, TALLIED, 0),
    ]
    with app.test_request_context():
        assert tallied(hits) is False
        assert tallied(hits) is True  # the first window is full now
        assert _remaining(app, "1 per minute", "t-one", "w1") == 0
        # Counted both times, though the window before it was full the second time.
        assert _remaining(app, "5 per minute", "t-five", "w1") == 3


def test_a_gate_that_stays_shut_skips_the_windows_behind_it(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app()
    sources = (parse("5 per minute"), ("t-sources", "w1"), 1, TALLIED, 0)
    first_time = (parse("1 per hour"), ("t-source", "w1", "client"), 1, None, 1)
    with app.test_request_context():
        assert tallied([first_time, sources]) is False
        assert tallied([first_time, sources]) is False  # same client: not a new source
        assert _remaining(app, "5 per minute", "t-sources", "w1") == 4
        other = (parse("1 per hour"), ("t-source", "w1", "other"), 1, None, 1)
        assert tallied([other, sources]) is False
        assert _remaining(app, "5 per minute", "t-sources", "w1") == 3


def test_submission_limits_still_stop_at_the_first_refusal(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app()
    hits: list[guard.Hit] = [
        (parse("1 per minute"), ("t-number", "n1"), 1, "number_rate_limited", 0),
        (parse("5 per minute"), ("t-widget", "w1"), 1, "widget_rate_limited", 0),
    ]
    with app.test_request_context():
        assert guard._hit_all(hits) is None
        assert guard._hit_all(hits) == "number_rate_limited"
        # The refusal stopped the count: the widget's window counted only the first.
        assert _remaining(app, "5 per minute", "t-widget", "w1") == 4
