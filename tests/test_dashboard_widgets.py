"""The dashboard's Widgets pages through the test client: the list, create and delete, the
editor's sections and their domain errors, the preview, roles and account scoping."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pydantic.fields import FieldInfo

from tests.dashboard import csrf_token, sign_in
from widget_server.core import db
from widget_server.core.models import Widget
from widget_server.owners import widgets
from widget_server.owners.people import Role
from widget_server.web.dashboard import widget_forms
from widget_server.web.dashboard.access import Member


def create(client: FlaskClient, name: str = "Sales", extension: str = "1001") -> str:
    token = csrf_token(client, "/dashboard/widgets")
    response = client.post(
        "/dashboard/widgets", data={"name": name, "extension": extension, "csrf_token": token}
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.location.rsplit("/", 1)[1]


def stored(app: Flask, widget_id: str) -> Widget:
    with app.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None
        db.session().expunge(widget)
        return widget


def editor_data(app: Flask, widget_id: str) -> dict[str, Any]:
    """What the editor's form sends unchanged, as a browser would post it."""
    with app.test_request_context():
        widget = db.session().get(Widget, widget_id)
        edit = widget_forms.editing(widget, app.config)
        data: dict[str, Any] = {}
        for name, value in edit.form.data.items():
            if value is True:
                data[name] = "y"
            elif value is False or value is None:
                continue
            else:
                data[name] = value if isinstance(value, list) else str(value)
        return data


def save(client: FlaskClient, widget_id: str, app: Flask, **changes: Any) -> Any:
    url = f"/dashboard/widgets/{widget_id}"
    data = {**editor_data(app, widget_id), "action": "save", **changes}
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(url, data={**data, "csrf_token": csrf_token(client, url)})


@pytest.fixture
def owner(client: FlaskClient) -> Member:
    return sign_in(client)


def test_create_lists_the_widget_with_its_columns(client: FlaskClient, owner: Member) -> None:
    widget_id = create(client)
    page = client.get("/dashboard/widgets").get_data(as_text=True)
    assert 'name="csrf_token"' in page
    assert f'href="/dashboard/widgets/{widget_id}"' in page and "Sales" in page
    assert "simulator" in page and "None yet" in page
    assert f"/dashboard/widgets/{widget_id}/delete" in page


def test_create_shows_the_domain_reason_on_its_field(client: FlaskClient, owner: Member) -> None:
    token = csrf_token(client, "/dashboard/widgets")
    response = client.post(
        "/dashboard/widgets",
        data={"name": "Sales", "extension": "not a number", "csrf_token": token},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="new-extension-error">has the wrong format' in page
    assert re.search(r'id="new-extension"[^>]*aria-invalid="true"', page)


def test_a_post_without_the_csrf_token_is_refused(client: FlaskClient, owner: Member) -> None:
    response = client.post("/dashboard/widgets", data={"name": "Sales", "extension": "1001"})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)


def test_delete_asks_first_then_deletes(client: FlaskClient, owner: Member, app: Flask) -> None:
    widget_id = create(client)
    url = f"/dashboard/widgets/{widget_id}/delete"
    confirm = client.get(url)
    assert confirm.status_code == 200 and "cannot be undone" in confirm.get_data(as_text=True)
    with app.app_context():
        assert db.session().get(Widget, widget_id) is not None  # asking deleted nothing
    done = client.post(url, data={"csrf_token": csrf_token(client, url)})
    assert done.status_code == 303
    with app.app_context():
        assert db.session().get(Widget, widget_id) is None


def test_editor_has_a_fieldset_per_section_and_every_property(
    client: FlaskClient, owner: Member
) -> None:
    widget_id = create(client)
    page = client.get(f"/dashboard/widgets/{widget_id}").get_data(as_text=True)
    assert 'name="csrf_token"' in page
    for _key, label in widget_forms.SECTIONS[:-1]:
        assert f"<legend>{label}</legend>" in page
    for prop in widgets.PROPERTIES:
        if prop in widget_forms.ON_PROVIDER_PAGE:
            continue
        assert re.search(rf'name="{prop}(__[a-z_0-9]+)*"', page), prop
    assert (
        "frame-src 'self'"
        in client.get(f"/dashboard/widgets/{widget_id}").headers["Content-Security-Policy"]
    )


