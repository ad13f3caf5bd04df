"""A callee opts out in a real browser: number, the code texted to it, done; without a code
nothing is recorded. On a phone, in English and in Arabic (right to left), axe-clean.
Screenshots of every step go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.axe import violations
from tests.browser import ARTIFACTS, chromium
from tests.fakes import twilio_messages
from tests.live import live_server
from widget_server.calls import blocklist
from widget_server.core import db

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_a_callee_opts_out_with_the_texted_code(tmp_path: Path, locale: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with twilio_messages.Fake() as texts, live_server(tmp_path, [], **texts.settings()) as server:
        with chromium() as browser:
            page = browser.new_page(viewport=PHONE)  # type: ignore[attr-defined]
            # Script errors only: the wrong code's page is a 422 by design.
            problems: list[str] = []
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(f"{server.url}/optout?locale={locale}")
            expected_direction = "rtl" if locale == "ar" else "ltr"
            assert page.evaluate("document.documentElement.dir") == expected_direction
            assert violations(page) == []
            page.screenshot(path=str(ARTIFACTS / f"optout-number-{locale}.png"), full_page=True)

            page.fill("#phone", "+1 201 555 0123")
            page.keyboard.press("Enter")
            page.wait_for_selector("#code")
            # The worker texts the code; only the number's owner reads it.
            for _ in range(100):
                if texts.sent:
                    break
                page.wait_for_timeout(50)
            assert [to for to, _ in texts.sent] == ["+12015550123"]
            assert violations(page) == []
            page.screenshot(path=str(ARTIFACTS / f"optout-code-{locale}.png"), full_page=True)

            assert page.evaluate("document.documentElement.dir") == expected_direction
            page.fill("#code", "000000")
            page.click("button[type=submit]")
            page.wait_for_selector("#code-error")
            assert page.get_attribute("#code", "aria-invalid") == "true"
            with server.app.app_context():
                assert blocklist.number_blocked(db.session(), "+12015550123") is None
            page.screenshot(path=str(ARTIFACTS / f"optout-wrong-code-{locale}.png"), full_page=True)

            page.fill("#code", texts.last_code())
            page.click("button[type=submit]")
            page.wait_for_selector("p.status[role=status]")
            assert page.evaluate("document.documentElement.dir") == expected_direction
            with server.app.app_context():
                assert blocklist.number_blocked(db.session(), "+12015550123") == "opted_out"
            assert violations(page) == []
            page.screenshot(path=str(ARTIFACTS / f"optout-done-{locale}.png"), full_page=True)
            # Nothing overflows the phone's width.
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            assert problems == []
