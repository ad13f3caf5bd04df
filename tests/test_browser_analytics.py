"""The funnel in Chromium: a host page on another origin loads the widget three times,
opens it twice and asks for one call, which the simulator connects; once the rollup job
has run, the analytics page shows 3 shown, 2 opened, 1 submitted and 1 connected for
today, and the landing URL's UTM source. Then the page in English and Hebrew, on a
desktop and a phone: axe-core finds nothing, and the table views open by keyboard.
Screenshots go to test-artifacts/analytics/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.axe import violations
from tests.browser import ARTIFACTS, chromium, require_chromium, watch_problems
from tests.dashboard import DESKTOP, LOCALES, PASSWORD, PHONE, add_person, browser_sign_in
from tests.helpers import callbacks
from tests.live import LiveServer, host_site, live_server
from widget_server.core import db
from widget_server.core.models import Widget

pytestmark = pytest.mark.browser

SLOW = 20_000  # ms
SHOTS = ARTIFACTS / "analytics"
LANDING = "/landing?utm_source=spring-mail&utm_medium=email&utm_campaign=launch"


@dataclass
class Stack:
    server: LiveServer
    browser: Any
    site: str
    email: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_chromium()
    pages: dict[str, tuple[str, str]] = {}
    with (
        host_site(pages) as site,
        live_server(
            tmp_path_factory.mktemp("analytics"),
            host_origins=[site],
            step_delay=0.2,
            FORM_TOKEN_MIN_AGE=1,
            ANALYTICS_SETTLE_SECONDS=0,
        ) as server,
        chromium() as browser,
    ):
        loader = f"{server.url}/widget.js"
        pages["/landing"] = (
            "text/html",
            '<!doctype html><html lang="en"><head><title>Spring offer</title></head>'
            f'<body><h1>Spring offer</h1><script async src="{loader}" '
            f'data-widget="{server.widget_id}"></script></body></html>',
        )
        with server.app.app_context():
            widget = db.session().get(Widget, server.widget_id)
            assert widget is not None
            account_id = widget.account_id
        member = add_person(server.app, account_id=account_id)
        SHOTS.mkdir(parents=True, exist_ok=True)
        yield Stack(server, browser, site, member.email)


def beacon_answered(page: Any, event: str) -> Any:
    return page.expect_request(
        lambda r: r.url.endswith("/beacon") and f"event={event}" in (r.post_data or ""),
        timeout=SLOW,
    )


def button_of(page: Any) -> Any:
    host = page.wait_for_selector("[data-widget-server]", state="attached", timeout=SLOW)
    box = host.bounding_box()
    assert box is not None and box["width"] > 0
    return box


def form_frame(page: Any, widget_id: str) -> Any:
    for _ in range(SLOW // 50):
        for frame in page.frames:
            if f"/w/{widget_id}?" in frame.url:
                return frame
        page.wait_for_timeout(50)
    raise AssertionError("the widget's form frame never loaded")


def wait_for_status(stack: Stack, status: str) -> None:
    deadline = time.monotonic() + SLOW / 1000
    while time.monotonic() < deadline:
        if [c.status for c in callbacks(stack.server.app)] == [status]:
            return
        time.sleep(0.1)
    raise AssertionError([c.status for c in callbacks(stack.server.app)])


def test_three_loads_two_opens_one_connected_call(stack: Stack) -> None:
    widget_id = stack.server.widget_id
    visitor = stack.browser.new_context(viewport=DESKTOP, locale="en-US")
    page = visitor.new_page()
    problems = watch_problems(page)
    for visit in range(3):
        with beacon_answered(page, "shown"):
            page.goto(stack.site + LANDING)
        box = button_of(page)
        if visit == 2:
            break  # the third visitor only sees the button
        with beacon_answered(page, "opened"):
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        frame = form_frame(page, widget_id)
        expect(frame.locator("#phone")).to_be_visible(timeout=SLOW)
        if visit == 1:
            frame.locator("#phone").fill("201 555 0162")
            page.wait_for_timeout(1100)  # the form's minimum fill time
            frame.locator("button.submit").click()
            expect(frame.locator("[data-status]")).to_be_visible(timeout=SLOW)
            wait_for_status(stack, "completed")
            # Closing the panel and opening it again is still one "opened" for this visit.
            page.keyboard.press("Escape")
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(300)
    assert problems == []
    visitor.close()

    rolled = stack.server.app.extensions["jobs"].roll_up_analytics()
    assert rolled["events"] > 0

    owner = stack.browser.new_context(viewport=DESKTOP, locale="en-US").new_page()
    owner_problems = watch_problems(owner)
    browser_sign_in(owner, stack.server.url, stack.email)
    owner.get_by_role("link", name="Analytics").click()
    expect(owner.get_by_role("heading", name="Analytics", level=1)).to_be_visible()
    funnel = owner.locator("#table-funnel")
    # The table view opens from the keyboard: focus its summary, press Enter.
    summary = owner.locator("#funnel-title ~ details summary")
    summary.focus()
    owner.keyboard.press("Enter")
    expect(funnel).to_be_visible()
    expected = {"Button shown": "3", "Opened": "2", "Submitted": "1", "Connected": "1"}
    for step, count in expected.items():
        expect(funnel.get_by_role("row", name=step, exact=False).locator("td").first).to_have_text(
            count
        )
    expect(owner.locator("#table-utm_source")).to_contain_text("spring-mail")
    expect(owner.locator("#table-path")).to_contain_text("/landing")
    expect(owner.locator("#table-utm_campaign")).to_contain_text("launch")
    # Today's row of the daily table counts the same.
    daily = owner.locator("#table-daily tbody tr").last
    expect(daily.locator("td")).to_have_text(["3", "2", "1", "1"])
    assert owner_problems == []
    owner.context.close()


@pytest.mark.parametrize("locale", list(LOCALES))
@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_the_page_reads_well_in_every_size_and_direction(
    stack: Stack, locale: str, size: str, viewport: dict[str, int]
) -> None:
    context = stack.browser.new_context(viewport=viewport, locale=LOCALES[locale])
    page = context.new_page()
    problems = watch_problems(page)
    browser_sign_in_localised(page, stack)
    page.goto(f"{stack.server.url}/dashboard/analytics?widget={stack.server.widget_id}")
    assert page.evaluate("document.documentElement.dir") == ("rtl" if locale == "he" else "ltr")
    for summary in page.locator("details.table-view summary").all()[:1]:
        summary.click()
    assert violations(page) == [], (locale, size)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"the page scrolls sideways: {width}px"
    page.screenshot(path=str(SHOTS / f"analytics-{locale}-{size}.png"), full_page=True)
    assert problems == []
    context.close()


def browser_sign_in_localised(page: Any, stack: Stack) -> None:
    """Sign in by the form's field ids, whatever the page's language."""
    page.goto(f"{stack.server.url}/dashboard/sign-in")
    page.fill("#email", stack.email)
    page.fill("#password", PASSWORD)
    page.locator("button[type=submit].primary").click()
    page.wait_for_url(f"{stack.server.url}/dashboard/")