def test_a_property_the_page_does_not_know_gets_a_generic_editor(
    client: FlaskClient, owner: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    widget_id = create(client)
    added = {
        **widgets.FIELDS,
        "queues": FieldInfo(annotation=list[dict[str, Any]], default_factory=list),
        "greeting": FieldInfo(annotation=str, default=""),
        "crm_settings": FieldInfo(annotation=dict[str, Any], default_factory=dict),
    }
    monkeypatch.setattr(widget_forms.widgets, "FIELDS", added)
    page = client.get(f"/dashboard/widgets/{widget_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "<legend>More settings</legend>" in text
    assert 'name="queues"' in text and 'name="greeting"' in text
    # One that may hold credentials is write-only: its field starts empty.
    assert re.search(r'<textarea [^>]*name="crm_settings"[^>]*>\s*</textarea>', text)


def test_each_section_saves_through_the_domain(
    client: FlaskClient, owner: Member, app: Flask
) -> None:
    widget_id = create(client)
    response = save(
        client,
        widget_id,
        app,
        name="Sales line",
        extension="+27821234567",
        timeout="30",
        default_region="ZA",
        allowed_regions="za, us",
        allowed_number_types=["mobile", "fixed_line"],
        whitelist__preset="click2dial-za",
        require_consent="y",
        texts__he__title="צריכים עזרה?",
        texts__en__button="Ring me",
        theme__color="#aa0000",
        theme__radius="10",
        theme__position="left",
        display_rules__show_on="/shop/*\n/pricing",
        display_rules__delay_seconds="5",
        display_rules__outside_hours="schedule",
        time_zone="Africa/Johannesburg",
        business_hours__windows__mon="09:00-12:00, 13:00-17:00",
        business_hours__holidays="2026-12-25",
        business_hours__slot_minutes="30",
        throttle="3",
        limits__per_number="1 per hour",
        max_retries="2",
        retry_delay="120",
        human_check__kind="altcha",
        human_check__max_number="50000",
        notify_emails="owner@example.com\nsales@example.com",
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    widget = stored(app, widget_id)
    assert widget.name == "Sales line" and widget.extension == "+27821234567"
    assert widget.timeout == 30 and widget.require_consent is True
    assert widget.default_region == "ZA" and widget.allowed_regions == ["ZA", "US"]
    assert sorted(widget.allowed_number_types) == ["fixed_line", "mobile"]
    assert widget.whitelist == [r"\+27[1-9]\d{8}"]
    assert widget.texts == {"he": {"title": "צריכים עזרה?"}, "en": {"button": "Ring me"}}
    assert widget.theme == {"color": "#aa0000", "position": "left", "icon": "none", "radius": 10}
    assert widget.display_rules == {
        "outside_hours": "schedule",
        "show_on": ["/shop/*", "/pricing"],
        "delay_seconds": 5,
    }
    assert widget.time_zone == "Africa/Johannesburg"
    assert widget.business_hours == {
        "windows": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]},
        "holidays": ["2026-12-25"],
        "slot_minutes": 30,
    }
    assert widget.throttle == 3 and widget.limits == {"per_number": "1 per hour"}
    assert widget.max_retries == 2 and widget.retry_delay == 120
    assert widget.human_check == {"kind": "altcha", "max_number": 50000}
    assert widget.notify_emails == ["owner@example.com", "sales@example.com"]
    # Saved values come back into the form as they were entered.
    page = client.get(f"/dashboard/widgets/{widget_id}").get_data(as_text=True)
    assert 'value="09:00-12:00, 13:00-17:00"' in page and 'value="#aa0000"' in page


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"theme__color": "red"}, "theme__color", "must be a colour"),
        ({"timeout": "999"}, "timeout", "must be an integer from 1 to 300"),
        ({"timeout": "soon"}, "timeout", "Enter a whole number."),
        (
            {"business_hours__windows__tue": "18:00-09:00"},
            "business_hours__windows__tue",
            "ends at",
        ),
        ({"texts__he__title": "x" * 201}, "texts__he__title", "at most 200 characters"),
        ({"display_rules__show_on": "shop"}, "display_rules__show_on", "URL path"),
        ({"limits__per_widget": "lots"}, "limits__per_widget", "not a rate limit"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "IANA time zone"),
        ({"webhook_url": "http://hooks.example.com/x"}, "webhook_url", "https"),
        ({"allowed_regions": "ZZ"}, "allowed_regions", "region codes"),
    ],
)
def test_a_domain_error_is_shown_on_its_field_and_nothing_saved(
    client: FlaskClient, owner: Member, app: Flask, changes: dict[str, str], field: str, reason: str
) -> None:
    widget_id = create(client)
    response = save(client, widget_id, app, name="Renamed", **changes)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    found = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    assert found and reason in found.group(1), page[page.find('class="alert"') :][:600]
    assert re.search(
        rf'id="{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="{field}"', page
    )
    assert stored(app, widget_id).name == "Sales"


