"""The install page in Chromium: copy the snippet, embed it on another origin, see that
origin as last seen; a refused origin warns and one click allows it; axe-core; screenshots
of the install, keys and webhook pages in English and Hebrew, on a desktop and a phone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.axe import violations
from tests.browser import chromium, require_chromium, watch_problems
from tests.dashboard import DESKTOP, PASSWORD, PHONE, SHOTS, add_person, browser_sign_in
from tests.live import LiveServer, host_site, live_server
from tests.owned import stored_widget
from widget_server.owners.people import Role

pytestmark = pytest.mark.browser

SLOW = 15_000  # ms: CI machines can be busy


@dataclass
class Stack:
    server: LiveServer
    site: str  # allowed: the widget's own site
    site_pages: dict[str, tuple[str, str]]
    stranger: str  # not allowed until the owner says so
    stranger_pages: dict[str, tuple[str, str]]
    browser: Any
    email: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_chromium()
    site_pages: dict[str, tuple[str, str]] = {}
    stranger_pages: dict[str, tuple[str, str]] = {}
    with (
        host_site(site_pages) as site,
        host_site(stranger_pages) as stranger,
        live_server(
            tmp_path_factory.mktemp("live"),
            host_origins=[site],
            # The owner's webhook receiver is a page of the host site, on loopback.
            WEBHOOK_ALLOW_HTTP=True,
            WEBHOOK_ALLOW_PRIVATE=True,
        ) as server,
        chromium() as browser,
    ):
        account_id = stored_widget(server.app, server.widget_id).account_id
        member = add_person(server.app, Role.OWNER, account_id=account_id)
        SHOTS.mkdir(parents=True, exist_ok=True)
        yield Stack(server, site, site_pages, stranger, stranger_pages, browser, member.email)


def host_page(snippet: str) -> tuple[str, str]:
    return (
        "text/html",
        "<!doctype html><html lang='en'><head><title>Shop</title>"
        "<link rel='icon' href='data:,'></head>"
        f"<body><main><h1>Shop</h1></main>{snippet}</body></html>",
    )


def signed_in_page(stack: Stack, locale: str = "en", **context: Any) -> Any:
    page = stack.browser.new_context(**({"viewport": DESKTOP} | context)).new_page()
    browser_sign_in(page, stack.server.url, stack.email, PASSWORD)  # its labels are English
    # From here on the browser asks for `locale`, as a person's browser in that language does.
    page.context.set_extra_http_headers({"Accept-Language": locale})
    return page


def visit_host(stack: Stack, url: str, allowed: bool) -> None:
    """Open a host page and wait for its loader's config request."""
    page = stack.browser.new_context().new_page()
    config = lambda r: "/config" in r.url  # noqa: E731
    with page.expect_response(config, timeout=SLOW) as answer:
        page.goto(url)
    # Answered either way; a refusal says so in its body, with no configuration in it.
    assert answer.value.status == 200
    assert answer.value.json()["allowed"] is allowed
    if allowed:
        page.wait_for_selector("[data-widget-server]", state="attached", timeout=SLOW)
    else:
        page.wait_for_load_state("networkidle")  # the loader has read the refusal
        assert page.locator("[data-widget-server]").count() == 0
    page.context.close()


def assert_accessible(page: Any, where: str) -> None:
    found = violations(page)
    assert found == [], f"axe-core violations on {where}: {json.dumps(found, indent=1)}"


