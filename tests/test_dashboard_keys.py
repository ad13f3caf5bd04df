"""The dashboard's API keys page: a key shown once and never again, revoke, roles."""

from __future__ import annotations

import logging
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.dashboard import csrf_token, sign_in
from tests.helpers import admin_auth
from widget_server.owners.people import Role

KEY = re.compile(r"wsk_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}")


def create(client: FlaskClient, name: str = "CRM sync") -> object:
    token = csrf_token(client, "/dashboard/keys")
    return client.post("/dashboard/keys", data={"name": name, "csrf_token": token})


def test_a_new_key_is_shown_once_and_works(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    member = sign_in(client, Role.ADMIN)
    answer = create(client)
    assert answer.status_code == 201  # type: ignore[attr-defined]
    assert answer.headers["Cache-Control"] == "no-store"  # type: ignore[attr-defined]
    found = KEY.findall(answer.get_data(as_text=True))  # type: ignore[attr-defined]
    assert len(found) == 1
    key = found[0]
    # It works on the admin API of this account.
    listed = client.get(f"/v1/accounts/{member.account_id}/clicktocall", headers=admin_auth(key))
    assert listed.status_code == 200
    # Never again: not on the page, not in the session cookie, not in any log line.
    later = client.get("/dashboard/keys").get_data(as_text=True)
    assert key not in later and "CRM sync" in later
    assert key[:16] + "…" in later  # the visible part only
    cookies = " ".join(c.value for c in client._cookies.values())  # type: ignore[attr-defined]
    assert key not in cookies
    secret = key.split("_", 2)[2]  # wsk_<lookup>_<secret>; the secret may hold "_" itself
    assert key not in caplog.text and secret not in caplog.text


def test_a_key_needs_a_name(app: Flask, client: FlaskClient):
    sign_in(client, Role.OWNER)
    answer = create(client, "   ")
    assert answer.status_code == 400  # type: ignore[attr-defined]
    html = answer.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Give the key a name." in html and 'aria-invalid="true"' in html
    assert not KEY.search(html)
    too_long = create(client, "x" * 129)
    assert too_long.status_code == 400  # type: ignore[attr-defined]


def test_revoke_asks_first_then_the_key_stops_working(app: Flask, client: FlaskClient):
    member = sign_in(client, Role.ADMIN)
    key = KEY.findall(create(client).get_data(as_text=True))[0]  # type: ignore[attr-defined]
    page = client.get("/dashboard/keys").get_data(as_text=True)
    confirm_url = re.search(r'href="(/dashboard/keys/[0-9a-f]{32}/revoke)"', page)
    assert confirm_url
    confirm = client.get(confirm_url.group(1))
    assert confirm.status_code == 200 and "cannot be undone" in confirm.get_data(as_text=True)
    token = csrf_token(client, confirm_url.group(1))
    done = client.post(confirm_url.group(1), data={"csrf_token": token})
    assert done.status_code == 302
    after = client.get("/dashboard/keys").get_data(as_text=True)
    assert "revoked" in after and "is revoked" in after
    api = client.get(f"/v1/accounts/{member.account_id}/clicktocall", headers=admin_auth(key))
    assert api.status_code == 401


def test_viewers_get_no_keys_page_and_no_action(app: Flask, client: FlaskClient):
    owner = app.test_client()
    member = sign_in(owner, Role.OWNER)
    create(owner)
    key_id = re.search(
        r"/dashboard/keys/([0-9a-f]{32})/revoke",
        owner.get("/dashboard/keys").get_data(as_text=True),
    )
    assert key_id
    sign_in(client, Role.VIEWER, account_id=member.account_id)
    assert client.get("/dashboard/keys").status_code == 403
    token = csrf_token(client, "/dashboard/install")
    assert (
        client.post("/dashboard/keys", data={"name": "x", "csrf_token": token}).status_code == 403
    )
    revoke = f"/dashboard/keys/{key_id.group(1)}/revoke"
    assert client.post(revoke, data={"csrf_token": token}).status_code == 403
    assert ">active<" in owner.get("/dashboard/keys").get_data(as_text=True)


def test_another_accounts_key_is_not_found(app: Flask, client: FlaskClient):
    owner = app.test_client()
    sign_in(owner, Role.OWNER)
    create(owner, "Theirs")
    page = owner.get("/dashboard/keys").get_data(as_text=True)
    key_id = re.search(r"/dashboard/keys/([0-9a-f]{32})/revoke", page)
    assert key_id
    sign_in(client, Role.OWNER)  # another account
    mine = client.get("/dashboard/keys").get_data(as_text=True)
    assert "Theirs" not in mine
    revoke = f"/dashboard/keys/{key_id.group(1)}/revoke"
    assert client.get(revoke).status_code == 404
    token = csrf_token(client, "/dashboard/keys")
    assert client.post(revoke, data={"csrf_token": token}).status_code == 404
    assert ">active<" in owner.get("/dashboard/keys").get_data(as_text=True)
