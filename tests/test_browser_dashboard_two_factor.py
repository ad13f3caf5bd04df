"""The second factor in a real Chromium: set it up by reading the key off the page, sign out,
sign in with a code; a recovery code; an owner requiring it holds a member on the Security
page. Every page is axe-clean, in English and Hebrew (right to left), at desktop and phone
sizes, and the QR code keeps a scannable size and a white quiet zone in a dark theme.
Screenshots go to test-artifacts/dashboard/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.axe import violations
from tests.browser import chromium, watch_problems
from tests.dashboard import DESKTOP, LOCALES, PASSWORD, PHONE, SHOTS, add_person
from tests.live import LiveServer, live_server
from tests.test_browser_dashboard_auth import check_and_shoot
from widget_server.owners.people import Role

pytestmark = pytest.mark.browser

# A phone camera reads a QR code of this size on a screen easily.
MIN_QR_PIXELS = 200


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path: Path = tmp_path_factory.mktemp("two-factor")
    # Every test here signs in from the same address several times; the per-address limit
    # (counted at each password, code and identity check) would end the module early.
    with live_server(path, [], DASHBOARD_SIGN_IN_LIMIT_PER_IP="500 per 10 minutes") as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


def new_page(browser: Any, locale: str = "en", dark: bool = False) -> Any:
    context = browser.new_context(
        viewport=DESKTOP, locale=LOCALES[locale], color_scheme="dark" if dark else "light"
    )
    return context.new_page()


def sign_in_with_password(page: Any, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/dashboard/sign-in")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.locator("button[type=submit].primary").click()


def next_code(secret: str) -> str:
    """The code of the next time step: accepted now (one step ahead is allowed), and
    never the step the previous code used."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def read_secret(page: Any) -> str:
    return str(page.locator("#secret").inner_text()).replace(" ", "")


def check_qr(page: Any) -> None:
    """The QR code is big enough, square, unmirrored, and drawn on white to its edges."""
    box = page.locator("svg.qr").bounding_box()
    assert box and box["width"] >= MIN_QR_PIXELS and abs(box["width"] - box["height"]) < 1
    transform = page.evaluate("getComputedStyle(document.querySelector('svg.qr')).transform")
    assert transform in ("none", "matrix(1, 0, 0, 1, 0, 0)")
    fills = page.evaluate(
        "[...document.querySelectorAll('svg.qr [fill], svg.qr [stroke]')]"
        ".map(e => e.getAttribute('fill') || e.getAttribute('stroke'))"
    )
    assert "#fff" in fills and "#000" in fills, fills
    background = page.evaluate(
        "getComputedStyle(document.querySelector('svg.qr')).backgroundColor"
    )
    assert background == "rgb(255, 255, 255)"


