"""The widget editor's agent and department rows and the secondary provider's form in a real
Chromium: used by keyboard alone, saved, axe-clean, right to left in Hebrew and no wider
than a phone. Screenshots go to test-artifacts/dashboard/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.axe import violations
from tests.browser import chromium, watch_problems
from tests.dashboard import DESKTOP, LOCALES, PHONE, SHOTS, add_person, browser_sign_in
from tests.live import LiveServer, live_server
from tests.owned import account_widget
from widget_server.core import db
from widget_server.core.models import Widget
from widget_server.owners.people import Role

pytestmark = pytest.mark.browser

SECRET = "webhook-secret-0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path: Path = tmp_path_factory.mktemp("dashboard-subforms")
    with live_server(path, []) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


def stored(server: LiveServer, widget_id: str) -> Widget:
    with server.app.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None
        db.session().expunge(widget)
        return widget


def shoot(page: Any, name: str, locale: str, part: str) -> None:
    """Axe-clean, in the locale's direction, no wider than the window; the part shot alone."""
    assert page.evaluate("document.documentElement.dir") == ("rtl" if locale == "he" else "ltr")
    assert violations(page) == [], name
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"], f"{name} overflows at {size['width']} px: {width}"
        page.locator(part).screenshot(path=str(SHOTS / f"{name}-{locale}-{label}.png"))
        assert violations(page) == [], f"{name} at {label}"
    page.set_viewport_size(DESKTOP)


def focused_id(page: Any) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def press_button(page: Any, name: str) -> None:
    """Reach a button by Tab from the field before it would be slow: focus it, press Enter."""
    button = page.get_by_role("button", name=name, exact=True).first
    button.focus()
    page.keyboard.press("Enter")


def test_agents_and_departments_by_keyboard(server: LiveServer, browser: Any) -> None:
    owner = add_person(server.app, Role.OWNER, email="owner.rows@example.com")
    widget_id = account_widget(server.app, owner.account_id)
    context = browser.new_context(viewport=DESKTOP, locale=LOCALES["en"])
    page = context.new_page()
    problems = watch_problems(page)
    browser_sign_in(page, server.url, owner.email)
    page.goto(f"{server.url}/dashboard/widgets/{widget_id}")

    # The empty row: typed into, then Tab reaches its label.
    page.locator("#agents__1__extension").focus()
    page.keyboard.type("+27821234567")
    page.keyboard.press("Tab")
    assert focused_id(page) == "agents__1__label"
    page.keyboard.type("Front desk")
    # "Add another agent" brings the page back with the keyboard in the new row.
    press_button(page, "Add another agent")
    expect(page.locator("[role=status].note")).to_contain_text("not saved yet")
    expect(page.locator("#agents__2__extension")).to_be_focused()
    page.keyboard.type("1003")
    # Move it up: it is rung second; the focus follows it.
    press_button(page, "Move up agent 3")
    expect(page.locator("#agents__1__extension")).to_be_focused()
    expect(page.locator("#agents__1__extension")).to_have_value("1003")
    # Its own hours, in a part that opens from the keyboard.
    row = page.locator("#agents__1")
    row.locator("summary").focus()
    page.keyboard.press("Enter")
    page.locator("#agents__1__business_hours__windows__mon").fill("09:00-17:00")

    page.locator("#departments__0__key").focus()
    page.keyboard.type("sales")
    page.get_by_label("English", exact=True).first.fill("Sales")
    page.locator("#departments__0__names__he").fill("מכירות")
    page.locator("#departments__0__agents__0__extension").fill("2001")
    press_button(page, "Save changes")
    expect(page.locator(".flash")).to_contain_text("Changes saved.")
    widget = stored(server, widget_id)
    assert widget.agents == [
        {"extension": "1001"},
        {"extension": "1003", "business_hours": {"windows": {"mon": [["09:00", "17:00"]]}}},
        {"extension": "+27821234567", "label": "Front desk"},
    ]
    assert widget.departments == [
        {
            "key": "sales",
            "names": {"en": "Sales", "he": "מכירות"},
            "agents": [{"extension": "2001"}],
        }
    ]

    assert problems == []
    # A refusal (a 400 answer) shows on its row.
    page.locator("#agents__2__extension").fill("not a number")
    press_button(page, "Save changes")
    error = page.locator("#agents__2__extension-error")
    expect(error).to_contain_text("must be an extension")
    expect(page.locator("#agents__2__extension")).to_have_attribute("aria-invalid", "true")
    assert violations(page) == []
    context.close()

    for locale in LOCALES:
        context = browser.new_context(viewport=DESKTOP, locale=LOCALES["en"])  # signs in in English
        page = context.new_page()
        browser_sign_in(page, server.url, owner.email)
        page.goto(f"{server.url}/dashboard/widgets/{widget_id}?locale={locale}")
        page.locator("#agents__1 summary").click()
        shoot(page, "widget-agents", locale, "#section-agents")
        shoot(page, "widget-departments", locale, "#section-departments")
        context.close()


