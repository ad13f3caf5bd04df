"""The widget on other people's pages, in Debian's Chromium: viewports, languages, hostile
CSS, a strict CSP, keyboard-only use, the command queue, display rules, the preview page
and axe-core's WCAG 2.2 AA rules. Screenshots of every case go to test-artifacts/."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.axe import violations
from tests.browser import ARTIFACTS, chromium, require_chromium
from tests.helpers import add_widget
from tests.live import LiveServer, host_site, live_server

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
CALL_NOW = "+1 201 555 0100"
SLOW = 15_000  # ms: generous, CI machines can be busy
QUEUE_JS = """
window.WidgetServer = window.WidgetServer || [];
window.seenStatuses = [];
WidgetServer.push(["on", "status", function (s) { window.seenStatuses.push(s); }]);
if (location.search.indexOf("open") >= 0) WidgetServer.push(["open"]);
document.addEventListener("securitypolicyviolation", function (e) {
  window.cspViolations = window.cspViolations || [];
  window.cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""
HOSTILE_CSS = "* { all: unset !important } button { display: none !important }"


@dataclass
class Stack:
    site: str
    strict_site: str
    pages: dict[str, tuple[str, str]]
    strict_pages: dict[str, tuple[str, str]]
    server: LiveServer
    browser: Any

    def widget(self, **properties: Any) -> str:
        origins = [self.site, self.strict_site, self.server.url]
        return add_widget(self.server.app, allowed_origins=origins, **properties)

    def host(
        self,
        path: str,
        widget_id: str,
        lang: str = "en",
        head: str = "",
        copies: int = 1,
        strict: bool = False,
        attrs: str = "",
    ) -> str:
        tag = (
            f'<script async src="{self.server.url}/widget.js" data-widget="{widget_id}"'
            f"{attrs}></script>"
        )
        (self.strict_pages if strict else self.pages)[path] = (
            "text/html",
            f"<!doctype html><html lang='{lang}'><head><title>Shop</title>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<link rel='icon' href='data:,'><script src='/host.js'></script>"
            f"{head}</head><body><main><h1>Shop</h1><p>Taps and pipes.</p></main>"
            f"{tag * copies}</body></html>",
        )
        return (self.strict_site if strict else self.site) + path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_chromium()
    pages: dict[str, tuple[str, str]] = {"/host.js": ("text/javascript", QUEUE_JS)}
    strict_pages = dict(pages)
    policy = {"Content-Security-Policy": "default-src 'none'"}  # completed below
    with (
        host_site(pages) as site,
        host_site(strict_pages, headers=policy) as strict_site,
        live_server(
            tmp_path_factory.mktemp("live"),
            host_origins=[site, strict_site],
            step_delay=0.3,
            widget={"display_rules": {"call_now": CALL_NOW}},
            FORM_TOKEN_MIN_AGE=1,
        ) as server,
        chromium() as browser,
    ):
        # Only its own origin and the widget server, and no inline styles at all.
        policy["Content-Security-Policy"] = (
            f"default-src 'self'; script-src 'self' {server.url}; style-src 'self'; "
            f"connect-src 'self' {server.url}; frame-src {server.url}; img-src 'self' data:"
        )
        ARTIFACTS.mkdir(exist_ok=True)
        yield Stack(site, strict_site, pages, strict_pages, server, browser)


def new_page(stack: Stack, **context: Any) -> Any:
    page = stack.browser.new_context(**({"viewport": DESKTOP} | context)).new_page()
    page.problems = []
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    return page


def widget_host(page: Any, timeout: float = 10_000) -> Any:
    return page.wait_for_selector("[data-widget-server]", state="attached", timeout=timeout)


def widget_frame(page: Any, widget_id: str) -> Any:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for frame in page.frames:
            if f"/w/{widget_id}?" in frame.url:
                return frame
        page.wait_for_timeout(50)
    raise AssertionError("the widget's iframe never loaded")


def frame_loaded(page: Any, widget_id: str) -> bool:
    return any(f"/w/{widget_id}?" in frame.url for frame in page.frames)


def accessibility_tree(page: Any) -> list[dict[str, Any]]:
    """Chromium's accessibility tree of the top page, closed shadow roots included."""
    cdp = page.context.new_cdp_session(page)
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    cdp.detach()
    return [
        {
            "role": n.get("role", {}).get("value"),
            "name": n.get("name", {}).get("value", ""),
            **{p["name"]: p["value"].get("value") for p in n.get("properties", [])},
        }
        for n in nodes
        if not n.get("ignored")
    ]


def widget_button(page: Any) -> dict[str, Any]:
    buttons = [n for n in accessibility_tree(page) if n["role"] == "button"]
    assert len(buttons) == 1, buttons
    return buttons[0]


def tap_button(page: Any) -> None:
    box = widget_host(page).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def assert_accessible(target: Any, where: str) -> None:
    found = violations(target)
    assert found == [], f"axe-core violations on {where}: {json.dumps(found, indent=1)}"


def test_keyboard_only_visitor_on_a_desktop(stack: Stack) -> None:
    widget_id = stack.server.widget_id
    page = new_page(stack)
    page.goto(stack.host("/keyboard", widget_id, copies=2))
    widget_host(page)
    assert page.locator("[data-widget-server]").count() == 1  # two tags, one button
    page.wait_for_timeout(300)
    assert not frame_loaded(page, widget_id)  # nothing loads before the visitor asks
    button = widget_button(page)
    assert (button["name"], button["expanded"]) == ("Call me back", False)
    # The "call us now" link is for phones: not shown, not in the tree, on a desktop.
    assert not [n for n in accessibility_tree(page) if n["role"] == "link"]

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.hasAttribute('data-widget-server')")
    page.keyboard.press("Enter")
    frame = widget_frame(page, widget_id)
    frame.wait_for_selector("#phone")
    expect(frame.locator("#phone")).to_be_focused(timeout=SLOW)  # focus moved into the panel
    assert widget_button(page)["expanded"] is True
    assert_accessible(frame, "the form page")
    assert_accessible(page, "the host page with the open widget")
    page.screenshot(path=str(ARTIFACTS / "widget-desktop-open.png"))

    page.keyboard.type("201 555 0123")
    page.wait_for_timeout(1100)  # the form token's minimum age
    page.keyboard.press("Enter")  # submits from the phone field, no mouse anywhere
    expect(frame.locator("[data-status]")).to_contain_text("Call finished", timeout=20_000)
    assert frame.get_attribute("[data-status]", "aria-live") == "polite"
    page.screenshot(path=str(ARTIFACTS / "widget-desktop-submitted.png"))

    page.keyboard.press("Escape")  # Escape inside the form closes the panel...
    page.wait_for_function("document.activeElement.hasAttribute('data-widget-server')")
    assert widget_button(page)["expanded"] is False  # ...and focus is back on the button
    assert page.evaluate("window.seenStatuses")[-1] == "completed"
    assert page.problems == []


def test_form_errors_are_announced_next_to_the_field(stack: Stack) -> None:
    widget_id = stack.server.widget_id
    page = new_page(stack)
    page.goto(stack.host("/errors", widget_id, attrs=' data-locale="es"'))
    tap_button(page)
    frame = widget_frame(page, widget_id)
    frame.fill("#phone", "+44 20 7946 0958")
    page.wait_for_timeout(1100)
    frame.click("button.submit")
    error = frame.locator("#phone-error")
    expect(error).to_have_text("No podemos llamar a números de ese país.", timeout=SLOW)
    assert frame.get_attribute("#phone", "aria-invalid") == "true"
    assert frame.get_attribute("#phone", "aria-describedby") == "phone-error"
    expect(frame.locator("#phone")).to_be_focused(timeout=SLOW)
    assert_accessible(frame, "the form page showing an error")
    page.screenshot(path=str(ARTIFACTS / "widget-error-es.png"))


def test_phone_viewport_in_hebrew_is_mirrored_with_call_us_now(stack: Stack) -> None:
    widget_id = stack.server.widget_id
    page = new_page(stack, **PHONE)
    page.goto(stack.host("/he", widget_id, lang="he"))  # no data-locale: <html lang> decides
    box = widget_host(page).bounding_box()
    assert box["x"] < 100, box  # right-to-left: the button sits in the left corner
    assert widget_button(page)["name"] == "חזרו אליי"
    tap_button(page)
    frame = widget_frame(page, widget_id)
    frame.wait_for_selector("#phone")
    assert frame.evaluate("[document.documentElement.lang, document.documentElement.dir]") == [
        "he",
        "rtl",
    ]
    tree = accessibility_tree(page)
    links = [n for n in tree if n["role"] == "link"]
    assert [n["name"] for n in links] == ["התקשרו אלינו עכשיו"], tree
    assert_accessible(frame, "the Hebrew form page")
    page.screenshot(path=str(ARTIFACTS / "widget-phone-he.png"))
    assert page.problems == []


def test_hostile_global_css_cannot_hide_or_restyle_the_widget(stack: Stack) -> None:
    widget_id = stack.server.widget_id
    page = new_page(stack)
    page.goto(stack.host("/hostile", widget_id, head=f"<style>{HOSTILE_CSS}</style>"))
    box = widget_host(page).bounding_box()
    assert box["width"] > 100 and box["height"] >= 44, box
    assert box["y"] + box["height"] > DESKTOP["height"] - 80  # still in the corner
    tap_button(page)
    frame = widget_frame(page, widget_id)
    expect(frame.locator("#phone")).to_be_visible(timeout=SLOW)
    page.screenshot(path=str(ARTIFACTS / "widget-hostile-css.png"))
    assert page.problems == []


def test_strict_csp_host_page(stack: Stack) -> None:
    widget_id = stack.server.widget_id
    page = new_page(stack)
    page.goto(stack.host("/strict", widget_id, strict=True))
    tap_button(page)
    frame = widget_frame(page, widget_id)
    frame.fill("#phone", "201 555 0123")
    page.wait_for_timeout(1100)
    frame.click("button.submit")
    expect(frame.locator("[data-status]")).to_contain_text("Call finished", timeout=20_000)
    assert page.evaluate("window.cspViolations || []") == []
    page.screenshot(path=str(ARTIFACTS / "widget-strict-csp.png"))
    assert page.problems == []


def test_command_queue_opens_and_closes_from_the_page(stack: Stack) -> None:
    widget_id = stack.server.widget_id
    page = new_page(stack)
    # host.js queues ["open"] before the loader arrives (the ?open query asks it to).
    page.goto(stack.host("/queue", widget_id) + "?open")
    frame = widget_frame(page, widget_id)
    frame.wait_for_selector("#phone")
    assert widget_button(page)["expanded"] is True
    page.evaluate("WidgetServer.close()")
    assert widget_button(page)["expanded"] is False
    page.evaluate("WidgetServer.open()")
    assert widget_button(page)["expanded"] is True
    page.screenshot(path=str(ARTIFACTS / "widget-command-queue.png"))
    assert page.problems == []


def test_display_rules_paths_and_delay(stack: Stack) -> None:
    rules = {"show_on": ["/shop/*"], "hide_on": ["/shop/checkout"], "delay_seconds": 1}
    widget_id = stack.widget(display_rules=rules)
    page = new_page(stack)
    for path in ("/about", "/shop/checkout"):
        page.goto(stack.host(path, widget_id))
        page.wait_for_timeout(2000)
        assert page.locator("[data-widget-server]").count() == 0, path
    page.goto(stack.host("/shop/taps", widget_id))
    page.wait_for_timeout(300)
    assert page.locator("[data-widget-server]").count() == 0  # not before the delay
    widget_host(page, timeout=5_000)
    page.screenshot(path=str(ARTIFACTS / "widget-display-rules.png"))
    assert page.problems == []


def _closed_hours(route: Any) -> None:
    # The business-hours key of the widget config, as the server sends it after closing time.
    response = route.fetch()
    body = response.json()
    body["widget"]["hours"] = {"open": False, "closed": False, "next_open": None}
    route.fulfill(response=response, body=json.dumps(body))


def test_outside_business_hours_hide_or_schedule(stack: Stack) -> None:
    hidden = stack.widget(display_rules={"outside_hours": "hide"})
    schedule = stack.widget(display_rules={"outside_hours": "schedule", "call_now": CALL_NOW})
    page = new_page(stack, **PHONE)
    page.route("**/v1/widgets/*/config*", _closed_hours)
    page.goto(stack.host("/hidden", hidden))
    page.wait_for_timeout(1500)
    assert page.locator("[data-widget-server]").count() == 0
    page.goto(stack.host("/schedule", schedule))
    widget_host(page)
    assert widget_button(page)["name"] == "Schedule a callback"
    tap_button(page)
    frame = widget_frame(page, schedule)
    assert "schedule=1" in frame.url
    expect(frame.locator("h1")).to_have_text("Schedule a callback", timeout=SLOW)
    # Nobody answers a "call us now" after hours.
    assert not [n for n in accessibility_tree(page) if n["role"] == "link"]
    page.screenshot(path=str(ARTIFACTS / "widget-after-hours.png"))
    # Shown as usual after hours (the default), but still without "call us now".
    shown = stack.widget(display_rules={"call_now": CALL_NOW})
    page.goto(stack.host("/shown", shown))
    widget_host(page)
    assert widget_button(page)["name"] == "Call me back"
    tap_button(page)
    widget_frame(page, shown).wait_for_selector("#phone")
    assert not [n for n in accessibility_tree(page) if n["role"] == "link"]


def test_preview_page_shows_the_widget_and_sends_nothing(stack: Stack) -> None:
    widget_id = stack.widget(theme={"color": "#ffd400", "icon": "phone", "radius": 8})
    page = new_page(stack)
    page.goto(f"{stack.server.url}/w/{widget_id}/preview")
    widget_host(page)
    assert widget_button(page)["name"].endswith("Call me back")
    tap_button(page)
    frame = widget_frame(page, widget_id)
    expect(frame.locator("[data-preview]")).to_be_visible(timeout=SLOW)
    expect(frame.locator("button.submit")).to_be_disabled(timeout=SLOW)
    assert frame.input_value("[name=token]") == ""
    assert_accessible(page, "the preview page")
    page.screenshot(path=str(ARTIFACTS / "widget-preview.png"))
    assert page.problems == []
