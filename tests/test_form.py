"""The form page: WTForms rendering, no-JavaScript flow, JSON mode, CSP, origins."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import ORIGIN, SERVER, VALID_US, add_widget, callbacks, run_jobs

SELF = {"Origin": SERVER}


def get_form(client: FlaskClient, widget_id: str, host: str = ORIGIN) -> tuple[str, dict]:
    response = client.get(f"/w/{widget_id}?host={host}&page=https://shop.example.com/x")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    fields = dict(re.findall(r'name="(token|host|page_url)" type="hidden" value="([^"]*)"', html))
    return html, fields


def test_form_page_renders_fields_and_headers(client: FlaskClient, widget_id: str) -> None:
    response = client.get(f"/w/{widget_id}?host={ORIGIN}")
    html = response.get_data(as_text=True)
    assert 'type="tel"' in html and 'inputmode="tel"' in html and 'autocomplete="tel"' in html
    # The dial code isolated left to right, the flag last (type-to-search reads the name).
    united_states = "United States \u2066+1\u2069 \U0001f1fa\U0001f1f8"
    assert f'<option selected value="US">{united_states}</option>' in html
    assert 'name="website"' in html and 'class="hp" aria-hidden="true"' in html
    assert f'data-host="{ORIGIN}"' in html
    policy = response.headers["Content-Security-Policy"]
    assert f"frame-ancestors 'self' {ORIGIN} {SERVER}" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["Cache-Control"] == "no-store"


def test_unknown_host_is_not_trusted_with_messages(client: FlaskClient, widget_id: str) -> None:
    html, fields = get_form(client, widget_id, host="https://evil.example")
    assert 'data-host=""' in html
    assert fields["host"] == SERVER


def test_consent_checkbox_only_when_the_widget_asks(app: Flask, client: FlaskClient) -> None:
    plain = add_widget(app)
    asking = add_widget(app, require_consent=True, texts={"consent": "Yes, call me."})
    assert 'name="consent"' not in client.get(f"/w/{plain}").get_data(as_text=True)
    html = client.get(f"/w/{asking}").get_data(as_text=True)
    assert 'name="consent"' in html and "Yes, call me." in html


def test_no_javascript_submit_redirects_to_a_live_status_page(
    app: Flask, client: FlaskClient, widget_id: str
) -> None:
    _, fields = get_form(client, widget_id)
    response = client.post(
        f"/w/{widget_id}", data={**fields, "phone": VALID_US, "region": "US"}, headers=SELF
    )
    assert response.status_code == 303
    status_page = response.headers["Location"]
    page = client.get(status_page).get_data(as_text=True)
    assert "Request received" in page and 'http-equiv="refresh"' in page
    [callback] = callbacks(app)
    assert callback.page_url == "https://shop.example.com/x" and callback.origin == ORIGIN
    run_jobs(app)
    page = client.get(status_page).get_data(as_text=True)
    assert "Call finished" in page and 'http-equiv="refresh"' not in page
    assert "+1 20 ••• ••23" in page


def test_refused_number_re_renders_the_form_with_the_message(
    client: FlaskClient, widget_id: str
) -> None:
    _, fields = get_form(client, widget_id)
    response = client.post(
        f"/w/{widget_id}",
        data={**fields, "phone": "+44 20 7946 0958", "region": "US"},
        headers=SELF,
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "We can&#39;t call numbers in that country." in html
    assert 'aria-invalid="true"' in html
    assert 'value="+44 20 7946 0958"' in html  # what the visitor typed stays in the field


def test_json_mode_answers_202_or_field_errors_with_a_fresh_token(
    client: FlaskClient, widget_id: str
) -> None:
    _, fields = get_form(client, widget_id)
    headers = {**SELF, "Accept": "application/json"}
    refused = client.post(
        f"/w/{widget_id}", data={**fields, "phone": "12", "region": "US"}, headers=headers
    )
    assert refused.status_code == 422
    body = refused.get_json()
    assert "phone" in body["fields"] and body["token"]
    accepted = client.post(
        f"/w/{widget_id}",
        data={**fields, "token": body["token"], "phone": VALID_US, "region": "US"},
        headers=headers,
    )
    assert accepted.status_code == 202
    assert accepted.get_json()["status_url"].startswith("http://localhost/v1/callbacks/")


def test_cross_site_form_post_is_forbidden(app: Flask, client: FlaskClient, widget_id: str):
    _, fields = get_form(client, widget_id)
    for headers in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/x"}, {}):
        response = client.post(
            f"/w/{widget_id}",
            data={**fields, "phone": VALID_US, "region": "US"},
            headers=headers,
        )
        assert response.status_code == 403
        assert "not allowed" in response.get_data(as_text=True)
    assert callbacks(app) == []


def test_honeypot_looks_like_success_and_is_never_dialled(
    app: Flask, client: FlaskClient, widget_id: str
) -> None:
    app.extensions["clock"].set(datetime.now(UTC))  # its visitor's view stays at "queued"
    _, fields = get_form(client, widget_id)
    response = client.post(
        f"/w/{widget_id}",
        data={**fields, "phone": VALID_US, "region": "US", "website": "spam"},
        headers=SELF,
    )
    assert response.status_code == 303
    assert "Request received" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert run_jobs(app) == 0
    assert [(c.status, c.cause) for c in callbacks(app)] == [("rejected", "honeypot")]


def test_bad_form_fields_are_friendly(client: FlaskClient, widget_id: str) -> None:
    _, fields = get_form(client, widget_id)
    response = client.post(
        f"/w/{widget_id}", data={**fields, "phone": "", "region": "XX"}, headers=SELF
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Enter your phone number." in html
    assert "Traceback" not in html


def test_form_for_an_unknown_widget_is_a_friendly_404(client: FlaskClient) -> None:
    response = client.get("/w/nope")
    assert response.status_code == 404
    assert response.mimetype == "text/html" and "Sorry" in response.get_data(as_text=True)
