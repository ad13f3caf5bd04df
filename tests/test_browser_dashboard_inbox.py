"""The callbacks inbox in Chromium: a visitor's callback appears live, pages pass axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.axe import violations
from tests.browser import chromium, watch_problems
from tests.dashboard import PASSWORD, SHOTS, add_person, browser_sign_in
from tests.inbox_data import store_callback
from tests.live import LiveServer, live_server
from widget_server.calls.status_machine import event_row
from widget_server.core import db
from widget_server.core.models import Callback, Widget
from widget_server.owners.callback_actions import add_note
from widget_server.owners.people import Role

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1366, 768), "phone": (390, 844)}
# Whether the first character of the element's text is drawn left of its last one.
LEFT_TO_RIGHT = """(selector) => {
  const text = document.querySelector(selector).firstChild;
  const box = (at) => { const r = document.createRange(); r.setStart(text, at);
    r.setEnd(text, at + 1); return r.getBoundingClientRect(); };
  return box(0).left < box(text.length - 1).left;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(
        tmp_path_factory.mktemp("inbox"), host_origins=[], step_delay=0.6, FORM_TOKEN_MIN_AGE=1
    ) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


def _owner(server: LiveServer, email: str) -> str:
    with server.app.app_context():
        widget = db.session().get(Widget, server.widget_id)
        assert widget is not None
        account_id = widget.account_id
    add_person(server.app, Role.OWNER, account_id=account_id, email=email)
    return account_id


def _signed_in_page(browser: Any, server: LiveServer, email: str, **context: Any) -> Any:
    page = browser.new_context(**context).new_page()
    browser_sign_in(page, server.url, email, PASSWORD)
    return page


def test_a_visitors_callback_appears_live_without_reload(browser: Any, server: LiveServer) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    _owner(server, "live.owner@example.com")
    inbox = _signed_in_page(browser, server, "live.owner@example.com")
    problems = watch_problems(inbox)
    inbox.goto(f"{server.url}/dashboard/callbacks")
    inbox.evaluate("window.__notReloaded = true")
    expect(inbox.locator("#inbox-live-hint")).to_be_visible()

    visitor = browser.new_page()
    visitor.goto(f"{server.url}/w/{server.widget_id}")
    visitor.fill("#phone", "201 555 0147")
    visitor.wait_for_timeout(1100)  # a human takes at least the minimum fill time
    visitor.click("button.submit")

    row = inbox.locator("#inbox tbody tr", has_text="+1 201-555-0147")
    expect(row).to_be_visible(timeout=15_000)
    expect(row.locator(".badge")).to_have_text("Completed", timeout=20_000)
    expect(inbox.locator("#inbox-announcer")).to_contain_text("Completed")
    assert inbox.evaluate("window.__notReloaded") is True
    assert problems == []
    visitor.close()
    inbox.context.close()


def test_without_javascript_the_inbox_still_lists_and_refreshes(
    browser: Any, server: LiveServer
) -> None:
    _owner(server, "nojs.owner@example.com")
    page = _signed_in_page(browser, server, "nojs.owner@example.com", java_script_enabled=False)
    page.goto(f"{server.url}/dashboard/callbacks")
    expect(page.locator("#inbox-live-hint")).to_be_hidden()
    page.get_by_role("link", name="Refresh").click()
    expect(page.get_by_role("heading", name="Callbacks")).to_be_visible()
    page.context.close()


@pytest.mark.parametrize("locale", ["en", "he"])
def test_list_and_detail_pass_axe_at_both_sizes(
    browser: Any, server: LiveServer, locale: str
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    email = f"axe.{locale}@example.com"
    _owner(server, email)
    callback_id = store_callback(
        server.app,
        server.widget_id,
        "+12015550188",
        visitor_name="Dana",
        page_url="https://shop.example.com/pricing",
        utm={"utm_source": "newsletter", "utm_campaign": "winter"},
        status="rejected",
        cause="opted_out",
    )
    with server.app.app_context():
        session = db.session()
        callback = session.get(Callback, callback_id)
        assert callback is not None
        session.add_all(
            [
                event_row(callback_id, "dialing", source="server", applied=True),
                event_row(callback_id, "completed", source="simulator", applied=False),
            ]
        )
        session.commit()
        add_note(session, callback, "u1", email, "Asked for a quote.\nCall again Monday.")
    page = _signed_in_page(browser, server, email)
    # Signed in on the English page (the helper finds its fields by their English labels),
    # then the browser asks for the language under test.
    page.set_extra_http_headers({"Accept-Language": locale})
    problems = watch_problems(page)
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        for name, path in (
            ("list", "/dashboard/callbacks"),
            ("detail", f"/dashboard/callbacks/{callback_id}"),
        ):
            page.goto(f"{server.url}{path}")
            direction = page.evaluate("document.documentElement.dir")
            assert direction == ("rtl" if locale == "he" else "ltr")
            assert violations(page) == [], (name, size, locale)
            assert page.evaluate(LEFT_TO_RIGHT, "bdi.number"), (name, size, locale)
            page.screenshot(path=str(SHOTS / f"inbox-{name}-{locale}-{size}.png"), full_page=True)
            # Nothing may stick out sideways at phone size.
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, (name, size, locale, overflow)
    # Keyboard: the number in the first row is a link reached with Tab.
    page.goto(f"{server.url}/dashboard/callbacks")
    link = page.locator("#inbox tbody tr a").first
    link.focus()
    expect(link).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard/callbacks/*")
    assert problems == []
    page.context.close()
