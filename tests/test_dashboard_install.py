"""The dashboard's install page: snippet, where the widget loads, "Allow this origin"."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.dashboard import csrf_token, sign_in
from tests.helpers import ORIGIN
from tests.owned import account_widget, stored_widget
from widget_server.owners.people import Role

STRANGER = "https://copycat.example.net"


def install_url(widget_id: str) -> str:
    return f"/dashboard/widgets/{widget_id}/install"


def load(client: FlaskClient, widget_id: str, origin: str) -> int:
    return client.get(f"/v1/widgets/{widget_id}/config", headers={"Origin": origin}).status_code


def allow(client: FlaskClient, widget_id: str, origin: str, token: str | None = None) -> object:
    token = token if token is not None else csrf_token(client, install_url(widget_id))
    return client.post(
        f"{install_url(widget_id)}/allow", data={"origin": origin, "csrf_token": token}
    )


def test_the_page_shows_the_snippet_on_the_public_origin(app: Flask, client: FlaskClient):
    member = sign_in(client, Role.VIEWER)
    widget_id = account_widget(app, member.account_id)
    page = client.get(install_url(widget_id))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    expected = f'src="http://localhost/widget.js" data-widget="{widget_id}"'
    assert expected in html.replace("&#34;", '"').replace("&quot;", '"')
    assert 'data-copy="snippet"' in html
    assert re.search(r"/assets/dashboard/copy\.[0-9a-f]{16}\.js", html)
    assert "not seen yet" in html


def test_a_refused_load_warns_and_one_click_allows_it(app: Flask, client: FlaskClient):
    member = sign_in(client, Role.ADMIN)
    widget_id = account_widget(app, member.account_id)
    visitor = app.test_client()
    assert load(visitor, widget_id, ORIGIN) == 200
    assert load(visitor, widget_id, STRANGER) == 200  # answered, but not allowed

    html = client.get(install_url(widget_id)).get_data(as_text=True)
    assert "Not allowed here" in html and STRANGER in html
    assert "Allow this origin" in html
    # The allowed origin shows when it was last seen, not "not seen yet".
    assert html.count("not seen yet") == 1  # only this server's own origin

    answer = allow(client, widget_id, STRANGER)
    assert answer.status_code == 302  # type: ignore[attr-defined]
    assert STRANGER in stored_widget(app, widget_id).allowed_origins
    after = client.get(install_url(widget_id)).get_data(as_text=True)
    assert "Not allowed here" not in after
    assert "is now allowed" in after
    assert load(visitor, widget_id, STRANGER) == 200  # the next load is allowed


def test_allow_checks_the_origin_as_the_admin_api_does(app: Flask, client: FlaskClient):
    member = sign_in(client, Role.OWNER)
    widget_id = account_widget(app, member.account_id)
    refused = allow(client, widget_id, "ftp://files.example.com")
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert "cannot be allowed" in refused.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "ftp://files.example.com" not in stored_widget(app, widget_id).allowed_origins


def test_allow_needs_a_csrf_token(app: Flask, client: FlaskClient):
    member = sign_in(client, Role.OWNER)
    widget_id = account_widget(app, member.account_id)
    refused = client.post(f"{install_url(widget_id)}/allow", data={"origin": STRANGER})
    assert refused.status_code == 400
    assert "security token" in refused.get_data(as_text=True)
    assert STRANGER not in stored_widget(app, widget_id).allowed_origins


def test_a_viewer_sees_the_warning_but_cannot_allow(app: Flask, client: FlaskClient):
    member = sign_in(client, Role.VIEWER)
    widget_id = account_widget(app, member.account_id)
    load(app.test_client(), widget_id, STRANGER)
    html = client.get(install_url(widget_id)).get_data(as_text=True)
    assert STRANGER in html and "Allow this origin" not in html
    token = csrf_token(client, install_url(widget_id))
    assert allow(client, widget_id, STRANGER, token).status_code == 403  # type: ignore[attr-defined]
    assert STRANGER not in stored_widget(app, widget_id).allowed_origins


def test_another_accounts_widget_is_not_found(app: Flask, client: FlaskClient):
    owner_a = app.test_client()
    member_a = sign_in(owner_a, Role.OWNER)
    widget_id = account_widget(app, member_a.account_id)
    sign_in(client, Role.OWNER)  # account B
    assert client.get(install_url(widget_id)).status_code == 404
    token = csrf_token(client, "/dashboard/install")
    assert allow(client, widget_id, STRANGER, token).status_code == 404  # type: ignore[attr-defined]
    assert client.get(install_url("not-an-id")).status_code == 404
    assert STRANGER not in stored_widget(app, widget_id).allowed_origins


def test_the_index_lists_only_the_accounts_widgets(app: Flask, client: FlaskClient):
    member = sign_in(client, Role.VIEWER)
    mine = account_widget(app, member.account_id, name="Front desk")
    other = sign_in(app.test_client(), Role.OWNER)
    theirs = account_widget(app, other.account_id, name="Elsewhere")
    html = client.get("/dashboard/install").get_data(as_text=True)
    assert install_url(mine) in html and "Front desk" in html
    assert theirs not in html and "Elsewhere" not in html


def test_signed_out_goes_to_sign_in(app: Flask, client: FlaskClient):
    answer = client.get(install_url("a" * 32))
    assert answer.status_code == 302 and "/dashboard/sign-in" in answer.headers["Location"]
