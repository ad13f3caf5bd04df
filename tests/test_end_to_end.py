"""One callback through every layer: JSON submission → signed job → simulator → status."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import ORIGIN, callbacks, run_jobs, submit_json
from widget_server.core import db
from widget_server.core.models import CallEvent


def test_callback_walks_through_every_simulator_status(
    app: Flask, client: FlaskClient, widget_id: str
) -> None:
    response = submit_json(client, widget_id)
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued"
    assert body["status_url"].startswith("http://localhost/v1/callbacks/")
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN

    status = client.get(body["status_url"]).get_json()
    assert status["status"] == "queued" and status["terminal"] is False

    run_jobs(app)
    status = client.get(body["status_url"]).get_json()
    assert status["status"] == "completed"
    assert status["terminal"] is True
    assert status["number"] == "+1 20 ••• ••23"
    assert "2015550123" not in str(status)

    with app.app_context():
        events = db.session().query(CallEvent).order_by(CallEvent.id).all()
        assert [e.status for e in events if e.applied] == [
            "queued",
            "dialing",
            "agent_ringing",
            "agent_answered",
            "visitor_ringing",
            "connected",
            "completed",
        ]
        # The provider's own "dialing" confirmation is kept, but it moves nothing.
        assert [(e.status, e.source) for e in events if not e.applied] == [("dialing", "simulator")]
    [callback] = callbacks(app)
    assert callback.visitor_number == "+12015550123"
    assert callback.provider_call_id and callback.provider_call_id.startswith("sim-")
    assert callback.attempts == 1
    assert callback.originated_at is not None and callback.finished_at is not None
