"""A new owner's whole journey in one Chromium, against one live server: the demo command's
printed sign-in, by keyboard; a widget for another site; its origin; the snippet copied with
the copy button and served as that site's page; a visitor's callback appearing, live, in the
inbox the owner kept open. Then every dashboard page: no request leaves the server's origin,
and Tab from the top reaches the main content's first control with a visible focus ring.
Screenshots go to test-artifacts/dashboard/journey-*.png."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser import chromium, require_chromium, watch_problems
from tests.dashboard import DESKTOP, SHOTS, run_demo
from tests.inbox_data import store_callback
from tests.live import LiveServer, host_site, live_server

pytestmark = pytest.mark.browser

SLOW = 20_000  # ms: CI machines can be busy
VISITOR_NUMBER = "201 555 0162"
SHOWN_NUMBER = "+1 201-555-0162"

# Focusable, visible, in the Tab order: what a keyboard user can reach.
REACHABLE = """(root) => [...root.querySelectorAll(
    'a[href], button, input, select, textarea, summary, iframe, [tabindex]')].filter((el) =>
    el.tabIndex >= 0 && !el.disabled && el.type !== 'hidden' && !el.closest('[hidden], [inert]')
    && el.getClientRects().length > 0)"""
# Each control's look before it has focus, to tell a focus indicator from a standing style
# (the current page's link carries a box-shadow underline of its own).
REMEMBER_UNFOCUSED = f"""() => {{
  if (window.__unfocused) return;
  window.__unfocused = new Map();
  for (const el of ({REACHABLE})(document)) {{
    const s = getComputedStyle(el);
    window.__unfocused.set(el, {{outline: s.outlineStyle + s.outlineWidth,
      shadow: s.boxShadow}});
  }}
}}"""
FOCUSED = """() => {
  const el = document.activeElement;
  if (el === document.body) return {name: 'body', end: true};
  if (el.tagName === 'IFRAME') return {name: 'iframe', frame: true};
  window.__walked = window.__walked || new Set();
  // A date field takes several Tab stops (day, month, year): the same element again is no end.
  const again = el === window.__last;
  const end = !again && window.__walked.has(el);
  window.__walked.add(el);
  window.__last = el;
  const s = getComputedStyle(el);
  const before = window.__unfocused.get(el) || {outline: 'none', shadow: 'none'};
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  const shadow = s.boxShadow !== 'none' && s.boxShadow !== before.shadow;
  const box = el.getBoundingClientRect();
  const main = document.querySelector('main');
  return {
    name: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (el.className && typeof el.className === 'string' ? '.' + el.className : '') +
      ' "' + (el.innerText || el.value || el.getAttribute('aria-label') || '').trim()
        .slice(0, 30) + '"',
    end,
    again,
    indicated: outline || shadow,
    onScreen: box.width > 0 && box.height > 0,
    inMain: !!main && main.contains(el) && el !== main,
    firstInMain: !!main && el === (REACHABLE_MAIN)[0],
  };
}""".replace("REACHABLE_MAIN", f"({REACHABLE})(document.querySelector('main'))")


@dataclass
class Stack:
    server: LiveServer
    browser: Any
    site: str  # the owner's own site: another loopback origin
    site_pages: dict[str, tuple[str, str]]
    demo: dict[str, str]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_chromium()
    site_pages: dict[str, tuple[str, str]] = {}
    with (
        host_site(site_pages) as site,
        live_server(
            tmp_path_factory.mktemp("journey"), host_origins=[], FORM_TOKEN_MIN_AGE=1
        ) as server,
        chromium() as browser,
    ):
        port = urlsplit(server.url).port
        # As `make run` does: the server's 127.0.0.1 and localhost origins.
        demo = run_demo(server.app, f"http://127.0.0.1:{port}", server.url)
        SHOTS.mkdir(parents=True, exist_ok=True)
        yield Stack(server, browser, site, site_pages, demo)


def shoot(page: Any, step: str) -> None:
    page.screenshot(path=str(SHOTS / f"journey-{step}.png"), full_page=True)


def widget_frame(page: Any, widget_id: str) -> Any:
    """The widget's form frame (its iframe sits in a closed shadow root, out of reach of
    selectors)."""
    for _ in range(SLOW // 50):
        for frame in page.frames:
            if f"/w/{widget_id}?" in frame.url:
                return frame
        page.wait_for_timeout(50)
    raise AssertionError("the widget's form frame never loaded")


def keyboard_sign_in(page: Any, email: str, password: str) -> None:
    """From the top of the sign-in page: skip link, brand link, then the two fields."""
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "email"
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(password)


def test_new_owner_from_demo_command_to_a_live_callback(stack: Stack) -> None:
    server, demo = stack.server, stack.demo
    assert demo["dashboard"] == f"{server.url}/dashboard/"
    context = stack.browser.new_context(
        viewport=DESKTOP, locale="en-US", permissions=["clipboard-read", "clipboard-write"]
    )
    owner = context.new_page()
    problems = watch_problems(owner)

    # 1. The printed dashboard URL asks for a sign-in; the printed credentials open it.
    owner.goto(demo["dashboard"])
    owner.wait_for_url(re.compile(r".*/dashboard/sign-in\?next=.*"))
    keyboard_sign_in(owner, demo["email"], demo["password"])
    shoot(owner, "01-sign-in")
    owner.keyboard.press("Enter")
    owner.wait_for_url(demo["dashboard"])
    expect(owner.get_by_role("heading", name="Overview")).to_be_visible()
    expect(owner.locator(".email")).to_have_text(demo["email"])
    shoot(owner, "02-overview")

    # 2. The inbox, opened now in its own tab and never reloaded from here on.
    inbox = context.new_page()
    inbox_problems = watch_problems(inbox)
    inbox.goto(f"{server.url}/dashboard/callbacks")
    expect(inbox.locator("#inbox-live-hint")).to_be_visible()
    inbox.evaluate("window.__notReloaded = true")
    navigations: list[str] = []
    inbox.on("framenavigated", lambda f: f == inbox.main_frame and navigations.append(f.url))
    expect(inbox.locator("#inbox tbody tr", has_text=SHOWN_NUMBER)).to_have_count(0)
    shoot(inbox, "03-inbox-empty")

    # 3. A widget for the owner's own site.
    owner.bring_to_front()
    owner.get_by_role("link", name="Widgets").click()
    owner.wait_for_url(f"{server.url}/dashboard/widgets")
    owner.get_by_label("Name").fill("Shop line")
    owner.get_by_label("Agent extension or number").fill("1002")
    shoot(owner, "04-widgets-new")
    owner.get_by_role("button", name="Create widget").click()
    owner.wait_for_url(re.compile(r".*/dashboard/widgets/[0-9a-f]{32}$"))
    widget_id = owner.url.rsplit("/", 1)[1]
    assert widget_id != demo["widget_id"]
    expect(owner.locator(".flash")).to_contain_text("Widget Shop line created.")

    # 4. Its site's origin, added in the editor.
    owner.get_by_label("New origin").fill(stack.site)
    owner.get_by_role("button", name="Add origin").click()
    expect(owner.locator(".flash")).to_contain_text("Origin added")
    expect(owner.locator(".origins")).to_contain_text(stack.site)
    shoot(owner, "05-editor-origin")

    # 5. The install page: the copy button puts the snippet on the clipboard.
    owner.goto(f"{server.url}/dashboard/widgets/{widget_id}/install")
    expect(owner.get_by_role("row", name=stack.site)).to_contain_text("not seen yet")
    owner.get_by_role("button", name="Copy snippet").click()
    expect(owner.locator(".copy-status")).to_have_text("Copied", timeout=SLOW)
    snippet = owner.evaluate("navigator.clipboard.readText()")
    assert snippet == owner.locator("#snippet").input_value()
    assert f'src="{server.url}/widget.js"' in snippet and widget_id in snippet
    shoot(owner, "06-install-copied")

    # 6. The site's page is exactly the copied snippet; a visitor asks for a callback.
    stack.site_pages["/"] = ("text/html", snippet)
    visitor = stack.browser.new_context(viewport=DESKTOP, locale="en-US").new_page()
    visitor_problems = watch_problems(visitor)
    visitor.goto(f"{stack.site}/")
    host = visitor.wait_for_selector("[data-widget-server]", state="attached", timeout=SLOW)
    box = host.bounding_box()
    assert box is not None and box["width"] > 0
    shoot(visitor, "07-visitor-button")
    visitor.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    frame = widget_frame(visitor, widget_id)
    expect(frame.locator("#phone")).to_be_visible(timeout=SLOW)
    frame.locator("#phone").fill(VISITOR_NUMBER)
    visitor.wait_for_timeout(1100)  # a person takes at least the form's minimum fill time
    shoot(visitor, "08-visitor-form")
    frame.locator("button.submit").click()
    expect(frame.locator("[data-status]")).to_be_visible(timeout=SLOW)

    # 7. The inbox that stayed open shows it, its status following the call to its end.
    row = inbox.locator("#inbox tbody tr", has_text=SHOWN_NUMBER)
    expect(row).to_be_visible(timeout=SLOW)
    expect(row.locator(".badge")).to_have_text(re.compile("Connected|Completed"), timeout=SLOW)
    shoot(inbox, "09-inbox-live")
    expect(row.locator(".badge")).to_have_text("Completed", timeout=SLOW)
    expect(inbox.locator("#inbox-announcer")).to_contain_text("Completed")
    expect(frame.locator("[data-status]")).to_contain_text("Call finished", timeout=SLOW)
    # The call is over: the form no longer says it will call the number.
    expect(frame.locator("[data-confirm]")).to_be_hidden()
    shoot(inbox, "10-inbox-completed")
    shoot(visitor, "11-visitor-finished")
    assert inbox.evaluate("window.__notReloaded") is True
    assert navigations == []
    assert problems == [] and inbox_problems == [] and visitor_problems == []
    visitor.context.close()
    context.close()


def dashboard_pages(stack: Stack) -> dict[str, str]:
    """Every page an owner reaches, by name: its path."""
    widget_id = stack.demo["widget_id"]
    callback_id = store_callback(stack.server.app, widget_id, "+12015550177", visitor_name="Ana")
    widget = f"/dashboard/widgets/{widget_id}"
    return {
        "overview": "/dashboard/",
        "widgets": "/dashboard/widgets",
        "editor": widget,
        "provider": f"{widget}/provider",
        "install": f"{widget}/install",
        "webhooks": f"{widget}/webhooks",
        "keys": "/dashboard/keys",
        "callbacks": "/dashboard/callbacks",
        "callback": f"/dashboard/callbacks/{callback_id}",
        "analytics": "/dashboard/analytics",
        "members": "/dashboard/members",
        "audit": "/dashboard/audit",
        "security": "/dashboard/security",
    }


SIGNED_OUT_PAGES = {"sign-in": "/dashboard/sign-in", "forgot": "/dashboard/forgot-password"}


def owner_and_visitor_pages(stack: Stack) -> Iterator[tuple[Any, str, str]]:
    """(page, name, url) for every dashboard page: signed out first, then signed in."""
    context = stack.browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    for name, path in SIGNED_OUT_PAGES.items():
        yield page, name, stack.server.url + path
    page.goto(stack.server.url + SIGNED_OUT_PAGES["sign-in"])
    page.fill("#email", stack.demo["email"])
    page.fill("#password", stack.demo["password"])
    page.locator("button[type=submit].primary").click()
    page.wait_for_url(stack.demo["dashboard"])
    for name, path in dashboard_pages(stack).items():
        yield page, name, stack.server.url + path
    context.close()


def test_no_dashboard_page_sends_a_request_to_another_origin(stack: Stack) -> None:
    own = stack.server.url
    requests: list[str] = []
    watched: set[int] = set()
    for page, name, url in owner_and_visitor_pages(stack):
        if id(page) not in watched:  # every request of the page and its frames
            page.on("request", lambda r: requests.append(r.url))
            watched.add(id(page))
        requests.clear()
        page.goto(url)
        page.wait_for_load_state("networkidle")
        if name == "editor":  # its preview iframe is one of the server's own pages
            expect(
                page.frame_locator("iframe[data-preview]").locator(".preview-button")
            ).to_be_visible()
        assert requests, name
        if name == "editor":
            assert any("/preview" in u for u in requests), requests
        elsewhere = [u for u in requests if f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" != own]
        assert elsewhere == [], f"{name} sent requests to other origins: {elsewhere}"


def focused_stop(page: Any) -> dict[str, Any]:
    """Where the focus is, looking into a framed page (the editor's preview) when it is there."""
    focused: dict[str, Any] = page.evaluate(FOCUSED)
    if focused.get("frame"):
        inner = next(f for f in page.frames[1:] if f.evaluate("document.hasFocus()"))
        inner.evaluate(REMEMBER_UNFOCUSED)
        focused = inner.evaluate(FOCUSED)
        focused["name"] = f"{inner.url}: {focused['name']}"
    return focused


def test_tab_from_the_top_reaches_main_with_a_visible_focus_indicator(stack: Stack) -> None:
    for page, name, url in owner_and_visitor_pages(stack):
        page.goto(url)
        for frame in page.frames:
            frame.evaluate(REMEMBER_UNFOCUSED)
        walked: list[dict[str, Any]] = []
        # The whole Tab order, once round: the first stop in main is main's first control,
        # and every stop shows where the focus is.
        for _ in range(200):
            page.keyboard.press("Tab")
            focused = focused_stop(page)
            if focused["end"]:
                break
            if focused.get("again"):
                continue
            walked.append(focused)
            assert focused["indicated"], f"{name}: no visible focus on {focused['name']}"
            assert focused["onScreen"], f"{name}: focus on an invisible {focused['name']}"
        else:
            raise AssertionError(f"{name}: the Tab order never came round")
        if name == "install":
            shoot(page, "12-install-focus")
        in_main = [stop for stop in walked if stop["inMain"]]
        assert in_main, f"{name}: Tab never reached the main content: {walked}"
        assert in_main[0]["firstInMain"], f"{name}: the first control reached: {in_main[0]}"
