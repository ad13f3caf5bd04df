"""A real browser picks a department by keyboard: its name in the visitor's language, its
own hours (a closed one offers its slots), axe-core clean, in English and in Hebrew."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.axe import violations
from tests.browser import ARTIFACTS, chromium, watch_problems
from tests.live import LiveServer, live_server
from widget_server.core import db
from widget_server.core.clock import Clock
from widget_server.core.models import Callback

pytestmark = pytest.mark.browser

SATURDAY_NOON = datetime(2030, 3, 30, 11, 0, tzinfo=UTC)  # Sales open, Support closed
WEEKDAYS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
DEPARTMENTS = [
    {"key": "sales", "names": {"en": "Sales", "he": "מכירות"}, "agents": [{"extension": "2001"}]},
    {
        "key": "support",
        "names": {"en": "Support", "he": "תמיכה"},
        "agents": [{"extension": "3001"}],
        "business_hours": {"windows": WEEKDAYS, "slot_minutes": 30, "lead_minutes": 0},
    },
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    widget = {"departments": DEPARTMENTS, "time_zone": "Europe/Berlin"}
    with live_server(
        tmp_path_factory.mktemp("departments"), host_origins=[], widget=widget, FORM_TOKEN_MIN_AGE=0
    ) as running:
        clock: Clock = running.app.extensions["clock"]
        clock.set(SATURDAY_NOON, running=True)
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


def assert_accessible(page: Any, where: str) -> None:
    found = violations(page)
    assert found == [], f"axe-core violations on {where}: {json.dumps(found, indent=1)}"


def test_a_keyboard_visitor_picks_a_closed_department_and_books_it(
    server: LiveServer, browser: Any
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 420, "height": 720})
    problems = watch_problems(page)
    page.goto(f"{server.url}/w/{server.widget_id}?locale=en")
    picker = page.get_by_label("What is your call about?")
    expect(picker).to_have_value("sales")
    expect(page.locator("[data-slots]")).to_be_hidden()  # Sales takes calls now
    assert_accessible(page, "the form with departments")

    page.keyboard.press("Tab")
    expect(picker).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(picker).to_have_value("support")
    # Support is closed on Saturdays: its own slots appear, and the button books.
    slots = page.locator("#scheduled_for")
    expect(slots).to_be_visible()
    expect(slots.locator("option").first).to_have_text("Mon 1 Apr, 09:00")
    expect(page.locator("button.submit")).to_have_text("Book this call")
    assert_accessible(page, "a closed department's slots")
    page.screenshot(path=str(ARTIFACTS / "departments-en.png"))

    page.keyboard.press("ArrowUp")  # back to Sales: open, nothing to book
    expect(page.locator("[data-slots]")).to_be_hidden()
    expect(page.locator("button.submit")).to_have_text("Call me back")
    page.keyboard.press("ArrowDown")
    expect(slots).to_be_visible()

    page.get_by_label("Your phone number").fill("201 555 0123")
    page.keyboard.press("Enter")
    expect(page.locator("[data-status]")).to_contain_text("booked for Mon", timeout=10_000)
    assert problems == []
    with server.app.app_context():
        [callback] = db.session().query(Callback).all()
        assert (callback.department, callback.status) == ("support", "scheduled")


def test_the_picker_in_hebrew_is_mirrored_and_named_in_hebrew(
    server: LiveServer, browser: Any, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 720})
    page.goto(f"{server.url}/w/{server.widget_id}?locale=he")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    picker = page.get_by_label("במה נוכל לעזור?")
    expect(picker.locator("option")).to_have_text(["מכירות", "תמיכה"])
    picker.select_option("support")
    expect(page.locator("#scheduled_for")).to_be_visible()
    # Fetched for the department picked, labelled in the page's language.
    expect(page.locator("#scheduled_for option").first).not_to_contain_text("Mon")
    assert_accessible(page, "the Hebrew form with departments")
    page.screenshot(path=str(ARTIFACTS / "departments-he.png"))