def test_a_viewer_sees_agent_rows_masked(server: LiveServer, browser: Any) -> None:
    owner = add_person(server.app, Role.OWNER, email="owner.masked@example.com")
    viewer = add_person(server.app, Role.VIEWER, owner.account_id, email="viewer.rows@example.com")
    widget_id = account_widget(
        server.app,
        owner.account_id,
        agents=[{"extension": "+27821234567", "label": "Front desk"}, {"extension": "1002"}],
    )
    page = browser.new_context(viewport=PHONE, locale="en-US").new_page()
    browser_sign_in(page, server.url, viewer.email)
    page.goto(f"{server.url}/dashboard/widgets/{widget_id}")
    section = page.locator("#section-agents")
    expect(section).to_contain_text("+27 82 ••• ••67")
    assert "+27821234567" not in page.content()
    assert section.locator("input, button, select").count() == 0
    assert violations(page) == []


def test_secondary_provider_by_keyboard(
    server: LiveServer, browser: Any, loopback_resolver: dict[str, list[str]]
) -> None:
    loopback_resolver["hooks.example.com"] = ["93.184.216.34"]  # looked up, never called
    owner = add_person(server.app, Role.OWNER, email="owner.failover@example.com")
    widget_id = account_widget(server.app, owner.account_id)
    context = browser.new_context(viewport=DESKTOP, locale=LOCALES["en"])
    page = context.new_page()
    problems = watch_problems(page)
    browser_sign_in(page, server.url, owner.email)
    page.goto(f"{server.url}/dashboard/widgets/{widget_id}/provider")
    select = page.get_by_label("Secondary provider", exact=True)
    select.focus()
    select.select_option("webhook")  # as the arrow keys would
    page.keyboard.press("Tab")  # to "Show its settings"
    page.keyboard.press("Enter")
    expect(page.locator("#secondary-setting__url")).to_be_visible()
    assert stored(server, widget_id).secondary_provider is None  # shown, not saved
    page.locator("#secondary-setting__url").fill("https://hooks.example.com/call")
    page.locator("#secondary-setting__secret").fill(SECRET)
    press_button(page, "Save secondary provider")
    expect(page.locator(".flash")).to_contain_text("Secondary provider saved.")
    widget = stored(server, widget_id)
    assert widget.secondary_provider == "webhook" and widget.provider == "simulator"
    assert widget.secondary_provider_settings["secret"] == SECRET
    assert SECRET not in page.content()
    expect(page.locator('#secondary [data-secret-stored="secret"]')).to_be_visible()
    # Saved again with the secret left empty: it stays.
    press_button(page, "Save secondary provider")
    expect(page.locator(".flash")).to_contain_text("Secondary provider saved.")
    assert stored(server, widget_id).secondary_provider_settings["secret"] == SECRET
    assert problems == []
    context.close()

    for locale in LOCALES:
        context = browser.new_context(viewport=DESKTOP, locale=LOCALES["en"])  # signs in in English
        page = context.new_page()
        browser_sign_in(page, server.url, owner.email)
        page.goto(f"{server.url}/dashboard/widgets/{widget_id}/provider?locale={locale}")
        shoot(page, "widget-secondary", locale, "#secondary")
        context.close()
