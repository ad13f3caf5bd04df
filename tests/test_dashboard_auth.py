"""The dashboard's sign-in, sessions, CSRF and roles, through the Flask test client."""

from __future__ import annotations

import re
from datetime import timedelta

from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from tests.dashboard import PASSWORD, add_person, csrf_token, post_sign_in, sign_in
from widget_server.core import clock, db
from widget_server.core.models import DashboardSession, User
from widget_server.owners import people
from widget_server.owners.people import Role
from widget_server.web.dashboard.access import COOKIE


def session_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(COOKIE, path="/dashboard")
    return cookie.value if cookie else None


def stored_sessions(app: Flask) -> int:
    with app.app_context():
        return db.session().query(DashboardSession).count()


def test_signed_out_visitor_is_sent_to_sign_in_with_next(client: FlaskClient) -> None:
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response.location.startswith("/dashboard/sign-in?next=/dashboard/")


def test_sign_in_opens_the_overview_and_sets_a_strict_cookie(client: FlaskClient) -> None:
    member = add_person(client.application)
    response = post_sign_in(client, member.email.upper(), next="/dashboard/")
    assert response.status_code == 302 and response.location == "/dashboard/"
    header = response.headers["Set-Cookie"]
    assert f"{COOKIE}=" in header and "HttpOnly" in header and "SameSite=Lax" in header
    page = client.get("/dashboard/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Overview" in text and member.email in text


def test_wrong_password_and_unknown_email_get_the_same_answer(client: FlaskClient) -> None:
    member = add_person(client.application)
    wrong = post_sign_in(client, member.email, "not the password at all")
    unknown = post_sign_in(client, "nobody@example.com", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    message = "That email and password do not match."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)
    assert session_cookie(client) is None


def test_next_may_not_leave_the_dashboard(client: FlaskClient) -> None:
    member = add_person(client.application)
    for target in ("https://evil.example/", "//evil.example/x", "/v1/openapi.json"):
        response = post_sign_in(client, member.email, next=target)
        assert response.location == "/dashboard/"


def test_session_id_is_rotated_at_sign_in(app: Flask, client: FlaskClient) -> None:
    member = add_person(app)
    client.set_cookie(COOKIE, "planted-by-someone-else", path="/dashboard")
    post_sign_in(client, member.email)
    first = session_cookie(client)
    assert first and first != "planted-by-someone-else"
    post_sign_in(client, member.email)
    second = session_cookie(client)
    assert second and second != first
    assert stored_sessions(app) == 1  # the first session ended when the second began
    with app.app_context():
        stored = db.session().query(DashboardSession).one()
        assert stored.id_digest != second  # only a digest of the cookie is stored


def test_sign_out_ends_the_session_server_side(app: Flask, client: FlaskClient) -> None:
    sign_in(client)
    copied = session_cookie(client)
    token = csrf_token(client, "/dashboard/")
    response = client.post("/dashboard/sign-out", data={"csrf_token": token})
    assert response.status_code == 302
    assert stored_sessions(app) == 0
    other = app.test_client()
    other.set_cookie(COOKIE, copied or "", path="/dashboard")
    assert other.get("/dashboard/").status_code == 302


def test_sign_out_everywhere_ends_every_session_of_the_user(app: Flask) -> None:
    laptop, phone = app.test_client(), app.test_client()
    member = sign_in(laptop)
    sign_in(phone, email=member.email, account_id=member.account_id)
    someone_else = app.test_client()
    sign_in(someone_else, account_id=member.account_id, role=Role.VIEWER)
    assert stored_sessions(app) == 3
    token = csrf_token(laptop, "/dashboard/")
    response = laptop.post("/dashboard/sign-out-everywhere", data={"csrf_token": token})
    assert response.status_code == 302
    assert phone.get("/dashboard/").status_code == 302
    assert laptop.get("/dashboard/").status_code == 302
    assert someone_else.get("/dashboard/").status_code == 200
    assert stored_sessions(app) == 1


def test_post_without_csrf_token_is_refused_with_a_reason(client: FlaskClient) -> None:
    member = add_person(client.application)
    response = client.post("/dashboard/sign-in", data={"email": member.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "security token is missing" in response.get_data(as_text=True)
    assert session_cookie(client) is None
    sign_in(client)
    csrf_token(client, "/dashboard/")  # the session now holds a token; the form's differs
    response = client.post("/dashboard/sign-out-everywhere", data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_fetch_header_token_is_accepted(client: FlaskClient) -> None:
    sign_in(client)
    token = csrf_token(client, "/dashboard/")
    response = client.post("/dashboard/sign-out-everywhere", headers={"X-CSRFToken": token})
    assert response.status_code == 302


def test_repeated_wrong_passwords_are_limited_with_when_to_retry(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(DASHBOARD_SIGN_IN_LIMIT_PER_EMAIL="3 per 15 minutes")
    client = app.test_client()
    member = add_person(app)
    for _ in range(3):
        assert post_sign_in(client, member.email, "wrong password here").status_code == 401
    limited = post_sign_in(client, member.email)  # even the right password now waits
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert "Too many sign-in attempts. Try again in 15 min" in limited.get_data(as_text=True)
    # Another email from the same address is not locked out by it.
    other = add_person(app, role=Role.VIEWER)
    assert post_sign_in(client, other.email).status_code == 302


def test_sign_in_attempts_are_limited_per_address(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(DASHBOARD_SIGN_IN_LIMIT_PER_IP="2 per minute")
    client = app.test_client()
    member = add_person(app)
    assert post_sign_in(client, "a@example.com", "wrong password here").status_code == 401
    assert post_sign_in(client, "b@example.com", "wrong password here").status_code == 401
    assert post_sign_in(client, member.email).status_code == 429


def test_a_viewer_cannot_reach_owner_pages(client: FlaskClient) -> None:
    sign_in(client, role=Role.VIEWER)
    page = client.get("/dashboard/").get_data(as_text=True)
    assert "Members" not in page
    assert client.get("/dashboard/members").status_code == 403
    token = csrf_token(client, "/dashboard/")
    refused = client.post(
        "/dashboard/members/invite",
        data={"csrf_token": token, "email": "x@example.com", "role": "owner"},
    )
    assert refused.status_code == 403


def test_role_order() -> None:
    assert Role.OWNER.at_least(Role.ADMIN) and Role.ADMIN.at_least(Role.VIEWER)
    assert not Role.VIEWER.at_least(Role.ADMIN) and not Role.ADMIN.at_least(Role.OWNER)


def test_cookies_are_secure_outside_development(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(TESTING=False, ENV="production", PUBLIC_ORIGIN="https://localhost")
    member = add_person(app)
    client = app.test_client()
    page = client.get("/dashboard/sign-in", base_url="https://localhost")
    assert "Secure" in page.headers["Set-Cookie"]  # the CSRF token's session cookie
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    assert token
    response = client.post(
        "/dashboard/sign-in",
        data={"email": member.email, "password": PASSWORD, "csrf_token": token.group(1)},
        base_url="https://localhost",
        # Over https Flask-WTF also wants the POST to come from a page of this server.
        headers={"Referer": "https://localhost/dashboard/sign-in"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_hash_made_with_old_parameters_is_replaced_at_sign_in(app: Flask) -> None:
    member = add_person(app)
    old = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=2).hash(PASSWORD)
    with app.app_context():
        user = db.session().get(User, member.user_id)
        assert user is not None
        user.password_hash = old
        db.session().commit()
    assert post_sign_in(app.test_client(), member.email).status_code == 302
    with app.app_context():
        user = db.session().get(User, member.user_id)
        assert user is not None and user.password_hash != old
        assert user.password_hash.startswith("$argon2id$")
        assert not people.hasher.check_needs_rehash(user.password_hash)


def test_a_member_of_two_accounts_switches_between_them(app: Flask, client: FlaskClient) -> None:
    first = add_person(app, email="both@example.com")
    second = add_person(app, role=Role.VIEWER, email="both@example.com")
    assert first.account_id != second.account_id
    post_sign_in(client, "both@example.com")
    before = session_cookie(client)
    page = client.get("/dashboard/").get_data(as_text=True)
    assert 'name="account_id"' in page and "Members" in page  # owner of the first
    token = csrf_token(client, "/dashboard/")
    switched = client.post(
        "/dashboard/switch-account", data={"csrf_token": token, "account_id": second.account_id}
    )
    assert switched.status_code == 302
    assert session_cookie(client) != before
    assert client.get("/dashboard/members").status_code == 403  # a viewer there
    stranger = add_person(app, email="stranger@example.com")
    refused = client.post(
        "/dashboard/switch-account", data={"csrf_token": token, "account_id": stranger.account_id}
    )
    assert refused.status_code == 404
    assert stored_sessions(app) == 1


def test_stale_sessions_are_deleted_at_the_next_sign_in(app: Flask) -> None:
    member = add_person(app)
    post_sign_in(app.test_client(), member.email)
    with app.app_context():
        later = clock.now() + timedelta(seconds=app.config["DASHBOARD_SESSION_IDLE_SECONDS"] + 1)
        app.extensions["clock"].set(later)
    post_sign_in(app.test_client(), member.email)
    assert stored_sessions(app) == 1
