"""The audit log: an entry for each owner action, written with the action or not at all."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.audit_data import actions, entries, stored_text
from tests.dashboard import PASSWORD, add_person, csrf_token, post_sign_in, sign_in
from tests.fakes.server import serve_wsgi
from tests.helpers import add_account, admin_auth
from tests.inbox_data import store_callback, widget_of_account
from tests.owned import account_widget
from widget_server.core import db
from widget_server.core.models import ApiKey, utcnow
from widget_server.owners import audit
from widget_server.owners.people import Role

SECRET = "whsec-audit-0123456789abcdef"
TOKEN = "kazoo-secret-token-audit-1234"
LOCAL = {"WEBHOOK_ALLOW_HTTP": True, "WEBHOOK_ALLOW_PRIVATE": True}


def post(client: FlaskClient, path: str, page: str = "/dashboard/", **data: Any) -> Any:
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


@pytest.fixture
def receiver() -> Iterator[str]:
    def answer(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    with serve_wsgi(answer) as base:
        yield base + "/hooks"


# Sign-in ------------------------------------------------------------------------------------


def test_sign_in_is_recorded_with_who_and_the_address(app: Flask, client: FlaskClient) -> None:
    member = sign_in(client)
    (entry,) = entries(app, member.account_id)
    assert entry.action == audit.SIGN_IN
    assert (entry.user_id, entry.actor) == (member.user_id, member.email)
    assert entry.address == "127.0.0.1" and entry.at is not None


def test_a_wrong_password_is_recorded_in_the_users_accounts_without_the_password(
    app: Flask,
) -> None:
    owner = add_person(app, Role.OWNER, email="owner@example.com")
    add_person(app, Role.VIEWER, email="owner@example.com")  # the same user, a second account
    typed = "not-the-password-1234"
    assert post_sign_in(app.test_client(), owner.email, typed).status_code == 401
    failed = entries(app)
    assert [e.action for e in failed] == [audit.SIGN_IN_FAILED] * 2
    assert {e.account_id for e in failed} != {owner.account_id}  # both accounts, one each
    assert all(e.actor == owner.email and e.user_id == owner.user_id for e in failed)
    assert typed not in stored_text(app) and PASSWORD not in stored_text(app)


def test_an_unknown_email_is_recorded_against_no_account_and_not_stored(app: Flask) -> None:
    owner = add_person(app, Role.OWNER)
    typed_email = "nobody-here@example.com"
    answer = post_sign_in(app.test_client(), typed_email, "guess-guess-guess")
    assert answer.status_code == 401
    (entry,) = entries(app)
    assert entry.action == audit.SIGN_IN_FAILED and entry.account_id is None
    assert entry.address == "127.0.0.1" and entry.actor == ""
    assert typed_email not in stored_text(app) and "guess-guess-guess" not in stored_text(app)
    assert entries(app, owner.account_id) == []  # in no account's log


def test_the_address_is_the_one_the_proxy_settings_trust(make_app: Callable[..., Flask]) -> None:
    app = make_app(PROXY_HOPS=1)
    client = app.test_client()
    member = add_person(app, Role.OWNER)
    forwarded = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    client.get("/dashboard/sign-in")
    token = csrf_token(client)
    data = {"email": member.email, "password": PASSWORD, "csrf_token": token}
    assert client.post("/dashboard/sign-in", data=data, headers=forwarded).status_code == 302
    # One proxy trusted: its hop names the client; the address the client claimed is not used.
    assert entries(app, member.account_id)[0].address == "203.0.113.7"


# Widgets and provider settings ----------------------------------------------------------


def test_widget_created_changed_provider_replaced_and_deleted(
    app: Flask, client: FlaskClient, loopback_resolver: dict[str, list[str]]
) -> None:
    loopback_resolver["kazoo.example.com"] = ["93.184.216.34"]
    member = sign_in(client, Role.ADMIN)
    created = post(
        client, "/dashboard/widgets", "/dashboard/widgets", name="Sales", extension="1001"
    )
    assert created.status_code == 303
    widget_id = created.location.rsplit("/", 1)[1]
    url = f"/dashboard/widgets/{widget_id}/provider"
    settings = {
        "setting__base_url": "https://kazoo.example.com:8000",
        "setting__account_id": "a" * 32,
        "setting__auth_token": TOKEN,
        "setting__clicktocall_id": "b" * 32,
        "setting__api_version": "v1",
    }
    saved = post(client, url, url, provider="kazoo", action="save", **settings)
    assert saved.status_code == 303, saved.get_data(as_text=True)
    removed = post(client, f"/dashboard/widgets/{widget_id}/delete", f"{url}")
    assert removed.status_code == 303
    found = entries(app, member.account_id)[1:]  # after the sign-in
    assert [e.action for e in found] == [
        audit.WIDGET_CREATED,
        audit.WIDGET_CHANGED,
        audit.PROVIDER_SETTINGS_REPLACED,
        audit.WIDGET_DELETED,
    ]
    assert all(e.object_type == "widget" and e.object_id == widget_id for e in found)
    assert found[0].details == {"name": "Sales"}
    assert found[1].details["fields"] == ["provider", "provider_settings"]
    assert found[2].details["provider"] == "kazoo"
    assert set(found[2].details["settings"]) >= {"auth_token", "base_url", "account_id"}
    assert TOKEN not in stored_text(app) and TOKEN[-4:] not in stored_text(app)


def test_a_widget_save_names_the_changed_fields_and_a_refused_one_leaves_nothing(
    app: Flask, client: FlaskClient
) -> None:
    from tests.test_dashboard_widgets import save

    member = sign_in(client, Role.ADMIN)
    widget_id = account_widget(app, member.account_id)
    assert save(client, widget_id, app).status_code == 303  # the editor fills in its defaults
    first = entries(app, member.account_id, audit.WIDGET_CHANGED)
    assert "name" not in first[0].details["fields"]
    assert save(client, widget_id, app, name="Support", timeout="45").status_code == 303
    changed = entries(app, member.account_id, audit.WIDGET_CHANGED)[1:]
    assert [e.details["fields"] for e in changed] == [["name", "timeout"]]
    # The domain refuses: the save rolls back, and so does its entry.
    assert save(client, widget_id, app, timeout="900").status_code == 400
    assert save(client, widget_id, app).status_code == 303  # saved as it was: nothing new
    assert len(entries(app, member.account_id, audit.WIDGET_CHANGED)) == 2


# Keys and members ---------------------------------------------------------------------------


def test_key_created_and_revoked_name_the_key_by_its_public_part(
    app: Flask, client: FlaskClient
) -> None:
    member = sign_in(client, Role.ADMIN)
    created = post(client, "/dashboard/keys", "/dashboard/keys", name="CRM sync")
    assert created.status_code == 201
    key_text = created.get_data(as_text=True)
    with app.app_context():
        key = db.session().query(ApiKey).filter_by(account_id=member.account_id).one()
        key_id, lookup = key.id, key.lookup
    revoke = f"/dashboard/keys/{key_id}/revoke"
    assert post(client, revoke, revoke).status_code == 302
    found = entries(app, member.account_id)[1:]
    assert [e.action for e in found] == [audit.KEY_CREATED, audit.KEY_REVOKED]
    for entry in found:
        assert entry.object_id == key_id
        assert entry.details == {"name": "CRM sync", "key": f"wsk_{lookup}…"}
    secret = key_text.split(f"wsk_{lookup}_", 1)[1].split("<", 1)[0][:20]
    assert secret not in stored_text(app)


def test_member_invited_role_changed_and_removed(app: Flask) -> None:
    owner_client = app.test_client()
    owner = sign_in(owner_client)
    invited = post(
        owner_client,
        "/dashboard/members/invite",
        "/dashboard/members",
        email="new.person@example.com",
        role="admin",
    )
    assert invited.status_code == 200
    teammate = add_person(app, Role.VIEWER, owner.account_id, email="mate@example.com")
    path = f"/dashboard/members/{teammate.user_id}"
    data = {f"m{teammate.user_id}-role": "admin"}
    assert post(owner_client, f"{path}/role", "/dashboard/members", **data).status_code == 302
    assert post(owner_client, f"{path}/remove", "/dashboard/members").status_code == 302
    found = entries(app, owner.account_id)[1:]
    assert [e.action for e in found] == [
        audit.MEMBER_INVITED,
        audit.ROLE_CHANGED,
        audit.MEMBER_REMOVED,
    ]
    assert found[0].details == {"email": "new.person@example.com", "role": "admin"}
    assert found[1].details == {"email": "mate@example.com", "from": "viewer", "to": "admin"}
    assert found[2].details == {"email": "mate@example.com"}
    assert found[2].object_id == teammate.user_id
    assert all(e.actor == owner.email for e in found)


# Callbacks ----------------------------------------------------------------------------------


def test_each_callback_action_and_the_export_are_recorded(app: Flask) -> None:
    client = app.test_client()
    member = sign_in(client, Role.ADMIN)
    widget_id = widget_of_account(app, member.account_id)
    ended = store_callback(app, widget_id, status="no_answer", attempts=1)
    booked = store_callback(app, widget_id, status="scheduled", scheduled_for=utcnow())
    inbox = "/dashboard/callbacks"
    assert post(client, f"{inbox}/{ended}/call-back", inbox).status_code == 303
    assert post(client, f"{inbox}/{booked}/cancel", inbox).status_code == 303
    assert post(client, f"{inbox}/{ended}/handled", inbox).status_code == 303
    assert post(client, f"{inbox}/{ended}/handled", inbox, handled="0").status_code == 303
    note = "She asked for Tuesday, call +12015550123"
    assert post(client, f"{inbox}/{ended}/notes", inbox, note=note).status_code == 303
    exported = client.get(f"{inbox}/export.csv?status=no_answer&number=%2B12015550123")
    assert exported.status_code == 200
    found = entries(app, member.account_id)[1:]
    assert [(e.action, e.object_id) for e in found] == [
        (audit.CALLBACK_CALLED_BACK, ended),
        (audit.CALLBACK_CANCELED, booked),
        (audit.CALLBACK_HANDLED, ended),
        (audit.CALLBACK_UNHANDLED, ended),
        (audit.NOTE_ADDED, ended),
        (audit.CALLBACKS_EXPORTED, None),
    ]
    assert found[4].details == {"characters": len(note)}
    assert found[5].details["filter"] == {"status": "no_answer", "number": "+1 20 ••• ••23"}
    # Neither the note nor a full number is copied into the log.
    assert "Tuesday" not in stored_text(app) and "+12015550123" not in stored_text(app)


def test_a_refused_callback_action_leaves_no_entry(app: Flask) -> None:
    client = app.test_client()
    member = sign_in(client, Role.ADMIN)
    widget_id = widget_of_account(app, member.account_id)
    ended = store_callback(app, widget_id, status="completed")
    live = store_callback(app, widget_id, status="connected")
    inbox = "/dashboard/callbacks"
    assert post(client, f"{inbox}/{ended}/cancel", inbox).status_code == 409
    assert post(client, f"{inbox}/{live}/cancel", inbox).status_code == 409  # too late
    assert post(client, f"{inbox}/{live}/call-back", inbox).status_code == 409
    assert post(client, f"{inbox}/{ended}/notes", inbox, note="  ").status_code == 422
    assert actions(app, member.account_id) == [audit.SIGN_IN]


# Webhooks -----------------------------------------------------------------------------------


def test_webhook_changed_test_sent_and_cleared(
    make_app: Callable[..., Flask], receiver: str
) -> None:
    app = make_app(**LOCAL)
    client = app.test_client()
    member = sign_in(client, Role.ADMIN)
    widget_id = account_widget(app, member.account_id)
    page = f"/dashboard/widgets/{widget_id}/webhooks"
    assert post(client, page, page, url=receiver, secret=SECRET).status_code == 302
    assert post(client, f"{page}/test", page).status_code == 302
    assert post(client, f"{page}/clear", page).status_code == 302
    found = entries(app, member.account_id)[1:]
    assert [e.action for e in found] == [
        audit.WEBHOOK_CHANGED,
        audit.WEBHOOK_TEST_SENT,
        audit.WEBHOOK_CLEARED,
    ]
    assert found[0].details == {"fields": ["webhook_secret", "webhook_url"]}
    assert SECRET not in stored_text(app) and receiver not in stored_text(app)


# The admin and owner API --------------------------------------------------------------------


def test_api_key_actions_are_recorded_as_the_key(
    make_app: Callable[..., Flask], receiver: str
) -> None:
    app = make_app(**LOCAL)
    client = app.test_client()
    account_id, key = add_account(app)
    lookup = key[4:16]
    base = f"/v1/accounts/{account_id}/clicktocall"
    auth = admin_auth(key)
    made = client.put(base, json={"data": {"name": "Sales", "extension": "1001"}}, headers=auth)
    assert made.status_code == 200
    widget_id = made.get_json()["data"]["id"]
    changes = {"name": "Support", "provider_settings": {"step_delay": 0, "talk_time": 5}}
    assert (
        client.patch(f"{base}/{widget_id}", json={"data": changes}, headers=auth).status_code == 200
    )
    hook = {"webhook_url": receiver, "webhook_secret": SECRET}
    assert client.patch(f"{base}/{widget_id}", json={"data": hook}, headers=auth).status_code == 200
    bad = client.patch(f"{base}/{widget_id}", json={"data": {"timeout": 9999}}, headers=auth)
    assert bad.status_code == 400  # refused: rolled back with its entry
    tested = client.post(f"{base}/{widget_id}/webhook/test", headers=auth)
    assert tested.status_code == 200
    history = client.get(f"{base}/{widget_id}/history?format=csv&status=completed", headers=auth)
    assert history.status_code == 200
    assert client.delete(f"{base}/{widget_id}", headers=auth).status_code == 200
    found = entries(app, account_id)
    assert [e.action for e in found] == [
        audit.WIDGET_CREATED,
        audit.WIDGET_CHANGED,
        audit.PROVIDER_SETTINGS_REPLACED,
        audit.WIDGET_CHANGED,
        audit.WEBHOOK_TEST_SENT,
        audit.CALLBACKS_EXPORTED,
        audit.WIDGET_DELETED,
    ]
    assert all(e.actor == f"API key wsk_{lookup}…" and e.user_id is None for e in found)
    assert all(e.api_key_id is not None and e.address == "127.0.0.1" for e in found)
    assert found[1].details == {"fields": ["name", "provider_settings"]}
    assert found[2].details == {"provider": "simulator", "settings": ["step_delay", "talk_time"]}
    assert found[3].details == {"fields": ["webhook_secret", "webhook_url"]}
    assert found[5].details["filter"]["status"] == "completed"
    assert key not in stored_text(app) and key[17:] not in stored_text(app)
    assert SECRET not in stored_text(app)


def test_an_erasure_through_the_api_is_recorded_with_the_number_masked(app: Flask) -> None:
    client = app.test_client()
    account_id, key = add_account(app)
    widget_id = widget_of_account(app, account_id)
    store_callback(app, widget_id, number="+12015550123", status="completed")
    answer = client.post(
        f"/v1/accounts/{account_id}/erase",
        json={"data": {"number": "+12015550123"}},
        headers=admin_auth(key),
    )
    assert answer.status_code == 200
    (entry,) = entries(app, account_id)
    assert entry.action == audit.NUMBER_ERASED and entry.actor.startswith("API key wsk_")
    assert entry.details == {"number": "+1 20 ••• ••23", "callbacks": 1}
    assert "+12015550123" not in stored_text(app) and "2015550123" not in stored_text(app)


# Second factor ------------------------------------------------------------------------------


def test_second_factor_changes_and_a_wrong_code_are_recorded_without_any_code(
    app: Flask, client: FlaskClient
) -> None:
    from tests.test_dashboard_two_factor import T0, code_at, password_step, post_code, set_clock

    member = sign_in(client, Role.OWNER)
    set_clock(app, T0)
    token = csrf_token(client, "/dashboard/security")
    assert post(client, "/dashboard/security/setup", "/dashboard/security", proof=PASSWORD)
    page = client.get("/dashboard/security").get_data(as_text=True)
    secret = page.split('id="secret"', 1)[1].split(">", 1)[1].split("<", 1)[0].replace(" ", "")
    right = code_at(secret, T0)
    confirmed = client.post(
        "/dashboard/security/confirm", data={"code": right, "csrf_token": token}
    )
    assert confirmed.status_code == 200
    renewed = post(
        client, "/dashboard/security/recovery-codes", "/dashboard/security", proof=PASSWORD
    )
    assert renewed.status_code == 200
    required = post(client, "/dashboard/members/second-factor", "/dashboard/members", required="y")
    assert required.status_code == 302
    other = app.test_client()
    password_step(other, member)
    assert post_code(other, f"{(int(right) + 1) % 1_000_000:06d}").status_code == 401
    turned_off = post(client, "/dashboard/security/turn-off", "/dashboard/security", proof=PASSWORD)
    assert turned_off.status_code == 302
    recorded = actions(app, member.account_id)
    for action in (
        audit.SECOND_FACTOR_ON,
        audit.RECOVERY_CODES_RENEWED,
        audit.SECOND_FACTOR_REQUIREMENT,
        audit.SIGN_IN_FAILED,
        audit.SECOND_FACTOR_OFF,
    ):
        assert action in recorded, (action, recorded)
    (failed,) = entries(app, member.account_id, audit.SIGN_IN_FAILED)
    assert failed.details == {"step": "second_factor"} and failed.user_id == member.user_id
    (requirement,) = entries(app, member.account_id, audit.SECOND_FACTOR_REQUIREMENT)
    assert requirement.details == {"required": True}
    assert secret not in stored_text(app)
