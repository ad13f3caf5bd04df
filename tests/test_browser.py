"""A real browser: host page on another origin, the widget's button, the form, live status."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import ARTIFACTS, chromium
from tests.live import host_site, live_server

pytestmark = pytest.mark.browser

HOST_JS = """
window.WidgetServer = window.WidgetServer || [];
window.seenStatuses = [];
WidgetServer.push(["on", "status", function (s) { window.seenStatuses.push(s); }]);
"""


def host_page(server_url: str, widget_id: str, copies: int = 1) -> str:
    tag = f'<script async src="{server_url}/widget.js" data-widget="{widget_id}"></script>'
    return (
        "<!doctype html><html lang='en'><head><title>Shop</title><link rel='icon' href='data:,'>"
        "<script src='/host.js'></script></head>"
        f"<body><h1>Shop</h1>{tag * copies}</body></html>"
    )


def widget_frame(page: Any, widget_id: str) -> Any:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for frame in page.frames:
            if f"/w/{widget_id}" in frame.url:
                return frame
        page.wait_for_timeout(50)
    raise AssertionError("the widget's iframe never loaded")


def click_widget_button(page: Any) -> None:
    # The button lives in a closed shadow root: reach it the way a visitor does, by position.
    host = page.wait_for_selector("[data-widget-server]", state="attached")
    box = host.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_visitor_requests_a_callback_from_a_page_on_another_origin(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pages: dict[str, tuple[str, str]] = {"/host.js": ("text/javascript", HOST_JS)}
    with (
        host_site(pages) as site,
        live_server(tmp_path, host_origins=[site], FORM_TOKEN_MIN_AGE=1) as server,
    ):
        pages["/"] = ("text/html", host_page(server.url, server.widget_id, copies=2))
        with chromium() as browser:
            page = browser.new_page()  # type: ignore[attr-defined]
            problems: list[str] = []
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(site + "/")
            page.wait_for_load_state("load")

            # Two script tags, one button (mounted once the widget's config has arrived).
            page.wait_for_selector("[data-widget-server]", state="attached")
            assert page.locator("[data-widget-server]").count() == 1
            assert page.evaluate("typeof window.WidgetServer.open") == "function"

            click_widget_button(page)
            frame = widget_frame(page, server.widget_id)
            frame.wait_for_selector("#phone")
            # The form reports to the host page, and only because its origin is allowed.
            assert frame.get_attribute("body", "data-host") == site
            frame.fill("#phone", "201 555 0123")
            page.wait_for_timeout(1100)  # a human takes at least the minimum fill time
            frame.click("button.submit")

            status = frame.locator("[data-status]")
            status.wait_for(state="visible")
            expect(status).to_contain_text("Call finished", timeout=20_000)
            page.screenshot(path=str(ARTIFACTS / "callback-completed.png"))
            seen = page.evaluate("window.seenStatuses")
            assert seen[0] == "queued" and seen[-1] == "completed"
            middle = {"agent_ringing", "agent_answered", "visitor_ringing", "connected"}
            assert len(middle & set(seen)) >= 2, seen
            assert seen == sorted(set(seen), key=seen.index)  # never moves back
            assert problems == []