@pytest.mark.parametrize("locale", ["en", "he"])
def test_set_up_sign_out_and_sign_in_with_a_code(
    server: LiveServer, browser: Any, locale: str
) -> None:
    member = add_person(server.app, Role.VIEWER, email=f"totp-{locale}@example.com")
    page = new_page(browser, locale)
    problems = watch_problems(page)
    sign_in_with_password(page, server.url, member.email)
    page.wait_for_url(f"{server.url}/dashboard/")
    page.locator("nav a[href='/dashboard/security']").click()
    page.wait_for_url(f"{server.url}/dashboard/security")
    check_and_shoot(page, "security-off", locale)
    page.fill("#proof", PASSWORD)
    page.locator("form[action$='/security/setup'] button").click()
    page.wait_for_selector("svg.qr")
    check_qr(page)
    secret = read_secret(page)
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    check_and_shoot(page, "security-setup", locale)
    # A wrong first code leaves it off, with the reason tied to the field.
    page.fill("#code", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    page.locator("form[action$='/security/confirm'] button").click()
    page.wait_for_selector("#code-error")
    assert page.get_attribute("#code", "aria-invalid") == "true"
    check_and_shoot(page, "security-setup-error", locale)
    page.fill("#code", pyotp.TOTP(secret).now())
    page.locator("form[action$='/security/confirm'] button").click()
    page.wait_for_selector("#recovery-codes")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    assert page.locator("svg.qr").count() == 0 and secret not in page.content()
    check_and_shoot(page, "security-recovery-codes", locale)

    page.locator("form[action$='/sign-out'] button").click()
    page.wait_for_url(re.compile(r".*/dashboard/sign-in$"))
    sign_in_with_password(page, server.url, member.email)
    page.wait_for_url(f"{server.url}/dashboard/sign-in/code")
    # Half signed in: no page opens yet.
    page.goto(f"{server.url}/dashboard/security")
    assert "/dashboard/sign-in" in page.url
    page.goto(f"{server.url}/dashboard/sign-in/code")
    check_and_shoot(page, "sign-in-code", locale)
    page.fill("#code", next_code(secret))
    page.locator("button[type=submit].primary").click()
    page.wait_for_url(f"{server.url}/dashboard/")
    page.goto(f"{server.url}/dashboard/security")
    check_and_shoot(page, "security-on", locale)
    assert page.locator("svg.qr, #secret, #recovery-codes").count() == 0

    # A recovery code signs in once.
    page.locator("form[action$='/sign-out'] button").click()
    page.wait_for_url(re.compile(r".*/dashboard/sign-in$"))
    sign_in_with_password(page, server.url, member.email)
    page.wait_for_url(f"{server.url}/dashboard/sign-in/code")
    page.fill("#code", codes[0])
    page.locator("button[type=submit].primary").click()
    page.wait_for_url(f"{server.url}/dashboard/")
    assert page.locator(".flash").count() == 1
    page.locator("form[action$='/sign-out'] button").click()
    page.wait_for_url(re.compile(r".*/dashboard/sign-in$"))
    sign_in_with_password(page, server.url, member.email)
    page.wait_for_url(f"{server.url}/dashboard/sign-in/code")
    page.fill("#code", codes[0])
    page.locator("button[type=submit].primary").click()
    page.wait_for_selector("#code-error")
    check_and_shoot(page, "sign-in-code-refused", locale)
    assert "/dashboard/sign-in/code" in page.url
    # Only the refused forms' answers (401, 422) are expected.
    assert [p for p in problems if not p.startswith(("401 ", "422 "))] == []


def test_the_qr_code_keeps_a_white_quiet_zone_in_a_dark_theme(
    server: LiveServer, browser: Any
) -> None:
    member = add_person(server.app, Role.VIEWER, email="totp-dark@example.com")
    page = new_page(browser, "he", dark=True)
    sign_in_with_password(page, server.url, member.email)
    page.wait_for_url(f"{server.url}/dashboard/")
    page.goto(f"{server.url}/dashboard/security")
    page.fill("#proof", PASSWORD)
    page.locator("form[action$='/security/setup'] button").click()
    page.wait_for_selector("svg.qr")
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    check_qr(page)
    assert violations(page) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        check_qr(page)
        page.screenshot(path=str(SHOTS / f"security-setup-dark-he-{label}.png"), full_page=True)


def test_an_owner_requires_it_and_a_member_is_held_until_set_up(
    server: LiveServer, browser: Any
) -> None:
    owner = add_person(server.app, Role.OWNER, email="totp-boss@example.com")
    member = add_person(server.app, Role.ADMIN, owner.account_id, email="totp-staff@example.com")
    page = new_page(browser)
    problems = watch_problems(page)
    sign_in_with_password(page, server.url, owner.email)
    page.wait_for_url(f"{server.url}/dashboard/")
    page.goto(f"{server.url}/dashboard/security")
    page.fill("#proof", PASSWORD)
    page.locator("form[action$='/security/setup'] button").click()
    page.wait_for_selector("svg.qr")
    page.fill("#code", pyotp.TOTP(read_secret(page)).now())
    page.locator("form[action$='/security/confirm'] button").click()
    page.wait_for_selector("#recovery-codes")
    page.goto(f"{server.url}/dashboard/members")
    page.locator("#required").check()
    page.locator("form[action$='/members/second-factor'] button").click()
    page.wait_for_selector(".flash")
    assert page.locator("#required").is_checked()
    factors = page.locator("td.factor").all_inner_texts()
    assert sorted(factors) == ["Off", "On"]
    for locale in ("en", "he"):
        shot = new_page(browser, locale)
        shot.context.add_cookies(page.context.cookies())
        shot.goto(f"{server.url}/dashboard/members")
        check_and_shoot(shot, "members-second-factor", locale)
        shot.context.close()

    staff = new_page(browser)
    sign_in_with_password(staff, server.url, member.email)
    staff.wait_for_url(f"{server.url}/dashboard/security")
    assert staff.locator("[role=alert]").is_visible()
    for path in ("/dashboard/", "/dashboard/widgets", "/dashboard/keys"):
        staff.goto(f"{server.url}{path}")
        assert staff.url == f"{server.url}/dashboard/security", path
    # Held, the member is offered only the page they may use.
    assert staff.locator("header nav a").all_inner_texts() == ["Security"]
    check_and_shoot(staff, "security-required", "en")
    staff.fill("#proof", PASSWORD)
    staff.locator("form[action$='/security/setup'] button").click()
    staff.wait_for_selector("svg.qr")
    staff.fill("#code", pyotp.TOTP(read_secret(staff)).now())
    staff.locator("form[action$='/security/confirm'] button").click()
    staff.wait_for_selector("#recovery-codes")
    staff.goto(f"{server.url}/dashboard/keys")
    assert staff.url == f"{server.url}/dashboard/keys"
    assert "Widgets" in staff.locator("header nav a").all_inner_texts()
    assert problems == []
