"""The audit log in Chromium: actions done in the browser appear with who, when and where;
filters and older pages work from the keyboard and mouse; axe-core finds nothing; screenshots
in English and Hebrew on a desktop and a phone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.axe import violations
from tests.browser import chromium, require_chromium, watch_problems
from tests.dashboard import DESKTOP, PASSWORD, PHONE, SHOTS, add_person, browser_sign_in
from tests.live import LiveServer, live_server
from tests.owned import stored_widget
from widget_server.core import db
from widget_server.owners import audit
from widget_server.owners.people import Role

pytestmark = pytest.mark.browser

SLOW = 15_000  # ms: CI machines can be busy


@dataclass
class Stack:
    server: LiveServer
    browser: Any
    owner: str
    viewer: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_chromium()
    with live_server(tmp_path_factory.mktemp("live"), []) as server, chromium() as browser:
        account_id = stored_widget(server.app, server.widget_id).account_id
        owner = add_person(server.app, Role.OWNER, account_id=account_id, email="dana@example.com")
        viewer = add_person(server.app, Role.VIEWER, account_id=account_id)
        # Earlier work by a teammate, enough for a second page.
        mate = audit.member_actor(account_id, "c" * 32, "yossi@example.com", "198.51.100.23")
        with server.app.app_context():
            for number in range(55):
                audit.record(
                    db.session(),
                    mate,
                    audit.WIDGET_CHANGED,
                    object_type="widget",
                    object_id=server.widget_id,
                    details={"fields": ["name", "timeout"] if number % 2 else ["hours"]},
                )
            db.session().commit()
        SHOTS.mkdir(parents=True, exist_ok=True)
        yield Stack(server, browser, owner.email, viewer.email)


def signed_in_page(stack: Stack, email: str, locale: str = "en", **context: Any) -> Any:
    page = stack.browser.new_context(**({"viewport": DESKTOP} | context)).new_page()
    browser_sign_in(page, stack.server.url, email, PASSWORD)  # its labels are English
    page.context.set_extra_http_headers({"Accept-Language": locale})
    return page


def assert_accessible(page: Any, where: str) -> None:
    found = violations(page)
    assert found == [], f"axe-core violations on {where}: {json.dumps(found, indent=1)}"


def test_actions_show_in_the_log_and_filters_and_pages_work(stack: Stack) -> None:
    page = signed_in_page(stack, stack.owner)
    problems = watch_problems(page)
    # An action in the browser: a new API key.
    page.goto(stack.server.url + "/dashboard/keys")
    page.locator("input[name=name]").fill("CRM")
    page.locator("form.key-create button[type=submit]").click()
    expect(page.locator("#new-key")).to_be_visible(timeout=SLOW)

    page.get_by_role("link", name="Audit log").first.click()
    expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
    table = page.locator("#audit")
    first_row = table.locator("tbody tr").first
    expect(first_row).to_contain_text("API key created")
    expect(first_row).to_contain_text(stack.owner)
    expect(first_row).to_contain_text("127.0.0.1")
    expect(table.locator("tbody tr").nth(1)).to_contain_text("Signed in")
    assert_accessible(page, "the audit log")

    # Older entries, then back to the newest.
    page.get_by_role("link", name="Older entries").click()
    expect(table.locator("tbody tr").first).to_contain_text("yossi@example.com")
    expect(page.get_by_role("link", name="Older entries")).to_have_count(0)
    page.get_by_role("link", name="Newest").click()
    expect(table.locator("tbody tr").first).to_contain_text("API key created")

    # Filter by person and action, from the form.
    page.get_by_label("Person").select_option(stack.owner)
    page.get_by_label("Action").select_option(audit.SIGN_IN)
    page.get_by_role("button", name="Apply filters").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("tbody tr").first).to_contain_text("Signed in")
    assert_accessible(page, "the filtered audit log")
    page.get_by_role("link", name="Clear filters").click()
    expect(table.locator("tbody tr")).to_have_count(50)

    assert problems == []

    # A bad date range is answered 400, saying which field and why.
    answer = page.goto(stack.server.url + "/dashboard/audit?from=2026-12-31&to=2026-01-01")
    assert answer is not None and answer.status == 400
    expect(page.locator("#f-to-error")).to_contain_text("before the start date")
    assert_accessible(page, "the audit log with a bad filter")
    page.context.close()


def test_a_viewer_cannot_open_it(stack: Stack) -> None:
    page = signed_in_page(stack, stack.viewer)
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)
    answer = page.goto(stack.server.url + "/dashboard/audit")
    assert answer is not None and answer.status == 403
    page.context.close()


@pytest.mark.parametrize("locale", ["en", "he"])
def test_the_page_is_accessible_and_laid_out(stack: Stack, locale: str) -> None:
    page = signed_in_page(stack, stack.owner, locale=locale)
    problems = watch_problems(page)
    page.goto(stack.server.url + "/dashboard/audit")
    if locale == "he":
        assert page.get_attribute("html", "dir") == "rtl"
        expect(page.locator("h1")).not_to_have_text("Audit log")  # translated
    assert_accessible(page, f"the audit log ({locale})")
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        if size == "phone":
            # One person's entries: a page short enough to see whole on a phone.
            page.goto(stack.server.url + "/dashboard/audit?" + urlencode({"person": stack.owner}))
            assert_accessible(page, f"the filtered audit log ({locale}, phone)")
        page.screenshot(path=str(SHOTS / f"audit-{locale}-{size}.png"), full_page=True)
        # Nothing wider than the screen: the page never scrolls sideways.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"audit log ({locale}) is {width}px wide"
    assert problems == []
    page.context.close()
