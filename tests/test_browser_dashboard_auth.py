"""The dashboard's sign-in, reset, invitation, members and overview pages in a real Chromium:
the demo command's printed credentials work, CSRF and the sign-in limit hold, roles and
accounts are enforced, and every page is axe-clean, keyboard-usable, translated (Hebrew
right to left) and fits a phone. Screenshots go to test-artifacts/dashboard/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.axe import violations
from tests.browser import chromium, watch_problems
from tests.dashboard import (
    DESKTOP,
    LOCALES,
    PASSWORD,
    PHONE,
    SHOTS,
    add_person,
    browser_sign_in,
    run_demo,
)
from tests.live import LiveServer, live_server
from widget_server.core import clock, db
from widget_server.core.models import User
from widget_server.owners import invites, resets
from widget_server.owners.people import Role

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path: Path = tmp_path_factory.mktemp("dashboard")
    with live_server(path, [], DASHBOARD_SIGN_IN_LIMIT_PER_EMAIL="3 per 15 minutes") as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


@pytest.fixture(scope="module")
def demo(server: LiveServer) -> dict[str, str]:
    """Run the real demo command and read the sign-in it prints."""
    printed = run_demo(server.app, server.url)
    assert printed["dashboard"] == f"{server.url}/dashboard/", printed
    return printed


def new_page(browser: Any, locale: str = "en", viewport: dict[str, int] = DESKTOP) -> Any:
    context = browser.new_context(viewport=viewport, locale=LOCALES[locale])
    return context.new_page()


def check_and_shoot(page: Any, name: str, locale: str) -> None:
    """Axe-clean, in the locale's direction, no wider than the window, at both sizes."""
    assert page.evaluate("document.documentElement.dir") == ("rtl" if locale == "he" else "ltr")
    assert page.evaluate("document.documentElement.lang") == locale
    assert violations(page) == [], name
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"], f"{name} overflows at {size['width']} px: {width}"
        page.screenshot(path=str(SHOTS / f"{name}-{locale}-{label}.png"), full_page=True)
    assert violations(page) == [], name  # the phone layout too
    page.set_viewport_size(DESKTOP)


def csrf_post(page: Any, path: str, body: str = "") -> int:
    """POST from the page with fetch() and the meta tag's CSRF token; return the status."""
    return int(
        page.evaluate(
            """async ([path, body]) => {
                const token = document.querySelector('meta[name=csrf-token]').content;
                const r = await fetch(path, {method: 'POST', body: new URLSearchParams(body),
                    headers: {'X-CSRFToken': token}, redirect: 'manual'});
                return r.status;
            }""",
            [path, body],
        )
    )


def test_sign_in_with_the_credentials_the_demo_command_printed_by_keyboard(
    server: LiveServer, browser: Any, demo: dict[str, str]
) -> None:
    page = new_page(browser)
    problems = watch_problems(page)
    page.goto(demo["dashboard"])
    page.wait_for_url(re.compile(r".*/dashboard/sign-in\?next=.*"))
    # Keyboard only: skip link, then the fields in order, Enter to send.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # past the brand link to the email field
    assert page.evaluate("document.activeElement.id") == "email"
    page.keyboard.type(demo["email"])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(demo["password"])
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}/dashboard/")
    assert page.get_by_role("heading", name="Overview").is_visible()
    assert page.get_by_role("link", name="Members").is_visible()
    assert problems == []


@pytest.mark.parametrize("locale", ["en", "he"])
def test_pages_are_accessible_translated_and_fit_a_phone(
    server: LiveServer, browser: Any, demo: dict[str, str], locale: str
) -> None:
    page = new_page(browser, locale)
    problems = watch_problems(page)
    page.goto(f"{server.url}/dashboard/sign-in")
    check_and_shoot(page, "sign-in", locale)
    page.goto(f"{server.url}/dashboard/forgot-password")
    check_and_shoot(page, "forgot-password", locale)
    with server.app.app_context():
        store = db.session()
        owner = store.query(User).filter_by(email=demo["email"]).one()
        account_id = owner.memberships[0].account_id
        reset = resets.request_reset(store, owner, clock.now(), timedelta(hours=1))
        invite = invites.invite(
            store,
            account_id,
            f"new-{locale}@example.com",
            Role.ADMIN,
            owner.id,
            clock.now(),
            timedelta(days=1),
        )
        store.commit()
    page.goto(f"{server.url}/dashboard/reset-password/{reset}")
    check_and_shoot(page, "reset-password", locale)
    page.goto(f"{server.url}/dashboard/invitation/{invite}")
    check_and_shoot(page, "invitation", locale)
    # A wrong answer shows its error tied to the field, still axe-clean.
    page.fill("#password", "short")
    page.fill("#confirm", "short")
    page.locator("button[type=submit]").click()
    page.wait_for_selector("#password-error")
    assert page.get_attribute("#password", "aria-invalid") == "true"
    check_and_shoot(page, "invitation-error", locale)

    member = add_person(server.app, Role.OWNER, account_id, email=f"owner-{locale}@example.com")
    add_person(server.app, Role.VIEWER, account_id, email=f"viewer-{locale}@example.com")
    add_person(server.app, Role.VIEWER, email=member.email)  # a second account: the switcher
    browser_sign_in_localised(page, server.url, member.email)
    assert page.locator("#switch-account option").count() == 2
    check_and_shoot(page, "overview", locale)
    page.goto(f"{server.url}/dashboard/members")
    check_and_shoot(page, "members", locale)
    page.fill("#email", f"teammate-{locale}@example.com")
    page.locator("form[action$='/invite'] button[type=submit]").click()
    page.wait_for_selector(".once")
    check_and_shoot(page, "members-invited", locale)
    # Only the invalid form answers (422) are expected.
    assert [p for p in problems if not p.startswith("422 ")] == []


