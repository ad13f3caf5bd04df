"""/metrics counts refusals by reason (opted_out, honeypot, ...): only the operator reads it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from tests.helpers import METRICS_TOKEN, add_widget, scrape, submit_json


def test_a_bot_cannot_read_which_refusals_it_triggered(app: Flask) -> None:
    client = app.test_client()
    widget_id = add_widget(app)
    assert submit_json(client, widget_id, website="bot").status_code == 202  # honeypot
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": METRICS_TOKEN},  # the token without its scheme
        {"Authorization": f"Basic {METRICS_TOKEN}"},
    ):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401
        body = response.get_data(as_text=True)
        assert "honeypot" not in body and "refusals" not in body
    assert 'widget_server_refusals_total{reason="honeypot"}' in scrape(client)


@pytest.mark.parametrize("token", [None, ""])
def test_without_an_operator_token_there_is_no_metrics_route(
    make_app: Callable[..., Flask], token: str | None
) -> None:
    app = make_app(METRICS_TOKEN=token)
    response = app.test_client().get("/metrics", headers={"Authorization": "Bearer "})
    assert response.status_code == 404
    assert "widget_server_" not in response.get_data(as_text=True)
