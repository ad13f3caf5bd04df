"""The domain's reasons on dashboard pages in the page's language, each next to the field
that holds the refused part (nested paths included), with nothing saved."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.dashboard import csrf_token, sign_in
from tests.test_dashboard_widgets import create, editor_data, stored
from widget_server.web.dashboard.access import Member


def error_of(page: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    assert found, f"no error on {field}: " + page[page.find('class="alert"') :][:600]
    return found.group(1)


def save_in(
    client: FlaskClient, app: Flask, widget_id: str, language: str, **changes: Any
) -> tuple[int, str]:
    url = f"/dashboard/widgets/{widget_id}"
    headers = {"Accept-Language": language}
    data = {**editor_data(app, widget_id), "action": "save", "name": "Renamed", **changes}
    token = csrf_token(client, url)
    answer = client.post(url, data={**data, "csrf_token": token}, headers=headers)
    return answer.status_code, answer.get_data(as_text=True)


@pytest.fixture
def owner(client: FlaskClient) -> Member:
    return sign_in(client)


# (language, changes, form field, the reason as that language says it, the English one)
REFUSED = [
    (
        "he",
        {"timeout": "999"},
        "timeout",
        "חייב להיות מספר שלם בין 1 ל־300",
        "must be an integer from 1 to 300",
    ),
    (
        "de",
        {"timeout": "999"},
        "timeout",
        "muss eine ganze Zahl zwischen 1 und 300 sein",
        "must be an integer from 1 to 300",
    ),
    (
        "he",
        {"theme__radius": "99"},
        "theme__radius",
        "חייב להיות מספר שלם בין 0 ל־32 (פיקסלים)",
        "must be an integer from 0 to 32 (pixels)",
    ),
    (
        "de",
        {"texts__de__title": "x" * 201},
        "texts__de__title",
        "muss ein nicht leerer Text mit höchstens 200 Zeichen sein",
        "must be a non-empty string",
    ),
    (
        "he",
        {"agents__0__extension": "1001", "agents__1__extension": "no!"},
        "agents__1__extension",
        "חייב להיות שלוחה, מספר או SIP URI",
        "must be an extension",
    ),
    (
        "de",
        {"business_hours__windows__mon": "10:00-09:00"},
        "business_hours__windows__mon",
        "Zeitfenster 1: endet um 09:00, nicht nach seinem Beginn um 10:00",
        "ends at",
    ),
    (
        "he",
        {"whitelist": ".*\n("},
        "whitelist",
        "רשומה 0: מתאימה לכל מספר; פרטו את המספרים שאתם מתירים; רשומה 1: אינה ביטוי רגולרי",
        "matches anything",
    ),
    (
        "de",
        {"allowed_origins__new": "not an origin", "action": "add_origin"},
        "allowed_origins__new",
        "kein Origin (scheme://host[:port]): &#39;not an origin&#39;",
        "not an origin (scheme",
    ),
    (
        "he",
        {"human_check__kind": "altcha", "human_check__max_number": "5"},
        "human_check__max_number",
        "חייב להיות מספר שלם בין 1000 ל־",
        "must be an integer",
    ),
]


@pytest.mark.parametrize(("language", "changes", "field", "translated", "english"), REFUSED)
def test_a_refused_edit_shows_the_translated_reason_on_its_field(
    client: FlaskClient,
    owner: Member,
    app: Flask,
    language: str,
    changes: dict[str, str],
    field: str,
    translated: str,
    english: str,
) -> None:
    widget_id = create(client)
    status, page = save_in(client, app, widget_id, language, **changes)
    assert status == 400
    shown = error_of(page, field)
    assert translated in shown, shown
    # On a part's own field (a theme setting, a language's text, an agent's row) the field
    # says where: the reason comes without its path.
    assert not re.match(r"[\w.]+: ", shown), shown
    assert english not in page
    assert re.search(
        rf'id="{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="{field}"', page
    )
    assert stored(app, widget_id).name == "Sales"


def test_the_create_form_shows_the_reason_in_the_page_language(
    client: FlaskClient, owner: Member
) -> None:
    token = csrf_token(client, "/dashboard/widgets")
    answer = client.post(
        "/dashboard/widgets",
        data={"name": "Sales", "extension": "not a number", "csrf_token": token},
        headers={"Accept-Language": "de"},
    )
    assert answer.status_code == 400
    assert 'id="new-extension-error">hat das falsche Format' in answer.get_data(as_text=True)


def test_the_provider_page_shows_each_setting_reason_translated(
    client: FlaskClient, owner: Member
) -> None:
    widget_id = create(client)
    url = f"/dashboard/widgets/{widget_id}/provider"
    data = {"provider": "twilio", "action": "save", "setting__account_sid": "nope"}
    answer = client.post(
        url,
        data={**data, "csrf_token": csrf_token(client, url)},
        headers={"Accept-Language": "de"},
    )
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert error_of(page, "setting__account_sid") == (
        "erforderlich: AC gefolgt von 32 hexadezimalen Ziffern"
    )
    assert error_of(page, "setting__auth_token") == (
        "erforderlich: druckbarer Text ohne Leerzeichen"
    )


def test_the_webhooks_page_shows_the_reason_translated(client: FlaskClient, owner: Member) -> None:
    widget_id = create(client)
    url = f"/dashboard/widgets/{widget_id}/webhooks"
    answer = client.post(
        url,
        data={"url": "https://crm.example.com/hooks", "csrf_token": csrf_token(client, url)},
        headers={"Accept-Language": "he"},
    )
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert "נדרש כאשר webhook_url מוגדר" in page
    assert "is required when webhook_url is set" not in page


def test_allowing_a_refused_origin_explains_why_in_the_page_language(
    client: FlaskClient, owner: Member
) -> None:
    widget_id = create(client)
    url = f"/dashboard/widgets/{widget_id}/install"
    answer = client.post(
        f"{url}/allow",
        data={"origin": "no origin at all", "csrf_token": csrf_token(client, url)},
        headers={"Accept-Language": "de"},
    )
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert "kein Origin (scheme://host[:port]): &#39;no origin at all&#39;" in page
    assert "not an origin" not in page