def browser_sign_in_localised(page: Any, base_url: str, email: str) -> None:
    """Sign in by the fields' ids, whatever the page's language."""
    page.goto(f"{base_url}/dashboard/sign-in")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.locator("button[type=submit].primary").click()
    page.wait_for_url(f"{base_url}/dashboard/")


def test_a_form_post_without_its_csrf_token_is_refused(server: LiveServer, browser: Any) -> None:
    member = add_person(server.app, Role.OWNER, email="csrf@example.com")
    page = new_page(browser)
    page.goto(f"{server.url}/dashboard/sign-in")
    page.evaluate("document.querySelector('input[name=csrf_token]').remove()")
    page.fill("#email", member.email)
    page.fill("#password", PASSWORD)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator("button[type=submit]").click()
    assert answer.value.status == 400
    assert page.get_by_text("The form's security token is missing.").is_visible()
    assert page.get_by_text("Nothing was changed.").is_visible()
    assert violations(page) == []
    assert page.context.cookies() == [] or all(
        c["name"] != "dashboard_session" for c in page.context.cookies()
    )


def test_repeated_wrong_passwords_are_limited_with_the_message(
    server: LiveServer, browser: Any
) -> None:
    member = add_person(server.app, Role.ADMIN, email="guessed@example.com")
    page = new_page(browser)
    for _ in range(3):
        page.goto(f"{server.url}/dashboard/sign-in")
        page.fill("#email", member.email)
        page.fill("#password", "not the password, sorry")
        page.locator("button[type=submit]").click()
        page.wait_for_selector("[role=alert]")
        assert page.get_by_text("That email and password do not match.").is_visible()
    page.fill("#email", member.email)
    page.fill("#password", PASSWORD)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator("button[type=submit]").click()
    assert answer.value.status == 429
    alert = page.locator("[role=alert]").inner_text()
    assert re.search(r"Too many sign-in attempts\. Try again in 1[45] min \(at .+\)\.", alert)
    assert violations(page) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "sign-in-limited-en-desktop.png"), full_page=True)


def test_a_viewer_sees_no_edit_controls_and_owner_routes_refuse_them(
    server: LiveServer, browser: Any
) -> None:
    owner = add_person(server.app, Role.OWNER, email="boss@example.com")
    viewer = add_person(server.app, Role.VIEWER, owner.account_id, email="reader@example.com")
    page = new_page(browser)
    browser_sign_in(page, server.url, viewer.email)
    assert page.get_by_role("link", name="Members").count() == 0
    assert page.locator("main select, main button.danger").count() == 0
    answer = page.goto(f"{server.url}/dashboard/members")
    assert answer is not None and answer.status == 403
    assert page.get_by_text("Your role in this account does not allow this page.").is_visible()
    assert violations(page) == []
    page.goto(f"{server.url}/dashboard/")
    assert csrf_post(page, "/dashboard/members/invite", "email=x@example.com&role=owner") == 403
    assert csrf_post(page, f"/dashboard/members/{owner.user_id}/remove") == 403
    with server.app.app_context():
        assert db.session().get(User, owner.user_id) is not None
    assert violations(page) == []


def test_a_user_of_account_b_gets_404_for_account_a_objects(
    server: LiveServer, browser: Any
) -> None:
    a = add_person(server.app, Role.OWNER, email="a-owner@example.com")
    a_viewer = add_person(server.app, Role.VIEWER, a.account_id, email="a-viewer@example.com")
    b = add_person(server.app, Role.OWNER, email="b-owner@example.com")
    page = new_page(browser)
    browser_sign_in(page, server.url, b.email)
    assert a.email not in page.content()
    page.goto(f"{server.url}/dashboard/members")
    assert a_viewer.email not in page.content()
    assert csrf_post(page, f"/dashboard/members/{a_viewer.user_id}/remove") == 404
    body = f"m{a_viewer.user_id}-role=owner"
    assert csrf_post(page, f"/dashboard/members/{a_viewer.user_id}/role", body) == 404
    with server.app.app_context():
        viewer = db.session().get(User, a_viewer.user_id)
        assert viewer is not None and [m.role for m in viewer.memberships] == ["viewer"]
