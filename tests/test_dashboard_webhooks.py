"""The dashboard's webhook page: URL and write-only secret, egress checks, log, test send."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.dashboard import csrf_token, sign_in
from tests.fakes.server import serve_wsgi
from tests.owned import account_widget, stored_widget
from widget_server.core import db, signing
from widget_server.core.models import WebhookDelivery
from widget_server.owners import webhooks
from widget_server.owners.people import Role

SECRET = "whsec-dashboard-0123456789"
LOCAL = {"WEBHOOK_ALLOW_HTTP": True, "WEBHOOK_ALLOW_PRIVATE": True}


class Receiver:
    """A site owner's endpoint on loopback: records each request, answers `code`."""

    def __init__(self) -> None:
        self.code = 200
        self.received: list[tuple[str | None, bytes]] = []
        self.url = ""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        self.received.append((environ.get("HTTP_X_WIDGET_SERVER_SIGNATURE"), body))
        start_response(f"{self.code} X", [("Content-Type", "text/plain")])
        return [b"ok"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    with serve_wsgi(found) as base:
        found.url = base + "/hooks"
        yield found


def page_url(widget_id: str) -> str:
    return f"/dashboard/widgets/{widget_id}/webhooks"


def save(client: FlaskClient, widget_id: str, url: str, secret: str = "") -> Any:
    token = csrf_token(client, page_url(widget_id))
    return client.post(
        page_url(widget_id), data={"url": url, "secret": secret, "csrf_token": token}
    )


def post(client: FlaskClient, widget_id: str, action: str) -> Any:
    token = csrf_token(client, page_url(widget_id))
    return client.post(f"{page_url(widget_id)}/{action}", data={"csrf_token": token})


def test_set_the_url_and_secret_which_is_never_shown(
    make_app: Callable[..., Flask], receiver: Receiver
):
    app = make_app(**LOCAL)
    client = app.test_client()
    member = sign_in(client, Role.ADMIN)
    widget_id = account_widget(app, member.account_id)
    assert save(client, widget_id, receiver.url, SECRET).status_code == 302
    widget = stored_widget(app, widget_id)
    assert widget.webhook_url == receiver.url and widget.webhook_secret == SECRET
    html = client.get(page_url(widget_id)).get_data(as_text=True)
    assert receiver.url in html and SECRET not in html and "The webhook is saved." in html
    # The secret field never shows the stored value, nor invites the member's own password.
    assert 'type="password"' in html and 'autocomplete="new-password"' in html
    # An empty secret keeps the stored one; a new one replaces it.
    assert save(client, widget_id, receiver.url + "/v2").status_code == 302
    assert stored_widget(app, widget_id).webhook_secret == SECRET
    assert save(client, widget_id, receiver.url, SECRET + "-new").status_code == 302
    assert stored_widget(app, widget_id).webhook_secret == SECRET + "-new"
    # Turned off: neither URL nor secret stays.
    assert post(client, widget_id, "clear").status_code == 302
    widget = stored_widget(app, widget_id)
    assert widget.webhook_url is None and widget.webhook_secret is None


def test_a_url_needs_a_secret_and_a_short_secret_is_refused(app: Flask, client: FlaskClient):
    member = sign_in(client, Role.OWNER)
    widget_id = account_widget(app, member.account_id)
    answer = save(client, widget_id, "https://crm.example.com/hooks")
    assert answer.status_code == 400
    assert "is required when webhook_url is set" in answer.get_data(as_text=True)
    short = save(client, widget_id, "https://crm.example.com/hooks", "short")
    assert short.status_code == 400 and "16 to 256" in short.get_data(as_text=True)
    assert stored_widget(app, widget_id).webhook_url is None


def test_a_url_resolving_to_a_private_address_is_refused(
    app: Flask, client: FlaskClient, loopback_resolver: dict[str, list[str]]
):
    loopback_resolver["crm.example.com"] = ["10.1.2.3"]
    loopback_resolver["meta.example.com"] = ["169.254.169.254"]
    member = sign_in(client, Role.OWNER)
    widget_id = account_widget(app, member.account_id)
    for url in ("https://crm.example.com/hooks", "https://meta.example.com/", "http://10.0.0.1/"):
        answer = save(client, widget_id, url, SECRET)
        assert answer.status_code == 400, url
        html = answer.get_data(as_text=True)
        assert "Not saved:" in html and 'aria-invalid="true"' in html
    assert stored_widget(app, widget_id).webhook_url is None


def test_send_test_shows_the_result_and_logs_it(make_app: Callable[..., Flask], receiver: Receiver):
    app = make_app(**LOCAL)
    client = app.test_client()
    member = sign_in(client, Role.ADMIN)
    widget_id = account_widget(app, member.account_id)
    save(client, widget_id, receiver.url, SECRET)
    assert post(client, widget_id, "test").status_code == 302
    html = client.get(page_url(widget_id)).get_data(as_text=True)
    assert "Test event delivered: the receiver answered HTTP 200." in html
    [(signature, body)] = receiver.received
    assert signing.verify(SECRET, signature, body)
    assert json.loads(body)["type"] == "webhook.test"
    assert "webhook.test" in html and "delivered" in html
    receiver.code = 500
    post(client, widget_id, "test")
    html = client.get(page_url(widget_id)).get_data(as_text=True)
    assert "Test event not delivered: answered HTTP 500." in html and "HTTP 500" in html


def test_send_test_without_a_url_says_so(app: Flask, client: FlaskClient):
    member = sign_in(client, Role.ADMIN)
    widget_id = account_widget(app, member.account_id)
    assert post(client, widget_id, "test").status_code == 302
    assert "Save a webhook URL and secret first." in client.get(page_url(widget_id)).get_data(
        as_text=True
    )


def test_send_test_to_a_private_address_is_refused_by_egress(
    app: Flask, client: FlaskClient, loopback_resolver: dict[str, list[str]]
):
    loopback_resolver["crm.example.com"] = ["93.184.215.14"]
    member = sign_in(client, Role.ADMIN)
    widget_id = account_widget(app, member.account_id)
    assert save(client, widget_id, "https://crm.example.com/hooks", SECRET).status_code == 302
    loopback_resolver["crm.example.com"] = ["127.0.0.1"]  # the name now points inside
    post(client, widget_id, "test")
    html = client.get(page_url(widget_id)).get_data(as_text=True)
    assert "Test event not delivered:" in html


def add_deliveries(app: Flask, widget_id: str, count: int) -> list[int]:
    with app.app_context():
        session = db.session()
        rows = [
            WebhookDelivery(
                widget_id=widget_id,
                event="callback.created",
                payload={"id": f"evt_{n}"},
                status="delivered",
                attempts=1,
                last_status_code=200 + n,
            )
            for n in range(count)
        ]
        session.add_all(rows)
        session.commit()
        return [row.id for row in rows]


def test_the_log_is_paged_newest_first_and_scoped(app: Flask, client: FlaskClient):
    member = sign_in(client, Role.VIEWER)
    widget_id = account_widget(app, member.account_id)
    other = account_widget(app, sign_in(app.test_client(), Role.OWNER).account_id)
    size = webhooks.LOG_PAGE_SIZE
    add_deliveries(app, widget_id, size + 3)
    add_deliveries(app, other, 1)
    first = client.get(page_url(widget_id)).get_data(as_text=True)
    assert first.count('<code dir="ltr">callback.created</code>') == size
    assert f"HTTP {200 + size + 2}" in first and "HTTP 200<" not in first
    older = first.split("Older deliveries")[0].rsplit('href="', 1)[1].split('"')[0]
    second = client.get(older.replace("&amp;", "&")).get_data(as_text=True)
    assert second.count('<code dir="ltr">callback.created</code>') == 3
    assert "HTTP 200<" in second and "Older deliveries" not in second
    assert client.get(page_url(other)).status_code == 404  # another account's log
    assert client.get(page_url(widget_id) + "?before=junk").status_code == 200


def test_a_viewer_reads_but_cannot_change(app: Flask, client: FlaskClient):
    member = sign_in(client, Role.VIEWER)
    widget_id = account_widget(app, member.account_id)
    html = client.get(page_url(widget_id)).get_data(as_text=True)
    assert "Save webhook" not in html and "Send a test event" not in html
    token = csrf_token(client, page_url(widget_id))
    for path in ("", "/clear", "/test"):
        answer = client.post(
            page_url(widget_id) + path,
            data={"url": "https://crm.example.com/", "secret": SECRET, "csrf_token": token},
        )
        assert answer.status_code == 403, path
    assert stored_widget(app, widget_id).webhook_url is None
