"""A real browser outside business hours: the widget offers slots, the call runs at its time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser import ARTIFACTS, chromium
from tests.live import host_site, live_server
from tests.test_browser import HOST_JS, click_widget_button, host_page, widget_frame
from widget_server.core import db
from widget_server.core.clock import Clock
from widget_server.core.models import Callback, CallEvent, Widget

pytestmark = pytest.mark.browser

BERLIN = ZoneInfo("Europe/Berlin")


def next_monday_nine() -> datetime:
    """09:00 Berlin time on a Monday at least a week ahead, so the injected time is later
    than the real one (provider steps, scheduled by the same clock, then fall due)."""
    day = datetime.now(BERLIN).date() + timedelta(days=7)
    day += timedelta(days=(7 - day.weekday()) % 7)
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=BERLIN)


def test_visitor_books_a_slot_outside_hours_and_is_called_at_that_time(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    opening = next_monday_nine()
    pages: dict[str, tuple[str, str]] = {"/host.js": ("text/javascript", HOST_JS)}
    with (
        host_site(pages) as site,
        live_server(tmp_path, host_origins=[site], FORM_TOKEN_MIN_AGE=1) as server,
    ):
        with server.app.app_context():
            widget = db.session().get(Widget, server.widget_id)
            assert widget is not None
            widget.time_zone = "Europe/Berlin"
            widget.business_hours = {
                "windows": {"mon": [["09:00", "17:00"]]},
                "slot_minutes": 15,
                "lead_minutes": 0,
            }
            db.session().commit()
        clock: Clock = server.app.extensions["clock"]
        # Twenty seconds before opening, and the injected clock keeps running.
        clock.set(opening - timedelta(seconds=20), running=True)
        real_opening = datetime.now(UTC) + timedelta(seconds=20)
        pages["/"] = ("text/html", host_page(server.url, server.widget_id))
        with chromium() as browser:
            page = browser.new_page()  # type: ignore[attr-defined]
            problems: list[str] = []
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(site + "/")
            click_widget_button(page)
            frame = widget_frame(page, server.widget_id)
            frame.wait_for_selector("#scheduled_for")
            # Closed now: the form offers slots, and its button books instead of calling.
            options = frame.locator("#scheduled_for option")
            expect(options.first).to_have_text(f"Mon {opening.day} {opening:%b}, 09:00")
            expect(frame.locator("button.submit")).to_have_text("Book this call")
            frame.select_option("#scheduled_for", index=0)
            frame.fill("#phone", "201 555 0123")
            page.wait_for_timeout(1100)  # a human takes at least the minimum fill time
            frame.click("button.submit")

            status = frame.locator("[data-status]")
            expect(status).to_contain_text("booked for Mon", timeout=10_000)
            expect(status).to_contain_text("09:00 (Europe/Berlin)")
            assert clock.now() < opening  # booked, and nothing dialled before its time
            page.screenshot(path=str(ARTIFACTS / "callback-booked.png"))

            expect(status).to_contain_text("Call finished", timeout=45_000)
            page.screenshot(path=str(ARTIFACTS / "callback-booked-completed.png"))
            seen = page.evaluate("window.seenStatuses")
            assert seen[0] == "scheduled" and seen[-1] == "completed", seen
            assert problems == []

        with server.app.app_context():
            [callback] = db.session().scalars(select(Callback)).all()
            assert callback.scheduled_for == opening.astimezone(UTC)
            assert callback.attempts == 1 and callback.status == "completed"
            dialing = (
                db.session()
                .scalars(select(CallEvent).where(CallEvent.status == "dialing", CallEvent.applied))
                .one()
            )
            # Dialled when the injected clock reached 09:00, not when the visitor booked.
            assert dialing.occurred_at >= real_opening - timedelta(seconds=1)
