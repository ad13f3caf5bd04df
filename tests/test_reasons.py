"""The domain's reasons: English text as the API has always said it, and a template the
dashboard translates into every language, from every place that refuses a value."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale, gettext

from widget_server import providers
from widget_server.calls import hours
from widget_server.core import egress
from widget_server.core.i18n import SUPPORTED_LOCALES
from widget_server.core.numbers import whitelist_errors
from widget_server.core.reasons import Reason, render, templates
from widget_server.intake import human_checks
from widget_server.owners import display, keys, texts, widgets
from widget_server.owners import property_checks as checks
from widget_server.web.dashboard.reasons import translate_reason

TRANSLATED = [locale for locale in SUPPORTED_LOCALES if locale != "en"]


def test_a_reason_reads_as_its_english_text_and_keeps_its_parts() -> None:
    reason = Reason("must be at most %(limit)s characters", limit=64)
    assert reason == "must be at most 64 characters" and isinstance(reason, str)
    inner = reason.at("label").at(3)
    assert inner == "3.label: must be at most 64 characters"
    assert inner.path == ("3", "label") and inner.params == {"limit": 64}
    both = Reason.joined([Reason("is required"), inner])
    assert both == "is required; 3.label: must be at most 64 characters"
    marked = render(both, lambda template: f"<{template}>")
    assert marked == "<is required>; 3.label: <must be at most 64 characters>"
    assert templates(both) == ["is required", "must be at most %(limit)s characters"]


def test_a_reason_survives_copies_and_pickles_with_its_structure() -> None:
    nested = Reason("cannot ring the extension: %(reason)s", reason=Reason("is required")).at("x")
    for twin in (copy.deepcopy(nested), pickle.loads(pickle.dumps(nested))):
        assert twin == nested and isinstance(twin, Reason)
        assert twin.template == nested.template and twin.path == ("x",)
        assert isinstance(twin.params["reason"], Reason)


def test_a_text_that_is_no_reason_is_shown_as_it_is() -> None:
    assert render("plain words", lambda text: "translated") == "plain words"


def refusals_of_properties() -> Iterator[Any]:
    """One refusal for every shape of check a widget property goes through."""
    yield checks.region("ZZZ")
    yield checks.regions("ZA")
    yield checks.number_types(["satellite"])
    yield checks.origins("https://a.example")
    yield checks.origins(["not an origin"])
    yield checks.whitelist([".*", "(", ""])
    yield checks.time_zone("Mars/Olympus")
    yield checks.provider("nobody")
    yield checks.rate_limits({"nope": "1 per day"})
    yield checks.rate_limits({"per_number": "often"})
    yield checks.printable_secret(" spaced ")
    yield checks.notify_emails("owner@example.com")
    yield checks.notify_emails(["not an address"])
    yield checks.agents({})
    yield checks.agents(["1001"])
    yield checks.agents([{"extension": "1001", "colour": "red"}])
    yield checks.agents([{"extension": "no!"}])
    yield checks.agents([{"extension": "1001", "label": ""}])
    yield checks.agents([{"extension": "1001", "business_hours": []}])
    yield checks.departments({})
    yield checks.departments(["sales"])
    yield checks.departments([{"key": "Sales!", "names": {}, "agents": []}])
    yield checks.departments([{"key": "a", "names": {"en": "A"}, "agents": []}])
    yield checks.departments([{"key": "a", "names": {}, "agents": []}])
    yield checks.departments([{"key": "a", "names": {"en": "A"}, "agents": [{"x": 1}]}])
    yield checks.departments(
        [
            {"key": "a", "names": {"en": "A"}, "agents": [{"extension": "1"}]},
            {"key": "a", "names": {"en": "A"}, "agents": [{"extension": "1001"}]},
        ]
    )
    yield checks.departments([{"key": "a", "zone": 1}])
    for value in ([], {"title": ""}, {"he": {"nope": "x"}}, {"title": "a\x07b"}):
        yield texts.errors(value)
    yield texts.errors({"privacy_url": "http://example.com"})
    for theme in (
        [],
        {"color": "red"},
        {"position": "top"},
        {"radius": 99},
        {"icon": "star"},
        {"color_scheme": "sepia"},
        {"font": "x"},
    ):
        yield display.theme_errors(theme)
    for rules in (
        [],
        {"show_on": "/"},
        {"hide_on": ["no slash"]},
        {"delay_seconds": -1},
        {"outside_hours": "never"},
        {"call_now": "123"},
        {"when": 1},
    ):
        yield display.rules_errors(rules)
    yield from whitelist_errors("x")
    yield from hours.validation_errors([]).values()
    yield from hours.validation_errors(
        {"windows": [], "holidays": "x", "slot_minutes": 1, "zone": 1}
    ).values()
    for windows in (
        {"mon": "x"},
        {"someday": []},
        {"mon": ["09:00"]},
        {"mon": [["9", "10:00"]]},
        {"mon": [["10:00", "09:00"]]},
        {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]},
    ):
        yield from hours.validation_errors({"windows": windows}).values()
    yield from hours.validation_errors({"holidays": ["2026-13-45"]}).values()
    yield from human_checks.validate([]).values()
    yield from human_checks.validate({"kind": "robot"}).values()
    yield from human_checks.validate({"kind": "turnstile", "site_key": "a b", "x": 1}).values()
    yield from human_checks.validate({"kind": "altcha", "max_number": 1}).values()
    for url in (
        None,
        "x" * 3000,
        "https://a b",
        "http://[::1",
        "ftp://x",
        "https://",
        "https://u:p@x",
    ):
        yield egress.url_problem(url, allow_http=False, allow_private=True)
    yield egress.url_problem("ftp://x", allow_http=True, allow_private=True)
    yield egress.url_problem("https://localhost/x", allow_http=False, allow_private=False)
    yield egress.url_problem("https://10.0.0.1/x", allow_http=False, allow_private=False)
    yield egress.PUBLIC.url_problem("https://")
    yield keys.name_problem("")
    yield keys.name_problem("x" * 200)
    yield keys.name_problem("tab\there")


KAZOO = {
    "base_url": "https://kazoo.example.com:8000",
    "account_id": "0" * 32,
    "auth_token": "token",
}
# Values that no property accepts, each refused by a pydantic constraint or a cross check.
REFUSED_PROPERTIES: list[dict[str, Any]] = [
    {"name": "x" * 200},
    {"name": ""},
    {"extension": "not a number"},
    {"timeout": 999},
    {"timeout": "soon"},
    {"enabled": "yes"},
    {"scheduling": "sometimes"},
    {"human_check": "on"},
    {"realm": 5},
    {"realm": None, "name": None},
    {"webhook_secret": "short"},
    {"colour": "red"},
    {"name": "a\x07b"},
    {"name": "\ud800"},
    {"allowed_regions": ["ZA"], "default_region": "US"},
    {"webhook_url": "https://hooks.example.com/x", "webhook_secret": None},
    {"provider": "kazoo", "provider_settings": {"base_url": "ftp://x", "zzz": 1}},
    {"secondary_provider": "twilio", "secondary_provider_settings": {}},
    {"secondary_provider": "kazoo", "secondary_provider_settings": KAZOO},
    {"provider": "twilio", "provider_settings": {}, "extension": "1001"},
    {"strategy": "simultaneous", "provider": "kazoo", "provider_settings": KAZOO},
    {
        "scheduling": "provider",
        "provider": "twilio",
        "provider_settings": {
            "account_sid": "AC" + "0" * 32,
            "auth_token": "secret",
            "from_number": "+14155550123",
        },
    },
    {
        "provider": "asterisk",
        "whisper": True,
        "provider_settings": {
            "host": "pbx.example.com",
            "username": "u",
            "secret": "s",
            "agent_channel": "PJSIP/{agent}",
            "context": "callbacks",
        },
    },
    {
        "provider": "webhook",
        "provider_settings": {
            "url": "https://10.1.2.3/call",
            "secret": "s" * 32,
        },
    },
    {"secondary_provider": "extramobile", "secondary_provider_settings": {"token": "t"}},
    {
        "agents": [{"extension": "1001"}, {"extension": "sip:a@b", "business_hours": {"x": 1}}],
        "provider": "simulator",
    },
    {
        "agents": [{"extension": "1001"}, {"extension": "sip:a@example.com"}],
        "secondary_provider": "extramobile",
        "secondary_provider_settings": {"token": "t", "caller_id": "+14155550123"},
    },
    {
        "departments": [
            {
                "key": "a",
                "names": {"en": "A"},
                "agents": [{"extension": "1001"}],
                "business_hours": {"windows": {"sun": [["25:00", "26:00"]]}},
            }
        ]
    },
]


def refusals_of_widgets() -> Iterator[Any]:
    base = {"name": "Sales", "extension": "1001"}
    for values in REFUSED_PROPERTIES:
        try:
            widgets.clean({**base, **values})
        except widgets.WidgetInvalid as exc:
            yield from exc.fields.values()
        else:
            raise AssertionError(f"accepted: {values}")


def refusals_of_providers() -> Iterator[Any]:
    """Every provider's settings and agent checks, given values none of them takes."""
    yield from _provider_errors(providers.validate, "nobody", {})
    yield from _provider_errors(providers.validate, "simulator", [])
    for name, adapter in providers.REGISTRY.items():
        bad: dict[str, Any] = {"not_a_setting": 1}
        bad.update({field.name: "\x00" for field in adapter.setting_fields})
        found = list(_provider_errors(adapter.validate_settings, bad))
        assert found, f"{name} accepted {bad}"
        yield from found
        yield from _provider_errors(adapter.validate_agent, "!! no", {})
        yield from _provider_errors(adapter.validate_settings, {})


