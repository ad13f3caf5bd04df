"""Health, readiness and metrics."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import add_widget, run_jobs, scrape, submit_json


def test_healthz_and_readyz(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"database": "ok", "rate_limits": "ok", "queue": "ok"}


def test_readyz_is_503_when_the_limit_store_is_down(make_app: Callable[..., Flask]) -> None:
    app = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["rate_limits"] != "ok"
    assert app.test_client().get("/healthz").status_code == 200


def test_metrics_count_requests_callbacks_refusals_and_provider_calls(
    app: Flask, client: FlaskClient
) -> None:
    widget_id = add_widget(app)
    assert submit_json(client, widget_id).status_code == 202
    assert submit_json(client, widget_id, phone="+44 20 7946 0958").status_code == 422
    honeypot = submit_json(client, widget_id, phone="+1 201 555 0124", website="bot")
    assert honeypot.status_code == 202
    run_jobs(app)
    body = scrape(client)
    assert 'widget_server_refusals_total{reason="region_not_allowed"}' in body
    assert 'widget_server_refusals_total{reason="honeypot"}' in body
    assert 'widget_server_callback_status_total{status="completed"}' in body
    assert 'widget_server_provider_originate_seconds_count{provider="simulator"}' in body
    assert 'route="/v1/widgets/<widget_id>/callbacks",status="202"' in body
    assert "widget_server_queue_depth" in body
    assert "widget_server_dial_job_latency_seconds_bucket" in body
    assert "2015550123" not in body


def test_logs_are_json_lines_with_the_request_id_and_no_raw_numbers(
    app: Flask, client: FlaskClient, capsys: object
) -> None:
    import json
    import logging

    widget_id = add_widget(app)
    response = submit_json(client, widget_id, phone="+1 201 555 0123")
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 16
    echoed = client.get("/healthz", headers={"X-Request-ID": "edge-42"})
    assert echoed.headers["X-Request-ID"] == "edge-42"
    forged = client.get("/healthz", headers={"X-Request-ID": "bad id\\r\\nX: y"})
    assert forged.headers["X-Request-ID"] != "bad id\\r\\nX: y"

    handler = next(h for h in logging.getLogger().handlers if getattr(h, "widget_server", 0))
    record = logging.LogRecord(
        "widget_server.test",
        logging.INFO,
        __file__,
        1,
        "accepted number=%s",
        ("+1 20 ••• ••23",),
        None,
    )
    line = json.loads(handler.format(record))
    assert line["level"] == "INFO" and line["message"] == "accepted number=+1 20 ••• ••23"
