"""The widget a visitor meets, server side: languages, right-to-left, theme, display rules,
per-language texts and the preview page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import ORIGIN, add_widget, submit_json
from widget_server.owners import display
from widget_server.owners.widgets import WidgetInvalid, clean

BASE = {"name": "Sales", "extension": "1001"}


def config(client: FlaskClient, widget_id: str, query: str = "") -> dict[str, Any]:
    response = client.get(f"/v1/widgets/{widget_id}/config{query}", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    return dict(response.get_json()["widget"])


def test_form_page_in_hebrew_is_right_to_left(client: FlaskClient, widget_id: str) -> None:
    html = client.get(f"/w/{widget_id}?host={ORIGIN}&locale=he").get_data(as_text=True)
    assert '<html lang="he" dir="rtl" data-scheme="light">' in html
    assert "רוצים שנתקשר אליכם?" in html and "מספר הטלפון שלכם" in html
    assert "ארצות הברית \u2066+1\u2069" in html  # the country chooser names countries in Hebrew


def test_browser_language_is_used_without_a_locale(client: FlaskClient, widget_id: str) -> None:
    html = client.get(
        f"/w/{widget_id}?host={ORIGIN}", headers={"Accept-Language": "de-CH,de;q=0.9"}
    ).get_data(as_text=True)
    assert (
        '<html lang="de" dir="ltr" data-scheme="light">' in html
        and "Sollen wir Sie anrufen?" in html
    )


def test_unsupported_locale_falls_back_to_the_browser(client: FlaskClient, widget_id: str) -> None:
    html = client.get(
        f"/w/{widget_id}?host={ORIGIN}&locale=ja", headers={"Accept-Language": "ar"}
    ).get_data(as_text=True)
    assert 'lang="ar" dir="rtl"' in html


def test_policy_refusals_and_statuses_are_translated(client: FlaskClient, widget_id: str) -> None:
    token = client.get(
        f"/v1/widgets/{widget_id}/config?locale=fr", headers={"Origin": ORIGIN}
    ).get_json()["token"]
    refused = client.post(
        f"/v1/widgets/{widget_id}/callbacks?locale=fr",
        json={"phone": "+44 20 7946 0958", "token": token},
        headers={"Origin": ORIGIN},
    )
    assert refused.status_code == 422
    assert (
        refused.get_json()["fields"]["phone"]
        == "Nous ne pouvons pas appeler de numéros dans ce pays."
    )
    invalid = submit_json(client, widget_id, phone="12", token=token)
    assert invalid.status_code == 422
    accepted = client.post(
        f"/v1/widgets/{widget_id}/callbacks",
        json={"phone": "+1 201 555 0123", "token": token},
        headers={"Origin": ORIGIN, "Accept-Language": "es"},
    )
    assert accepted.status_code == 202
    status = client.get(accepted.get_json()["status_url"], headers={"Accept-Language": "ru"})
    assert status.get_json()["text"] == "Запрос получен. Звоним нашей команде…"


def test_form_validation_messages_are_translated(client: FlaskClient, widget_id: str) -> None:
    response = client.post(
        f"/w/{widget_id}?locale=pt",
        data={"phone": "", "region": "US", "host": ORIGIN},
        headers={"Origin": "http://localhost", "Accept": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["fields"]["phone"] == "Introduza o seu número de telefone."


def test_embed_config_mirrors_the_button_for_right_to_left(
    client: FlaskClient, widget_id: str
) -> None:
    english = config(client, widget_id, "?locale=en")["embed"]
    hebrew = config(client, widget_id, "?locale=he")["embed"]
    assert (english["side"], english["dir"], english["label"]) == ("right", "ltr", "Call me back")
    assert (hebrew["side"], hebrew["dir"], hebrew["label"]) == ("left", "rtl", "חזרו אליי")


def test_theme_reaches_the_button_with_readable_text(app: Flask, client: FlaskClient) -> None:
    widget_id = add_widget(
        app, theme={"color": "#ffd400", "position": "left", "radius": 4, "icon": "phone"}
    )
    embed = config(client, widget_id)["embed"]
    assert embed["side"] == "left" and embed["icon"] == display.ICONS["phone"]
    assert embed["text_color"] == "#000000"  # black on yellow, white would be unreadable
    assert "background:#ffd400" in embed["css"] and "border-radius:4px" in embed["css"]
    # The tag's data-color wins over the theme, and is checked like it.
    assert config(client, widget_id, "?color=%23102030")["embed"]["text_color"] == "#ffffff"
    assert config(client, widget_id, "?color=red;}")["embed"]["color"] == "#ffd400"
    # The form page takes the same colour from its own stylesheet (its CSP stays strict).
    form = client.get(f"/w/{widget_id}?host={ORIGIN}").get_data(as_text=True)
    assert re.search(f'href="/w/{widget_id}/theme.css\\?v=[0-9a-f]{{16}}"', form)
    css = client.get(f"/w/{widget_id}/theme.css")
    assert css.mimetype == "text/css"
    assert css.get_data(as_text=True) == ":root{--accent:#ffd400;--accent-fg:#000000}\n"


def test_form_page_keeps_its_own_colours_without_a_theme(
    client: FlaskClient, widget_id: str
) -> None:
    assert client.get(f"/w/{widget_id}/theme.css").get_data() == b""


@pytest.mark.parametrize(
    "color",
    [
        "#000000",
        "#ffffff",
        "#777777",
        "#808080",
        "#0b5cad",
        "#ff0000",
        "#00ff00",
        "#ffd400",
        "#5a5a5a",
        "#959595",
        "#abc",
    ],
)
def test_any_button_colour_gets_text_of_at_least_4_5_to_1(color: str) -> None:
    assert display.contrast(color, display.text_color(color)) >= 4.5


def test_default_form_theme_meets_contrast() -> None:
    # The form page's own colours (form.css), light and dark.
    pairs = [
        ("#1d2330", "#ffffff"),
        ("#4a5567", "#ffffff"),
        ("#ffffff", "#0b5cad"),
        ("#b3261e", "#ffffff"),
        ("#e8ecf2", "#15191f"),
        ("#b5bfcc", "#15191f"),
        ("#0b1a2c", "#8cc2ff"),
        ("#ffb4ab", "#15191f"),
        ("#0b3d91", "#ffffff"),
    ]
    for fg, bg in pairs:
        assert display.contrast(fg, bg) >= 4.5, (fg, bg)


def test_texts_override_per_language(app: Flask, client: FlaskClient) -> None:
    widget_id = add_widget(
        app,
        locale="en",
        texts={
            "title": "Need a plumber?",
            "button": "Ring me",
            "he": {"title": "צריכים אינסטלטור?"},
        },
    )
    english = client.get(f"/w/{widget_id}?host={ORIGIN}&locale=en").get_data(as_text=True)
    hebrew = client.get(f"/w/{widget_id}?host={ORIGIN}&locale=he").get_data(as_text=True)
    french = client.get(f"/w/{widget_id}?host={ORIGIN}&locale=fr").get_data(as_text=True)
    assert "Need a plumber?" in english
    assert "צריכים אינסטלטור?" in hebrew
    # The owner's English title is not shown to a French visitor: the French default is.
    assert "Voulez-vous qu’on vous rappelle ?" in french and "Need a plumber?" not in french
    assert config(client, widget_id, "?locale=en")["embed"]["label"] == "Ring me"


def test_display_rules_become_anchored_patterns(app: Flask, client: FlaskClient) -> None:
    rules = {
        "show_on": ["/shop/*", "/"],
        "hide_on": ["*/checkout"],
        "delay_seconds": 5,
        "outside_hours": "schedule",
        "call_now": "+1 201 555 0123",
    }
    embed = config(client, add_widget(app, display_rules=rules))["embed"]
    assert embed["show_on"] == ["^\\/shop\\/.*$", "^\\/$"]
    assert embed["hide_on"] == ["^.*\\/checkout$"]
    assert embed["delay_seconds"] == 5 and embed["outside_hours"] == "schedule"
    assert embed["call_now"] == {"href": "tel:+12015550123", "label": "Call us now"}
    assert re.match(embed["show_on"][0], "/shop/taps?x=1") and not re.match(
        embed["show_on"][0], "/shopping"
    )
    assert re.match(embed["hide_on"][0], "/shop/checkout")


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([], "must be an object"),
        ({"show_on": "/shop"}, "show_on: must be a list of at most 50 path patterns"),
        ({"hide_on": ["shop"]}, "hide_on: entry 0 must be a URL path such as /shop/*"),
        ({"hide_on": ["/a b"]}, "hide_on: entry 0 must be a URL path"),
        ({"delay_seconds": -1}, "delay_seconds: must be an integer from 0 to 600"),
        ({"delay_seconds": True}, "delay_seconds: must be an integer from 0 to 600"),
        ({"outside_hours": "close"}, "outside_hours: must be one of show, hide, schedule"),
        ({"call_now": "12"}, "call_now: must be a valid phone number"),
        ({"pages": []}, "pages: unknown rule"),
    ],
)
def test_bad_display_rules_are_refused_with_a_reason(rules: object, message: str) -> None:
    with pytest.raises(WidgetInvalid) as refused:
        clean({**BASE, "display_rules": rules})
    assert message in refused.value.fields["display_rules"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("theme", {"color": "red"}, "color: must be a colour"),
        ("theme", {"color": "#fff;background:url(x)"}, "color: must be a colour"),
        ("theme", {"position": "top"}, "position: must be right or left"),
        ("theme", {"radius": 99}, "radius: must be an integer from 0 to 32"),
        ("theme", {"icon": "<svg>"}, "icon: must be one of none, phone, chat"),
        ("theme", {"font": "x"}, "font: unknown setting"),
        ("theme", {"color_scheme": "sepia"}, "color_scheme: must be one of light, dark, auto"),
        ("texts", {"privacy_url": "http://shop.example.com/p"}, "privacy_url: must be an https"),
        ("texts", {"privacy_url": "javascript:alert(1)"}, "privacy_url: must be an https URL"),
        ("texts", {"privacy_url": "https://[::1"}, "privacy_url: must be an https URL"),
        ("texts", {"he": {"privacy_url": "https://a b"}}, "he.privacy_url: must be an https"),
        ("texts", {"titel": "x"}, "titel: unknown text"),
        ("texts", {"title": ""}, "title: must be a non-empty string"),
        ("texts", {"he": {"title": "a\u0007"}}, "he.title: must not contain control characters"),
    ],
)
def test_bad_theme_and_texts_are_refused_with_a_reason(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(WidgetInvalid) as refused:
        clean({**BASE, field: value})
    assert message in refused.value.fields[field]


def test_preview_page_shows_the_widget_but_its_form_sends_nothing(
    client: FlaskClient, widget_id: str
) -> None:
    page = client.get(f"/w/{widget_id}/preview?locale=he")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'data-widget="{widget_id}" data-preview data-locale="he"' in html
    assert 'dir="rtl"' in html
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "frame-src 'self'" in policy
    form = client.get(f"/w/{widget_id}?host=http://localhost&preview=1").get_data(as_text=True)
    assert 'name="token" type="hidden" value=""' in form
    assert 'class="submit" disabled' in form and "data-preview" in form
    # Even a hand-made post from the preview has no token to pass.
    posted = client.post(
        f"/w/{widget_id}",
        data={"phone": "+1 201 555 0123", "region": "US", "token": "", "host": "http://localhost"},
        headers={"Origin": "http://localhost", "Accept": "application/json"},
    )
    assert posted.status_code == 422 and "token" in posted.get_json()["fields"]


def test_preview_of_an_unknown_widget_is_404(client: FlaskClient) -> None:
    assert client.get("/w/nope/preview").status_code == 404


def test_colour_scheme_reaches_the_form_and_the_panel(app: Flask, client: FlaskClient) -> None:
    light = add_widget(app)
    dark = add_widget(app, theme={"color_scheme": "dark"})
    auto = add_widget(app, theme={"color_scheme": "auto"})
    for widget_id, scheme in ((light, "light"), (dark, "dark"), (auto, "auto")):
        html = client.get(f"/w/{widget_id}?host={ORIGIN}").get_data(as_text=True)
        assert f'data-scheme="{scheme}"' in html
    assert "background:#fff" in config(client, light)["embed"]["css"]
    assert "background:#15191f" in config(client, dark)["embed"]["css"]
    assert (
        "@media (prefers-color-scheme:dark){.p{background:#15191f}"
        in (config(client, auto)["embed"]["css"])
    )


def test_default_colour_carries_white_text_at_4_5_to_1(client: FlaskClient, widget_id: str) -> None:
    embed = config(client, widget_id)["embed"]
    assert (embed["color"], embed["text_color"]) == (display.DEFAULT_COLOR, "#ffffff")
    assert display.contrast(display.DEFAULT_COLOR, "#ffffff") >= 4.5


def test_icons_are_svg_paths_and_names_are_plain_text(app: Flask, client: FlaskClient) -> None:
    widget_id = add_widget(app, theme={"icon": "chat"})
    embed = config(client, widget_id)["embed"]
    assert embed["icon"] == display.ICONS["chat"] and embed["icon"].startswith("M")
    assert embed["close_icon"] == display.CLOSE_ICON
    assert (embed["label"], embed["close_label"]) == ("Call me back", "Close")


def test_privacy_line_links_the_owners_page(app: Flask, client: FlaskClient) -> None:
    url = "https://shop.example.com/privacy"
    widget_id = add_widget(app, texts={"privacy_url": url, "de": {"privacy_url": url + "/de"}})
    english = client.get(f"/w/{widget_id}?host={ORIGIN}").get_data(as_text=True)
    assert f'<a href="{url}" target="_blank" rel="noopener noreferrer">' in english
    german = client.get(f"/w/{widget_id}?host={ORIGIN}&locale=de").get_data(as_text=True)
    assert f'href="{url}/de"' in german
    plain = client.get(f"/w/{add_widget(app)}?host={ORIGIN}").get_data(as_text=True)
    assert 'class="privacy"' not in plain