def _provider_errors(check: Any, *args: Any) -> Iterator[Any]:
    try:
        check(*args)
    except providers.ProviderConfigError as exc:
        yield from exc.fields.values()


SOURCES = {
    "properties": refusals_of_properties,
    "widgets": refusals_of_widgets,
    "providers": refusals_of_providers,
}


@pytest.mark.parametrize("source", SOURCES)
def test_every_refusal_renders_in_every_language_without_english(app: Flask, source: str) -> None:
    with app.test_request_context():
        found = [reason for reason in SOURCES[source]() if reason is not None]
        assert len(found) > 20
        for reason in found:
            assert isinstance(reason, Reason), f"not a Reason: {reason!r}"
            with force_locale("en"):
                assert translate_reason(reason) == str(reason)
            for locale in TRANSLATED:
                with force_locale(locale):
                    for template in templates(reason):
                        assert gettext(template) != template, f"{locale}: {template!r}"
                    shown = translate_reason(reason)
                assert shown != str(reason), f"{locale}: {reason}"
                # Values and the path inside the property stay as they are.
                assert shown.startswith(".".join(reason.path)), shown
                for value in reason.params.values():
                    if not isinstance(value, Reason) and str(value):
                        assert str(value) in shown, f"{locale}: {value!r} lost in {shown!r}"
