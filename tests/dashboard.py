"""Dashboard test helpers: people with known passwords, signed in through the real form."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from tests.browser import ARTIFACTS
from widget_server.core import db
from widget_server.core.models import Account
from widget_server.owners import people
from widget_server.owners.people import Role
from widget_server.web.dashboard.access import Member

# The dashboard's browser tests: where their screenshots go, and the sizes and languages
# every page is shot in.
SHOTS = ARTIFACTS / "dashboard"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
LOCALES = {"en": "en-US", "he": "he-IL"}

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(
    r'name="csrf_token"[^>]*value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"'
)


def csrf_token(client: FlaskClient, path: str = "/dashboard/sign-in") -> str:
    """Read the CSRF token a dashboard page carries (its form's, or the meta tag's)."""
    page = client.get(path, follow_redirects=True).get_data(as_text=True)
    found = _CSRF.search(page)
    assert found, f"no CSRF token on {path}"
    return found.group(1) or found.group(2)


def add_person(
    app: Any,
    role: Role = Role.OWNER,
    account_id: str | None = None,
    email: str | None = None,
    password: str = PASSWORD,
) -> Member:
    """Store (or reuse) an account and a user with `role` in it; return them as a Member."""
    with app.app_context():
        store = db.session()
        account = store.get(Account, account_id) if account_id else None
        if account is None:
            account = (
                Account(name="Acme") if account_id is None else Account(id=account_id, name="Acme")
            )
            store.add(account)
            store.flush()
        email = email or f"{role.value}.{account.id[:8]}@example.com"
        user = people.find_user(store, email) or people.create_user(store, email, password)
        people.add_member(store, user, account.id, role)
        store.commit()
        return Member(user.id, user.email, account.id, account.name, Role(role))


def post_sign_in(client: FlaskClient, email: str, password: str = PASSWORD, **extra: str) -> Any:
    token = csrf_token(client)
    return client.post(
        "/dashboard/sign-in",
        data={"email": email, "password": password, "csrf_token": token, **extra},
    )


def sign_in(
    client: FlaskClient,
    role: Role = Role.OWNER,
    account_id: str | None = None,
    email: str | None = None,
) -> Member:
    """Create (or reuse) an account and a user, and sign in through the sign-in form."""
    assert client.application is not None
    member = add_person(client.application, role, account_id, email)
    response = post_sign_in(client, member.email)
    assert response.status_code == 302, response.get_data(as_text=True)
    return member


def run_demo(app: Any, *origins: str) -> dict[str, str]:
    """Run the real `demo` command as `make run` does (`db upgrade`, then `demo` with each
    origin) and read what it prints: the demo widget's id and the owner's sign-in."""
    runner = app.test_cli_runner()
    upgraded = runner.invoke(args=["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    args = ["demo"]
    for origin in origins:
        args += ["--origin", origin]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    printed = dict(re.findall(r"^\s*(dashboard|email|password):\s+(\S+)", result.output, re.M))
    widget = re.search(r"^demo widget ([0-9a-f]{32}):", result.output, re.M)
    assert widget and set(printed) == {"dashboard", "email", "password"}, result.output
    return printed | {"widget_id": widget.group(1)}


def browser_sign_in(page: Any, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Sign in on the dashboard's sign-in page in Playwright, as a person would."""
    page.goto(f"{base_url}/dashboard/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/dashboard/(\?.*)?$|.*/dashboard/(?!sign-in).*"))
