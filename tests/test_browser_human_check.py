"""A real browser solves the form's ALTCHA proof of work (crypto.subtle) and is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser import ARTIFACTS, chromium, watch_problems
from tests.helpers import callbacks
from tests.live import live_server
from widget_server.core import db
from widget_server.core.models import ConsumedChallenge, Widget
from widget_server.intake import pressure

pytestmark = pytest.mark.browser


def test_the_form_solves_altcha_in_the_browser_and_the_callback_is_accepted(
    tmp_path: Path,
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with live_server(tmp_path, host_origins=[], step_delay=0.2) as server:
        with server.app.app_context():
            session = db.session()
            widget = session.get(Widget, server.widget_id)
            assert widget is not None
            widget.human_check = {"kind": "altcha", "max_number": 20_000}
            session.commit()
        with chromium() as browser:
            page = browser.new_page()  # type: ignore[attr-defined]
            problems = watch_problems(page)
            third_party: list[str] = []
            page.on(
                "request",
                lambda r: r.url.startswith(server.url) or third_party.append(r.url),
            )
            page.goto(f"{server.url}/w/{server.widget_id}")
            page.fill("#phone", "201 555 0123")
            # Submitting at once: the solver holds the submission until its answer is ready.
            page.click("button.submit")
            status = page.locator("[data-status]")
            expect(status).to_be_visible(timeout=20_000)
            expect(status).to_contain_text("Call finished", timeout=20_000)
            page.screenshot(path=str(ARTIFACTS / "altcha-accepted.png"))
            assert problems == []
            assert third_party == []
        [callback] = callbacks(server.app)
        assert callback.visitor_number == "+12015550123"
        with server.app.app_context():
            assert db.session().query(ConsumedChallenge).filter_by(kind="altcha").count() == 1


def test_a_widget_under_pressure_asks_the_browser_for_proof_of_work(tmp_path: Path) -> None:
    # No check configured: the pressure of a farm brings ALTCHA in, and a person's browser
    # solves it without noticing more than a moment's wait.
    ARTIFACTS.mkdir(exist_ok=True)
    with live_server(tmp_path, host_origins=[], step_delay=0.2) as server:
        with server.app.app_context():
            widget = db.session().get(Widget, server.widget_id)
            assert widget is not None and widget.human_check == {}
            pressure.put_under_pressure(widget)
            assert pressure.under_pressure(widget)
        with chromium() as browser:
            page = browser.new_page()  # type: ignore[attr-defined]
            problems = watch_problems(page)
            page.goto(f"{server.url}/w/{server.widget_id}")
            assert page.locator("input[name=altcha]").count() == 1
            page.fill("#phone", "201 555 0123")
            page.click("button.submit")
            status = page.locator("[data-status]")
            expect(status).to_contain_text("Call finished", timeout=20_000)
            page.screenshot(path=str(ARTIFACTS / "altcha-under-pressure.png"))
            assert problems == []
        [callback] = callbacks(server.app)
        assert callback.visitor_number == "+12015550123"
