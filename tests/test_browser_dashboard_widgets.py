"""The Widgets pages in a real Chromium: create a widget, see the live preview follow its
colour and texts, add an origin, save; every page axe-clean, right to left in Hebrew and no
wider than a phone. Screenshots go to test-artifacts/dashboard/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.axe import violations
from tests.browser import chromium, watch_problems
from tests.dashboard import DESKTOP, LOCALES, PHONE, SHOTS, add_person, browser_sign_in
from tests.live import LiveServer, live_server
from widget_server.core import db
from widget_server.core.models import Widget
from widget_server.owners.people import Role

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path: Path = tmp_path_factory.mktemp("dashboard-widgets")
    with live_server(path, []) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


def check_and_shoot(page: Any, name: str, locale: str) -> None:
    """Axe-clean, in the locale's direction, no wider than the window, at both sizes."""
    assert page.evaluate("document.documentElement.dir") == ("rtl" if locale == "he" else "ltr")
    assert violations(page) == [], name
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"], f"{name} overflows at {size['width']} px: {width}"
        page.screenshot(path=str(SHOTS / f"{name}-{locale}-{label}.png"), full_page=True)
    assert violations(page) == [], name  # the phone layout too
    page.set_viewport_size(DESKTOP)


def preview_frame(page: Any) -> Any:
    return page.frame_locator("iframe[data-preview]")


def test_create_edit_with_live_preview_add_origin_and_save(
    server: LiveServer, browser: Any
) -> None:
    owner = add_person(server.app, Role.OWNER, email="owner.widgets@example.com")
    context = browser.new_context(viewport=DESKTOP, locale=LOCALES["en"])
    page = context.new_page()
    problems = watch_problems(page)
    browser_sign_in(page, server.url, owner.email)
    page.goto(f"{server.url}/dashboard/widgets")
    page.get_by_label("Name").fill("Sales line")
    page.get_by_label("Agent extension or number").fill("1001")
    page.get_by_role("button", name="Create widget").click()
    page.wait_for_url(re.compile(r".*/dashboard/widgets/[0-9a-f]{32}$"))
    widget_id = page.url.rsplit("/", 1)[1]
    expect(page.locator(".flash")).to_contain_text("Widget Sales line created.")

    frame = preview_frame(page)
    button = frame.locator(".preview-button .b")
    expect(button).to_have_text("Call me back")
    # The colour: the preview's button follows the field as it changes, before any save.
    page.locator("#theme__color").fill("#aa0000")
    expect(button).to_have_css("background-color", "rgb(170, 0, 0)", timeout=5000)
    # The texts: the button and the form's title follow as they are typed.
    page.get_by_label("Button on the page").first.fill("Ring me now")
    page.get_by_label("Form title").first.fill("Talk to our sales team")
    expect(button).to_have_text("Ring me now", timeout=5000)
    expect(frame.locator("h1")).to_have_text("Talk to our sales team")
    with server.app.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None and widget.theme == {}  # previewed, not saved

    # Add an origin (its own button saves the rest of the form too).
    page.get_by_label("New origin").fill("https://www.example.com")
    page.get_by_role("button", name="Add origin").click()
    expect(page.locator(".flash")).to_contain_text("Origin added")
    expect(page.locator(".origins")).to_contain_text("https://www.example.com")
    page.get_by_role("button", name="Save changes").first.click()
    expect(page.locator(".flash")).to_contain_text("Changes saved.")
    with server.app.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None
        assert widget.allowed_origins == ["https://www.example.com"]
        assert widget.theme["color"] == "#aa0000"
        assert widget.texts == {"en": {"button": "Ring me now", "title": "Talk to our sales team"}}
    expect(button).to_have_css("background-color", "rgb(170, 0, 0)")
    frame_page = next(f for f in page.frames if "/preview" in f.url)
    assert violations(frame_page) == [], "preview"
    assert problems == []
    context.close()

    for locale in LOCALES:
        context = browser.new_context(viewport=DESKTOP, locale=LOCALES["en"])
        page = context.new_page()
        problems = watch_problems(page)
        browser_sign_in(page, server.url, owner.email)  # its labels are looked up in English
        for name, path in (
            ("widgets", "/dashboard/widgets"),
            ("widget-editor", f"/dashboard/widgets/{widget_id}"),
            ("widget-provider", f"/dashboard/widgets/{widget_id}/provider"),
            ("widget-delete", f"/dashboard/widgets/{widget_id}/delete"),
        ):
            page.goto(f"{server.url}{path}?locale={locale}")
            if name == "widget-editor":
                expect(preview_frame(page).locator(".preview-button .b")).to_be_visible()
            check_and_shoot(page, name, locale)
        assert problems == []
        context.close()


def test_editor_is_keyboard_usable(server: LiveServer, browser: Any) -> None:
    owner = add_person(server.app, Role.ADMIN, email="admin.widgets@example.com")
    page = browser.new_context(viewport=PHONE, locale="en-US").new_page()
    browser_sign_in(page, server.url, owner.email)
    page.goto(f"{server.url}/dashboard/widgets")
    page.get_by_label("Name").focus()
    page.keyboard.type("Support")
    page.keyboard.press("Tab")
    page.keyboard.type("1002")
    page.keyboard.press("Enter")  # the form's only button submits it
    page.wait_for_url(re.compile(r".*/dashboard/widgets/[0-9a-f]{32}$"))
    page.get_by_label("Name", exact=True).focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("Support desk")
    page.keyboard.press("Enter")  # the first button of the form is "Save changes"
    expect(page.locator(".flash")).to_contain_text("Changes saved.")
    expect(page.locator("h1")).to_have_text("Support desk")
