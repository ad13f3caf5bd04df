"""The second factor through the Flask test client: setup, the code step at sign-in, recovery
codes, turning it off, the owner's requirement, CSRF, limits and the operator's reset."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from tests.dashboard import PASSWORD, add_person, csrf_token, post_sign_in, sign_in
from widget_server.core import db
from widget_server.core.models import Account, RecoveryCode, User
from widget_server.owners import two_factor
from widget_server.owners.people import Role
from widget_server.web.dashboard.access import COOKIE, Member
from widget_server.web.dashboard.half_signed_in import COOKIE as HALF_COOKIE

# Mid-step, so codes one step either side are unambiguous.
T0 = datetime(2026, 12, 7, 9, 0, 15, tzinfo=UTC)
STEP = timedelta(seconds=30)


def set_clock(app: Flask, instant: datetime) -> None:
    app.extensions["clock"].set(instant)


def code_at(secret: str, instant: datetime) -> str:
    return pyotp.TOTP(secret).at(instant)


def turn_on(app: Flask, member: Member, at: datetime = T0) -> tuple[str, list[str]]:
    """Set up and confirm a second factor for `member` with the domain code, at `at`."""
    set_clock(app, at)
    with app.app_context():
        store = db.session()
        user = store.get(User, member.user_id)
        assert user is not None
        secret = two_factor.begin_setup(user)
        codes = two_factor.confirm_setup(store, user, code_at(secret, at), at)
        assert codes is not None
        store.commit()
    return secret, codes


def session_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(COOKIE, path="/dashboard")
    return cookie.value if cookie else None


def post_code(client: FlaskClient, code: str, **extra: str) -> Any:
    token = csrf_token(client, "/dashboard/sign-in/code")
    return client.post("/dashboard/sign-in/code", data={"code": code, "csrf_token": token, **extra})


def password_step(client: FlaskClient, member: Member) -> Any:
    response = post_sign_in(client, member.email, next="/dashboard/keys")
    assert response.status_code == 302
    assert response.location == "/dashboard/sign-in/code"
    assert session_cookie(client) is None  # not signed in yet
    return response


def test_sign_in_with_a_code_from_the_app(app: Flask, client: FlaskClient) -> None:
    member = add_person(app)
    secret, _codes = turn_on(app, member)
    set_clock(app, T0 + STEP)
    password_step(client, member)
    page = client.get("/dashboard/sign-in/code")
    assert page.status_code == 200 and "Enter your code" in page.get_data(as_text=True)
    response = post_code(client, code_at(secret, T0 + STEP))
    assert response.status_code == 302 and response.location == "/dashboard/keys"
    assert session_cookie(client)
    assert client.get_cookie(HALF_COOKIE, path="/dashboard") is None
    assert client.get("/dashboard/").status_code == 200


def test_codes_one_step_either_side_are_accepted_two_are_not(app: Flask) -> None:
    member = add_person(app)
    secret, _codes = turn_on(app, member)
    now = T0 + 10 * STEP
    with app.app_context():
        store = db.session()
        user = store.get(User, member.user_id)
        assert user is not None
        assert two_factor.verify(store, user, code_at(secret, now - 2 * STEP), now) is None
        assert two_factor.verify(store, user, code_at(secret, now + 2 * STEP), now) is None
        assert two_factor.verify(store, user, code_at(secret, now - STEP), now) == "code"
        assert two_factor.verify(store, user, code_at(secret, now + STEP), now) == "code"
        # The step of the code just taken is later than now's: now's code is refused too.
        assert two_factor.verify(store, user, code_at(secret, now), now) is None


def test_a_wrong_code_is_refused_with_a_clear_message(app: Flask, client: FlaskClient) -> None:
    member = add_person(app)
    secret, _codes = turn_on(app, member)
    set_clock(app, T0 + STEP)
    password_step(client, member)
    right = code_at(secret, T0 + STEP)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for attempt in (wrong, "abc", ""):
        response = post_code(client, attempt)
        assert response.status_code in (401, 422), attempt
        assert session_cookie(client) is None
    page = post_code(client, wrong).get_data(as_text=True)
    assert "That code is not right, or was used already." in page
    assert 'aria-invalid="true"' in page


def test_a_code_is_never_accepted_twice(app: Flask, client: FlaskClient) -> None:
    member = add_person(app)
    secret, _codes = turn_on(app, member)
    set_clock(app, T0 + STEP)
    code = code_at(secret, T0 + STEP)
    password_step(client, member)
    assert post_code(client, code).status_code == 302
    # Someone who saw the code (and knows the password) tries it in another browser.
    other = client.application.test_client()
    password_step(other, member)
    reused = post_code(other, code)
    assert reused.status_code == 401 and session_cookie(other) is None
    # The code confirmed at setup (an earlier step) does not work either.
    assert post_code(other, code_at(secret, T0)).status_code == 401


def test_recovery_codes_work_once_each(app: Flask, client: FlaskClient) -> None:
    member = add_person(app)
    _secret, codes = turn_on(app, member)
    assert len(codes) == two_factor.RECOVERY_CODES == len(set(codes))
    assert all(re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", code) for code in codes)
    with app.app_context():
        stored = {row.code_digest for row in db.session().query(RecoveryCode)}
    assert len(stored) == 10 and not stored & set(codes)  # only digests are kept
    password_step(client, member)
    signed = post_code(client, codes[3].upper().replace("-", " "))  # as typed off paper
    assert signed.status_code == 302 and session_cookie(client)
    assert "Recovery codes left: 9." in client.get("/dashboard/").get_data(as_text=True)
    other = client.application.test_client()
    password_step(other, member)
    assert post_code(other, codes[3]).status_code == 401
    assert post_code(other, codes[4]).status_code == 302


def test_the_half_state_reaches_no_page_and_expires(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(DASHBOARD_SECOND_FACTOR_SECONDS=1)
    client = app.test_client()
    member = add_person(app)
    secret, _codes = turn_on(app, member)
    set_clock(app, T0 + STEP)
    password_step(client, member)
    for path in ("/dashboard/", "/dashboard/keys", "/dashboard/security", "/dashboard/members"):
        response = client.get(path)
        assert response.status_code == 302 and "/dashboard/sign-in" in response.location, path
    token = csrf_token(client, "/dashboard/sign-in/code")
    time.sleep(2.1)
    late = client.post(
        "/dashboard/sign-in/code",
        data={"code": code_at(secret, T0 + STEP), "csrf_token": token},
    )
    assert late.status_code == 302 and late.location == "/dashboard/sign-in"
    assert session_cookie(client) is None
    page = client.get("/dashboard/sign-in").get_data(as_text=True)
    assert "Your sign-in took too long" in page


def test_a_forged_half_state_is_refused(app: Flask, client: FlaskClient) -> None:
    member = add_person(app)
    turn_on(app, member)
    client.set_cookie(HALF_COOKIE, f'{{"u":"{member.user_id}"}}.forged.sig', path="/dashboard")
    response = client.get("/dashboard/sign-in/code")
    assert response.status_code == 302 and response.location == "/dashboard/sign-in"


def test_wrong_codes_are_limited_like_wrong_passwords(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(DASHBOARD_SIGN_IN_LIMIT_PER_EMAIL="3 per 15 minutes")
    client = app.test_client()
    member = add_person(app)
    secret, _codes = turn_on(app, member)
    set_clock(app, T0 + STEP)
    password_step(client, member)
    for _ in range(3):
        assert post_code(client, "000000").status_code == 401
    limited = post_code(client, code_at(secret, T0 + STEP))
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    assert "Too many sign-in attempts" in limited.get_data(as_text=True)
    assert session_cookie(client) is None


def setup_page_secret(client: FlaskClient) -> str:
    token = csrf_token(client, "/dashboard/security")
    started = client.post(
        "/dashboard/security/setup", data={"csrf_token": token, "proof": PASSWORD}
    )
    assert started.status_code == 302
    page = client.get("/dashboard/security").get_data(as_text=True)
    assert "<svg" in page and 'class="qr"' in page
    found = re.search(r'id="secret"[^>]*>([A-Z2-7 ]+)<', page)
    assert found, page
    return found.group(1).replace(" ", "")


def test_a_setup_begins_only_with_the_password(app: Flask, client: FlaskClient) -> None:
    member = sign_in(client, Role.VIEWER)
    token = csrf_token(client, "/dashboard/security")
    for proof in ("", "not my password at all"):
        refused = client.post(
            "/dashboard/security/setup", data={"csrf_token": token, "proof": proof}
        )
        assert refused.status_code == 422 and 'id="proof-error"' in refused.get_data(as_text=True)
    with app.app_context():
        user = db.session().get(User, member.user_id)
        assert user is not None and user.totp_secret is None


def test_setup_on_the_security_page_needs_a_first_code(app: Flask, client: FlaskClient) -> None:
    member = sign_in(client, Role.VIEWER)
    set_clock(app, T0)
    secret = setup_page_secret(client)
    token = csrf_token(client, "/dashboard/security")
    wrong = client.post("/dashboard/security/confirm", data={"code": "123", "csrf_token": token})
    assert wrong.status_code == 422 and "That code does not match" in wrong.get_data(as_text=True)
    with app.app_context():
        user = db.session().get(User, member.user_id)
        assert user is not None and not two_factor.is_on(user)
        # Stored encrypted: the column's raw value is not the secret.
        raw = (
            db.session()
            .execute(text("SELECT totp_secret FROM users WHERE id = :id"), {"id": member.user_id})
            .scalar_one()
        )
        assert secret not in str(raw) and "fernet" in str(raw)
    right = client.post(
        "/dashboard/security/confirm", data={"code": code_at(secret, T0), "csrf_token": token}
    )
    shown = right.get_data(as_text=True)
    assert right.status_code == 200 and "Your recovery codes" in shown
    assert len(re.findall(r"<li>[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}</li>", shown)) == 10
    # Once on, the secret and the codes are never shown again.
    after = client.get("/dashboard/security").get_data(as_text=True)
    assert secret[:8] not in after.replace(" ", "") and "<svg" not in after
    assert "Your recovery codes" not in after and "Recovery codes left: 10." in after


def test_turning_off_needs_the_password_or_a_code(app: Flask, client: FlaskClient) -> None:
    member = sign_in(client)
    secret, codes = turn_on(app, member)
    token = csrf_token(client, "/dashboard/security")
    refused = client.post(
        "/dashboard/security/turn-off", data={"proof": "not my password", "csrf_token": token}
    )
    assert refused.status_code == 422
    assert "neither your password nor a current code" in refused.get_data(as_text=True)
    # A recovery code is kept for a lost phone: it is no proof here, and stays unspent.
    by_recovery = client.post(
        "/dashboard/security/turn-off", data={"proof": codes[0], "csrf_token": token}
    )
    assert by_recovery.status_code == 422
    with app.app_context():
        assert db.session().query(RecoveryCode).filter(RecoveryCode.used_at.is_(None)).count() == 10
    set_clock(app, T0 + STEP)
    by_code = client.post(
        "/dashboard/security/turn-off",
        data={"proof": code_at(secret, T0 + STEP), "csrf_token": token},
    )
    assert by_code.status_code == 302
    with app.app_context():
        user = db.session().get(User, member.user_id)
        assert user is not None and not two_factor.is_on(user) and user.totp_secret is None
        assert db.session().query(RecoveryCode).count() == 0
    turn_on(app, member, T0 + 5 * STEP)
    by_password = client.post(
        "/dashboard/security/turn-off", data={"proof": PASSWORD, "csrf_token": token}
    )
    assert by_password.status_code == 302
    fresh = client.application.test_client()
    assert post_sign_in(fresh, member.email).location == "/dashboard/"  # password alone


def test_new_recovery_codes_replace_the_old(app: Flask, client: FlaskClient) -> None:
    member = sign_in(client)
    _secret, old = turn_on(app, member)
    token = csrf_token(client, "/dashboard/security")
    made = client.post(
        "/dashboard/security/recovery-codes", data={"proof": PASSWORD, "csrf_token": token}
    )
    new = re.findall(r"<li>([a-z2-9-]{19})</li>", made.get_data(as_text=True))
    assert made.status_code == 200 and len(new) == 10 and not set(new) & set(old)
    other = client.application.test_client()
    password_step(other, member)
    assert post_code(other, old[0]).status_code == 401
    assert post_code(other, new[0]).status_code == 302


def test_an_owner_requires_it_and_members_without_it_are_held(
    app: Flask, client: FlaskClient
) -> None:
    owner = sign_in(client)
    token = csrf_token(client, "/dashboard/members")
    first = client.post(
        "/dashboard/members/second-factor", data={"required": "y", "csrf_token": token}
    )
    assert first.status_code == 302
    members_page = client.get("/dashboard/members").get_data(as_text=True)
    assert "Turn on your own second factor first" in members_page
    with app.app_context():
        account = db.session().get(Account, owner.account_id)
        assert account is not None and not account.require_second_factor
    turn_on(app, owner)
    client.post("/dashboard/members/second-factor", data={"required": "y", "csrf_token": token})
    with app.app_context():
        account = db.session().get(Account, owner.account_id)
        assert account is not None and account.require_second_factor
    page = client.get("/dashboard/members").get_data(as_text=True)
    assert re.search(r'class="factor"[^>]*>On<', page)

    viewer_browser = client.application.test_client()
    viewer = add_person(app, Role.VIEWER, owner.account_id, email="viewer@example.com")
    signed = post_sign_in(viewer_browser, viewer.email, next="/dashboard/keys")
    assert signed.status_code == 302 and session_cookie(viewer_browser)
    for path in ("/dashboard/", "/dashboard/keys", "/dashboard/callbacks"):
        held = viewer_browser.get(path)
        assert held.status_code == 302 and held.location == "/dashboard/security", path
    viewer_token = csrf_token(viewer_browser, "/dashboard/security")
    posted = viewer_browser.post(
        "/dashboard/sign-out-everywhere", data={"csrf_token": viewer_token}
    )
    assert posted.status_code == 302 and posted.location == "/dashboard/security"
    page = viewer_browser.get("/dashboard/security").get_data(as_text=True)
    assert "This account requires a second factor" in page
    # Held, the member is offered only the page they may use.
    nav = page[page.index("<nav") : page.index("</nav>")]
    assert re.findall(r'href="([^"]+)"', nav) == ["/dashboard/security"]
    set_clock(app, T0 + STEP)
    secret = setup_page_secret(viewer_browser)
    viewer_browser.post(
        "/dashboard/security/confirm",
        data={"code": code_at(secret, T0 + STEP), "csrf_token": viewer_token},
    )
    overview = viewer_browser.get("/dashboard/")
    assert overview.status_code == 200
    assert 'href="/dashboard/callbacks"' in overview.get_data(as_text=True)
    # The owner sees it on the members page.
    page = client.get("/dashboard/members").get_data(as_text=True)
    assert len(re.findall(r'class="factor"[^>]*>On<', page)) == 2


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/security/setup",
        "/dashboard/security/confirm",
        "/dashboard/security/recovery-codes",
        "/dashboard/security/turn-off",
        "/dashboard/members/second-factor",
        "/dashboard/sign-in/code",
    ],
)
def test_every_new_form_needs_its_csrf_token(app: Flask, client: FlaskClient, path: str) -> None:
    member = sign_in(client)
    secret, _codes = turn_on(app, member)
    if path == "/dashboard/sign-in/code":
        client = client.application.test_client()
        password_step(client, member)
    set_clock(app, T0 + STEP)
    response = client.post(path, data={"code": code_at(secret, T0 + STEP), "proof": PASSWORD})
    assert response.status_code == 400
    assert "security token is missing" in response.get_data(as_text=True)
    with app.app_context():
        user = db.session().get(User, member.user_id)
        assert user is not None and two_factor.is_on(user) and user.totp_last_step is not None
        assert user.totp_last_step == pyotp.TOTP(secret).timecode(T0)  # the code was not used


def test_the_operator_resets_a_lost_second_factor(app: Flask, client: FlaskClient) -> None:
    member = sign_in(client)
    turn_on(app, member)
    result = app.test_cli_runner().invoke(
        args=["users", "reset-second-factor", "--email", member.email]
    )
    assert result.exit_code == 0, result.output
    assert "second factor and recovery codes removed" in result.output
    assert client.get("/dashboard/").status_code == 302  # their sessions ended
    fresh = client.application.test_client()
    assert post_sign_in(fresh, member.email).location == "/dashboard/"
    unknown = app.test_cli_runner().invoke(
        args=["users", "reset-second-factor", "--email", "nobody@example.com"]
    )
    assert unknown.exit_code != 0 and "no user" in unknown.output
