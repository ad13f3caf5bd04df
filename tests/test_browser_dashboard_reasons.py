"""A refused widget edit in a real Chromium, in Hebrew and in German: the domain's reason is
shown in the page's language next to its field, announced with it, axe-clean, right to left
in Hebrew and no wider than a phone. Screenshots go to test-artifacts/dashboard/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.axe import violations
from tests.browser import chromium, watch_problems
from tests.dashboard import DESKTOP, PASSWORD, PHONE, SHOTS, add_person
from tests.live import LiveServer, live_server
from widget_server.core import db
from widget_server.owners import admin
from widget_server.owners.people import Role

pytestmark = pytest.mark.browser

# The language, and how it says the ring time's limits and the second agent's refusal.
SAID = {
    "he": ("חייב להיות מספר שלם בין 1 ל־300", "חייב להיות שלוחה, מספר או SIP URI"),
    "de": (
        "muss eine ganze Zahl zwischen 1 und 300 sein",
        "muss eine Durchwahl, eine Nummer oder eine SIP-URI sein",
    ),
}


TAGS = {"he": "he-IL", "de": "de-DE"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path: Path = tmp_path_factory.mktemp("dashboard-reasons")
    with live_server(path, []) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


@pytest.mark.parametrize("locale", SAID)
def test_a_refused_edit_shows_the_reason_in_the_page_language(
    server: LiveServer, browser: Any, locale: str
) -> None:
    owner = add_person(server.app, Role.OWNER, email=f"owner.reasons.{locale}@example.com")
    with server.app.app_context():
        widget = admin.create_widget(
            db.session(),
            owner.account_id,
            {
                "name": "Sales",
                "extension": "1001",
                "agents": [{"extension": "1001"}, {"extension": "1002"}],
            },
        )
        widget_id = widget.id
    # The browser asks for the language, as a Hebrew or German owner's browser does.
    context = browser.new_context(viewport=DESKTOP, locale=TAGS[locale])
    page = context.new_page()
    problems = watch_problems(page)
    page.goto(f"{server.url}/dashboard/sign-in")
    page.locator("input[name=email]").fill(owner.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/dashboard/(\?.*)?$"))
    page.goto(f"{server.url}/dashboard/widgets/{widget_id}")
    assert page.evaluate("document.documentElement.lang") == locale
    page.locator("#timeout").fill("999")
    page.locator("#agents__1__extension").fill("no!")
    page.locator("form[data-editor] button[value=save]").first.click()
    page.wait_for_load_state()

    ring_time, agent = SAID[locale]
    timeout = page.locator("#timeout")
    expect(page.locator("#timeout-error")).to_have_text(ring_time)
    expect(timeout).to_have_attribute("aria-invalid", "true")
    expect(timeout).to_have_attribute("aria-describedby", re.compile(r"\btimeout-error\b"))
    expect(page.locator("#agents__1__extension-error")).to_have_text(agent)
    expect(page.locator("#agents__1__extension")).to_have_attribute("aria-invalid", "true")
    assert "must be" not in page.locator("main").inner_text()
    assert page.evaluate("document.documentElement.dir") == ("rtl" if locale == "he" else "ltr")

    assert violations(page) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"], f"overflows at {size['width']} px: {width}"
        page.locator("#timeout").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"widget-reasons-{locale}-{label}.png"))
    assert violations(page) == []  # the phone layout too
    with server.app.app_context():
        assert db.session().get(type(widget), widget_id).timeout == 20  # nothing saved
    # The refused save answers 400, as it should; nothing else went wrong on the page.
    assert problems == [f"400 {server.url}/dashboard/widgets/{widget_id}"]
    context.close()
