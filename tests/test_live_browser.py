"""A real browser follows a callback live (Server-Sent Events) and cancels it on the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import ARTIFACTS, chromium, watch_problems
from tests.helpers import add_widget, callbacks
from tests.live import LiveServer, live_server

pytestmark = pytest.mark.browser


def open_form(browser: Any, url: str, events: bool = True) -> tuple[Any, list[str], list[str]]:
    page = browser.new_page()
    if not events:
        page.add_init_script("delete window.EventSource;")
    problems = watch_problems(page)
    streams: list[str] = []
    page.on("request", lambda r: "/events" in r.url and streams.append(r.url))
    page.goto(url)
    page.wait_for_selector("#phone")
    return page, problems, streams


def submit(page: Any) -> None:
    page.fill("#phone", "201 555 0123")
    page.wait_for_timeout(1100)  # a human takes at least the minimum fill time
    page.click("button.submit")


def retrying_widget(server: LiveServer) -> str:
    """A widget of the live server whose agent never answers: a retry waits two minutes."""
    return add_widget(
        server.app,
        allowed_origins=[server.url],
        max_retries=2,
        retry_delay=120,
        provider_settings={"step_delay": 0.3, "fail": "agent_no_answer"},
    )


def test_live_status_follows_the_call_through_events(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with (
        live_server(tmp_path, host_origins=[], step_delay=0.6, FORM_TOKEN_MIN_AGE=1) as server,
        chromium() as browser,
    ):
        page, problems, streams = open_form(browser, f"{server.url}/w/{server.widget_id}")
        submit(page)
        status = page.locator("[data-status]")
        status.wait_for(state="visible")
        expect(status).to_contain_text("Calling you now", timeout=15_000)
        expect(status).to_contain_text("Call finished", timeout=15_000)
        page.screenshot(path=str(ARTIFACTS / "live-status-completed.png"))
        assert streams, "the page never opened the event stream"
        assert page.locator("[data-cancel]").is_hidden()
        assert problems == []


@pytest.mark.parametrize("events", [True, False], ids=["events", "polling"])
def test_visitor_cancels_while_a_retry_waits(tmp_path: Path, events: bool) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with (
        live_server(tmp_path, host_origins=[], FORM_TOKEN_MIN_AGE=1) as server,
        chromium() as browser,
    ):
        widget_id = retrying_widget(server)
        page, problems, streams = open_form(browser, f"{server.url}/w/{widget_id}", events=events)
        submit(page)
        status = page.locator("[data-status]")
        expect(status).to_contain_text("try again shortly", timeout=15_000)
        expect(status).to_contain_text("Our team couldn't answer in time.")
        cancel = page.locator("[data-cancel] button")
        expect(cancel).to_be_visible()
        cancel.click()
        expect(status).to_contain_text("The callback was canceled", timeout=10_000)
        expect(page.locator("[data-cancel]")).to_be_hidden()
        page.screenshot(path=str(ARTIFACTS / f"live-status-canceled-{events}.png"))
        [callback] = callbacks(server.app)
        assert (callback.status, callback.attempts) == ("canceled", 1)
        # Without EventSource the page polls the status API instead, with the same result.
        assert bool(streams) == events
        assert problems == []


def test_status_page_cancels_without_javascript(tmp_path: Path) -> None:
    with (
        live_server(tmp_path, host_origins=[], FORM_TOKEN_MIN_AGE=1) as server,
        chromium() as browser,
    ):
        widget_id = retrying_widget(server)
        context = browser.new_context(java_script_enabled=False)
        page = context.new_page()
        page.goto(f"{server.url}/w/{widget_id}")
        submit(page)
        page.wait_for_url("**/status/**")
        # The page refreshes itself without JavaScript until the first attempt went unanswered.
        expect(page.locator("[data-status]")).to_contain_text("try again shortly", timeout=15_000)
        button = page.locator("[data-cancel] button")
        expect(button).to_be_visible()
        button.click()
        page.wait_for_load_state("load")
        expect(page.locator("[data-status]")).to_contain_text("canceled")
        [callback] = callbacks(server.app)
        assert callback.status == "canceled"
        context.close()


def test_a_call_handed_to_a_provider_that_reports_nothing_never_reads_finished(
    tmp_path: Path,
) -> None:
    from tests.fakes.click2dial import Fake as Click2DialFake

    ARTIFACTS.mkdir(exist_ok=True)
    with (
        live_server(tmp_path, host_origins=[], FORM_TOKEN_MIN_AGE=1) as server,
        chromium() as browser,
        Click2DialFake() as pbx,
    ):
        widget_id = add_widget(
            server.app,
            allowed_origins=[server.url],
            provider="click2dial",
            provider_settings=pbx.provider_settings(),
        )
        page, problems, streams = open_form(browser, f"{server.url}/w/{widget_id}")
        submit(page)
        status = page.locator("[data-status]")
        expect(status).to_contain_text("Our team is calling you now.", timeout=15_000)
        page.wait_for_timeout(500)  # a terminal status: nothing follows it
        expect(status).not_to_contain_text("Call finished")
        page.set_viewport_size({"width": 360, "height": 640})
        page.screenshot(path=str(ARTIFACTS / "live-status-handed-off.png"))
        assert pbx.originate_count() == 1
        assert [c.status for c in callbacks(server.app)] == ["handed_off"]
        assert streams and problems == []