def test_copy_embed_see_it_and_allow_a_refused_origin(stack: Stack) -> None:
    install = f"{stack.server.url}/dashboard/widgets/{stack.server.widget_id}/install"
    page = signed_in_page(
        stack,
        permissions=["clipboard-read", "clipboard-write"],
    )
    problems = watch_problems(page)
    page.goto(install)
    row = page.get_by_role("row", name=stack.site)
    expect(row).to_contain_text("not seen yet")

    # The copy button works from the keyboard and says what it did.
    button = page.get_by_role("button", name="Copy snippet")
    button.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".copy-status")).to_have_text("Copied", timeout=SLOW)
    snippet = page.evaluate("navigator.clipboard.readText()")
    assert snippet == page.locator("#snippet").input_value()
    assert f'src="{stack.server.url}/widget.js"' in snippet

    stack.site_pages["/"] = host_page(snippet)
    stack.stranger_pages["/"] = host_page(snippet)
    visit_host(stack, stack.site + "/", allowed=True)
    page.reload()
    expect(page.get_by_role("row", name=stack.site)).not_to_contain_text("not seen yet")
    expect(page.get_by_role("row", name=stack.site).locator("time")).to_be_visible()

    visit_host(stack, stack.stranger + "/", allowed=False)
    page.reload()
    warning = page.get_by_role("region", name="Not allowed here")
    expect(warning).to_contain_text(stack.stranger)
    assert_accessible(page, "the install page with a warning")
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(SHOTS / f"install-warning-en-{size}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)

    warning.get_by_role("button", name=stack.stranger).click()
    expect(page.locator(".flashes")).to_contain_text("is now allowed", timeout=SLOW)
    expect(page.get_by_role("region", name="Not allowed here")).to_have_count(0)
    assert stack.stranger in stored_widget(stack.server.app, stack.server.widget_id).allowed_origins
    visit_host(stack, stack.stranger + "/", allowed=True)
    page.reload()
    expect(page.get_by_role("row", name=stack.stranger).locator("time")).to_be_visible()
    assert_accessible(page, "the install page")

    # The webhook: saved, then a test event sent, its result shown and logged.
    stack.site_pages["/hook"] = ("text/plain", "ok")
    page.get_by_role("link", name="Webhook and delivery log").click()
    page.get_by_label("Webhook URL").fill(stack.site + "/hook")
    page.get_by_label("Signing secret").fill("whsec-browser-0123456789")
    page.get_by_role("button", name="Save webhook").click()
    expect(page.locator(".flashes")).to_contain_text("The webhook is saved.", timeout=SLOW)
    assert page.get_by_label("Signing secret").input_value() == ""  # write-only
    page.get_by_role("button", name="Send a test event").click()
    expect(page.locator(".flashes")).to_contain_text("answered HTTP 200", timeout=SLOW)
    expect(page.get_by_role("table")).to_contain_text("webhook.test")
    assert_accessible(page, "the webhook page")
    assert problems == []
    page.context.close()


@pytest.mark.parametrize("locale", ["en", "he"])
def test_pages_are_accessible_and_laid_out(stack: Stack, locale: str) -> None:
    page = signed_in_page(stack, locale=locale)
    problems = watch_problems(page)
    widget = stack.server.widget_id
    pages = {
        "install": f"/dashboard/widgets/{widget}/install",
        "keys": "/dashboard/keys",
        "webhooks": f"/dashboard/widgets/{widget}/webhooks",
        "install-index": "/dashboard/install",
    }
    for name, path in pages.items():
        page.goto(stack.server.url + path)
        if locale == "he":
            assert page.get_attribute("html", "dir") == "rtl"
        assert_accessible(page, f"{name} ({locale})")
        for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            page.screenshot(path=str(SHOTS / f"{name}-{locale}-{size}.png"), full_page=True)
            # Nothing wider than a phone's screen: the page never scrolls sideways.
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{name} ({locale}) is {width}px wide"
        page.set_viewport_size(DESKTOP)
    # A new key, shown once, on both sizes.
    page.goto(stack.server.url + "/dashboard/keys")
    page.locator("input[name=name]").fill("CRM")
    page.locator("form.key-create button[type=submit]").click()
    expect(page.locator("#new-key")).to_be_visible(timeout=SLOW)
    assert_accessible(page, f"a new key ({locale})")
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SHOTS / f"keys-new-{locale}-phone.png"), full_page=True)
    assert problems == []
    page.context.close()