def test_origins_are_added_and_removed_one_at_a_time(
    client: FlaskClient, owner: Member, app: Flask
) -> None:
    widget_id = create(client)
    for origin in ("https://www.example.com", "https://shop.example.com:8443"):
        added = save(client, widget_id, app, allowed_origins__new=origin, action="add_origin")
        assert added.status_code == 303
    assert stored(app, widget_id).allowed_origins == [
        "https://www.example.com",
        "https://shop.example.com:8443",
    ]
    page = client.get(f"/dashboard/widgets/{widget_id}").get_data(as_text=True)
    assert 'name="remove_origin" value="https://www.example.com"' in page
    removed = save(client, widget_id, app, remove_origin="https://www.example.com")
    assert removed.status_code == 303
    assert stored(app, widget_id).allowed_origins == ["https://shop.example.com:8443"]
    refused = save(
        client, widget_id, app, allowed_origins__new="not an origin", action="add_origin"
    )
    assert refused.status_code == 400
    assert 'id="allowed_origins__new-error">not an origin' in refused.get_data(as_text=True)
    # A typed origin is only added by its own button, not by saving the other sections.
    save(client, widget_id, app, allowed_origins__new="https://other.example.com")
    assert stored(app, widget_id).allowed_origins == ["https://shop.example.com:8443"]


def test_preview_shows_entered_look_and_texts_without_saving(
    client: FlaskClient, owner: Member, app: Flask
) -> None:
    widget_id = create(client)
    base = f"/dashboard/widgets/{widget_id}/preview"
    page = client.get(f"{base}?color=%23aa0000&button=Ring+me&title=Hello+there&lang=en")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert (
        "Ring me" in text and "Hello there" in text and "Preview: this form sends nothing." in text
    )
    assert "frame-ancestors 'self'" in page.headers["Content-Security-Policy"]
    assert "#aa0000" in client.get(f"{base}.css?color=%23aa0000").get_data(as_text=True)
    # A colour the domain would refuse is not previewed either.
    assert "javascript" not in client.get(f"{base}.css?color=javascript:x").get_data(as_text=True)
    # Without JavaScript: the preview button shows the entered values in the frame, saves nothing.
    shown = save(client, widget_id, app, action="preview", theme__color="#00aa00", name="Unsaved")
    assert shown.status_code == 200
    assert "color=%2300aa00" in shown.get_data(as_text=True)
    assert stored(app, widget_id).name == "Sales"


def test_viewer_sees_settings_read_only_with_numbers_masked(
    client: FlaskClient, app: Flask
) -> None:
    owner = sign_in(client)
    widget_id = create(client, extension="+27821234567")
    viewer_client = app.test_client()
    sign_in(viewer_client, Role.VIEWER, account_id=owner.account_id)
    page = viewer_client.get(f"/dashboard/widgets/{widget_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "+27821234567" not in text and "+27 82 ••• ••67" in text
    main = text.split('<main id="main"', 1)[1]
    assert not re.search(r"<(input|textarea|select)", main), "an edit control for a viewer"
    assert "Save changes" not in main and "Delete widget" not in main
    provider = viewer_client.get(f"/dashboard/widgets/{widget_id}/provider").get_data(as_text=True)
    assert "Save provider settings" not in provider and "Send a test call" not in provider
    token = csrf_token(viewer_client, "/dashboard/widgets")
    for url in (
        "/dashboard/widgets",
        f"/dashboard/widgets/{widget_id}",
        f"/dashboard/widgets/{widget_id}/delete",
        f"/dashboard/widgets/{widget_id}/provider",
        f"/dashboard/widgets/{widget_id}/test-call",
    ):
        refused = viewer_client.post(url, data={"csrf_token": token, "name": "X", "number": "1"})
        assert refused.status_code == 403, url
    assert stored(app, widget_id).name == "Sales"


def test_another_account_gets_404_for_every_widget_page(client: FlaskClient, app: Flask) -> None:
    sign_in(client)
    widget_id = create(client)
    other = app.test_client()
    sign_in(other, Role.OWNER)
    token = csrf_token(other, "/dashboard/widgets")
    for suffix in ("", "/delete", "/provider", "/preview", "/preview.css"):
        assert other.get(f"/dashboard/widgets/{widget_id}{suffix}").status_code == 404, suffix
    for suffix in ("", "/delete", "/provider", "/test-call"):
        response = other.post(f"/dashboard/widgets/{widget_id}{suffix}", data={"csrf_token": token})
        assert response.status_code == 404, suffix
    assert f"/dashboard/widgets/{widget_id}" not in other.get("/dashboard/widgets").get_data(
        as_text=True
    )
    assert stored(app, widget_id).name == "Sales"
