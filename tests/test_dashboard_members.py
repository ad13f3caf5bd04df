"""Members (invite, role, remove, last owner), invitations and password resets."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient

from tests.dashboard import PASSWORD, add_person, csrf_token, post_sign_in, sign_in
from widget_server.core import clock, db
from widget_server.core.models import Invitation, Membership, PasswordReset
from widget_server.owners.people import Role

NEW_PASSWORD = "a brand new passphrase"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def wait_for(self, count: int) -> list[EmailMessage]:
        deadline = time.monotonic() + 10
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


@pytest.fixture
def mail_app(make_app: Any) -> Iterator[tuple[Flask, Inbox]]:
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = make_app(
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=port,
            SMTP_STARTTLS=False,
            SMTP_FROM="dashboard@widgets.example.com",
        )
        yield app, inbox
    finally:
        controller.stop()


def post(client: FlaskClient, path: str, page: str = "/dashboard/", **data: str) -> Any:
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


def link_in(text: str, kind: str) -> str:
    found = re.search(rf"http://localhost(/dashboard/{kind}/[\w-]+)", text)
    assert found, text
    return found.group(1)


def roles(app: Flask, account_id: str) -> dict[str, str]:
    with app.app_context():
        rows = db.session().query(Membership).filter_by(account_id=account_id)
        return {row.user.email: row.role for row in rows}


# Members ------------------------------------------------------------------------------------


def test_owner_sees_members_and_admins_get_403(app: Flask) -> None:
    owner_client = app.test_client()
    owner = sign_in(owner_client)
    admin_client = app.test_client()
    admin = sign_in(admin_client, role=Role.ADMIN, account_id=owner.account_id)
    page = owner_client.get("/dashboard/members").get_data(as_text=True)
    assert owner.email in page and admin.email in page and "Invite a teammate" in page
    assert admin_client.get("/dashboard/members").status_code == 403
    assert "/dashboard/members" not in admin_client.get("/dashboard/").get_data(as_text=True)
    role_change = post(admin_client, f"/dashboard/members/{owner.user_id}/role")
    assert role_change.status_code == 403


def test_invite_accept_as_a_new_user_once(app: Flask) -> None:
    owner_client = app.test_client()
    owner = sign_in(owner_client)
    answer = post(
        owner_client,
        "/dashboard/members/invite",
        "/dashboard/members",
        email="New.Person@Example.com",
        role="admin",
    )
    assert answer.status_code == 200
    link = link_in(answer.get_data(as_text=True), "invitation")
    with app.app_context():
        stored = db.session().query(Invitation).one()
        assert link.rsplit("/", 1)[1] not in stored.token_digest  # only the digest is kept
    # Revisiting the page no longer shows the link.
    assert link not in owner_client.get("/dashboard/members").get_data(as_text=True)

    invitee = app.test_client()
    page = invitee.get(link).get_data(as_text=True)
    assert "new.person@example.com" in page and "Admin" in page
    short = post(invitee, link, link, password="too short", confirm="too short")
    assert short.status_code == 422 and "Use at least 12 characters." in short.get_data(
        as_text=True
    )
    joined = post(invitee, link, link, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert joined.status_code == 302
    assert roles(app, owner.account_id)["new.person@example.com"] == "admin"
    assert invitee.get(link).status_code == 404  # single use
    assert (
        post_sign_in(app.test_client(), "new.person@example.com", NEW_PASSWORD).status_code == 302
    )


def test_invite_an_existing_user_who_proves_their_password(app: Flask) -> None:
    owner_client = app.test_client()
    owner = sign_in(owner_client)
    elsewhere = add_person(app, role=Role.OWNER, email="known@example.com")
    answer = post(
        owner_client,
        "/dashboard/members/invite",
        "/dashboard/members",
        email="known@example.com",
        role="viewer",
    )
    link = link_in(answer.get_data(as_text=True), "invitation")
    invitee = app.test_client()
    wrong = post(invitee, link, link, password="not my password at all")
    assert wrong.status_code == 422
    assert post(invitee, link, link, password=PASSWORD).status_code == 302
    assert roles(app, owner.account_id)["known@example.com"] == "viewer"
    assert roles(app, elsewhere.account_id)["known@example.com"] == "owner"


def test_invitation_expires(app: Flask) -> None:
    owner_client = app.test_client()
    sign_in(owner_client)
    answer = post(
        owner_client,
        "/dashboard/members/invite",
        "/dashboard/members",
        email="late@example.com",
        role="viewer",
    )
    link = link_in(answer.get_data(as_text=True), "invitation")
    with app.app_context():
        app.extensions["clock"].set(
            clock.now() + timedelta(seconds=app.config["INVITATION_SECONDS"] + 1)
        )
    assert app.test_client().get(link).status_code == 404


def test_invite_refuses_a_bad_email_and_a_member(app: Flask) -> None:
    owner_client = app.test_client()
    owner = sign_in(owner_client)
    bad = post(
        owner_client, "/dashboard/members/invite", "/dashboard/members", email="nope", role="admin"
    )
    assert bad.status_code == 422 and "Enter an email address" in bad.get_data(as_text=True)
    member = post(
        owner_client,
        "/dashboard/members/invite",
        "/dashboard/members",
        email=owner.email,
        role="admin",
    )
    assert member.status_code == 422 and "a member already" in member.get_data(as_text=True)
    bad_role = post(
        owner_client,
        "/dashboard/members/invite",
        "/dashboard/members",
        email="x@example.com",
        role="emperor",
    )
    assert bad_role.status_code == 422


def test_change_role_and_remove_member(app: Flask) -> None:
    owner_client = app.test_client()
    owner = sign_in(owner_client)
    viewer_client = app.test_client()
    viewer = sign_in(viewer_client, role=Role.VIEWER, account_id=owner.account_id)
    prefix = f"m{viewer.user_id}-role"
    changed = post(owner_client, f"/dashboard/members/{viewer.user_id}/role", **{prefix: "admin"})
    assert changed.status_code == 302
    assert roles(app, owner.account_id)[viewer.email] == "admin"
    removed = post(owner_client, f"/dashboard/members/{viewer.user_id}/remove")
    assert removed.status_code == 302
    assert viewer.email not in roles(app, owner.account_id)
    assert viewer_client.get("/dashboard/").status_code == 302  # their session ended


def test_the_last_owner_can_be_neither_demoted_nor_removed(app: Flask) -> None:
    client = app.test_client()
    owner = sign_in(client)
    demote = post(
        client, f"/dashboard/members/{owner.user_id}/role", **{f"m{owner.user_id}-role": "viewer"}
    )
    assert demote.status_code == 302
    page = client.get("/dashboard/members").get_data(as_text=True)
    assert "An account needs an owner" in page
    post(client, f"/dashboard/members/{owner.user_id}/remove")
    assert roles(app, owner.account_id) == {owner.email: "owner"}
    # With a second owner, the first may step down.
    second = add_person(app, role=Role.OWNER, account_id=owner.account_id, email="two@example.com")
    post(client, f"/dashboard/members/{owner.user_id}/role", **{f"m{owner.user_id}-role": "admin"})
    assert roles(app, owner.account_id) == {owner.email: "admin", second.email: "owner"}


def test_another_accounts_member_is_404(app: Flask) -> None:
    a_client = app.test_client()
    sign_in(a_client)
    b = add_person(app, role=Role.VIEWER, email="b@example.com")
    for path in (f"/dashboard/members/{b.user_id}/role", f"/dashboard/members/{b.user_id}/remove"):
        assert post(a_client, path).status_code == 404
    assert post(a_client, "/dashboard/members/not-an-id/remove").status_code == 404
    assert roles(app, b.account_id) == {b.email: "viewer"}


# Password reset ------------------------------------------------------------------------------


def test_reset_by_emailed_link_once(mail_app: tuple[Flask, Inbox]) -> None:
    app, inbox = mail_app
    member = add_person(app)
    signed_in_elsewhere = app.test_client()
    assert post_sign_in(signed_in_elsewhere, member.email).status_code == 302
    client = app.test_client()
    asked = post(
        client, "/dashboard/forgot-password", "/dashboard/forgot-password", email=member.email
    )
    assert asked.status_code == 302
    [email] = inbox.wait_for(1)
    assert email["To"] == member.email
    link = link_in(email.get_content(), "reset-password")
    with app.app_context():
        assert link.rsplit("/", 1)[1] not in db.session().query(PasswordReset).one().token_digest
    differ = post(client, link, link, password=NEW_PASSWORD, confirm="something else entirely")
    assert differ.status_code == 422 and "The two passwords differ." in differ.get_data(
        as_text=True
    )
    as_email = post(client, link, link, password=member.email, confirm=member.email)
    assert as_email.status_code == 422
    assert post(client, link, link, password=NEW_PASSWORD, confirm=NEW_PASSWORD).status_code == 302
    assert client.get(link).status_code == 404  # single use
    assert signed_in_elsewhere.get("/dashboard/").status_code == 302  # sessions ended
    assert post_sign_in(app.test_client(), member.email, PASSWORD).status_code == 401
    assert post_sign_in(app.test_client(), member.email, NEW_PASSWORD).status_code == 302


def test_reset_answers_the_same_for_an_unknown_email(mail_app: tuple[Flask, Inbox]) -> None:
    app, inbox = mail_app
    member = add_person(app)
    client = app.test_client()
    known = post(
        client, "/dashboard/forgot-password", "/dashboard/forgot-password", email=member.email
    )
    unknown = post(
        client, "/dashboard/forgot-password", "/dashboard/forgot-password", email="x@example.com"
    )
    assert known.status_code == unknown.status_code == 302
    assert known.location == unknown.location
    shown = client.get("/dashboard/sign-in").get_data(as_text=True)
    assert "If \u2068x@example.com\u2069 belongs to a dashboard user" in shown
    assert len(inbox.wait_for(1)) == 1
    time.sleep(0.2)
    assert len(inbox.messages) == 1  # nothing was sent to the unknown address


def test_reset_link_expires(mail_app: tuple[Flask, Inbox]) -> None:
    app, inbox = mail_app
    member = add_person(app)
    client = app.test_client()
    post(client, "/dashboard/forgot-password", "/dashboard/forgot-password", email=member.email)
    link = link_in(inbox.wait_for(1)[0].get_content(), "reset-password")
    with app.app_context():
        app.extensions["clock"].set(
            clock.now() + timedelta(seconds=app.config["PASSWORD_RESET_SECONDS"] + 1)
        )
    assert client.get(link).status_code == 404


def test_asking_again_spends_the_earlier_link(mail_app: tuple[Flask, Inbox]) -> None:
    app, inbox = mail_app
    member = add_person(app)
    client = app.test_client()
    post(client, "/dashboard/forgot-password", "/dashboard/forgot-password", email=member.email)
    first = link_in(inbox.wait_for(1)[0].get_content(), "reset-password")
    post(client, "/dashboard/forgot-password", "/dashboard/forgot-password", email=member.email)
    second = link_in(inbox.wait_for(2)[1].get_content(), "reset-password")
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200


def test_reset_requests_are_limited_per_email(make_app: Any) -> None:
    app = make_app(DASHBOARD_SIGN_IN_LIMIT_PER_EMAIL="2 per hour")
    client = app.test_client()
    for _ in range(2):
        answer = post(
            client,
            "/dashboard/forgot-password",
            "/dashboard/forgot-password",
            email="v@example.com",
        )
        assert answer.status_code == 302
    limited = post(
        client, "/dashboard/forgot-password", "/dashboard/forgot-password", email="v@example.com"
    )
    assert limited.status_code == 429
    assert "Too many requests for this email" in limited.get_data(as_text=True)


def test_refusals_use_the_dashboard_page(app: Flask) -> None:
    client = app.test_client()
    sign_in(client, role=Role.VIEWER)
    forbidden = client.get("/dashboard/members")
    assert forbidden.status_code == 403
    assert "/assets/dashboard/base." in forbidden.get_data(as_text=True)
    owner_client = app.test_client()
    sign_in(owner_client)
    missing = post(owner_client, "/dashboard/members/0123456789abcdef0123456789abcdef/remove")
    assert missing.status_code == 404
    assert "belongs to another account" in missing.get_data(as_text=True)
