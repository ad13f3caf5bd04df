"""The usual answer time a visitor is told: the median over a widget's recent connected calls."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from tests.helpers import add_widget
from widget_server.calls import answer_time
from widget_server.core import db
from widget_server.core.models import Callback, CallEvent
from widget_server.core.statuses import Status


def connected_calls(app: Flask, widget_id: str, waits: list[int]) -> None:
    with app.app_context():
        session = db.session()
        for index, wait in enumerate(waits):
            callback = Callback(widget_id=widget_id, visitor_number=f"+1201555{index:04d}")
            session.add(callback)
            session.flush()
            session.add(
                CallEvent(
                    callback_id=callback.id,
                    status=Status.CONNECTED.value,
                    source="simulator",
                    occurred_at=callback.created_at + timedelta(seconds=wait),
                )
            )
        session.commit()


def usual(app: Flask, widget_id: str) -> int | None:
    with app.app_context():
        answer_time.forget(widget_id)
        return answer_time.usual_answer_seconds(db.session(), widget_id)


def test_nothing_is_said_before_ten_connected_calls(app: Flask) -> None:
    widget_id = add_widget(app)
    connected_calls(app, widget_id, [12] * 9)
    assert usual(app, widget_id) is None


def test_the_median_is_rounded_up_to_five_seconds(app: Flask) -> None:
    widget_id = add_widget(app)
    other = add_widget(app)
    connected_calls(app, widget_id, [8, 9, 11, 12, 13, 14, 16, 90, 120, 300])
    connected_calls(app, other, [1] * 10)  # another widget's calls do not count
    assert usual(app, widget_id) == 15  # median 13.5 s
    assert usual(app, other) == 5  # never "within 0 seconds"


def test_the_figure_is_kept_briefly(app: Flask) -> None:
    widget_id = add_widget(app)
    connected_calls(app, widget_id, [20] * 10)
    assert usual(app, widget_id) == 20
    connected_calls(app, widget_id, [40] * 30)
    with app.app_context():  # cached: no query until the figure is a minute old
        assert answer_time.usual_answer_seconds(db.session(), widget_id) == 20
    assert usual(app, widget_id) == 40
