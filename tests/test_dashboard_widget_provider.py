"""The widget's provider page: a form from every provider's declared settings, write-only
secrets, capabilities, and the test call (number policy, simulator, per-account limit)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from tests.counting import CountingProvider
from tests.dashboard import csrf_token, sign_in
from tests.helpers import admin_auth, put_widget
from widget_server import providers
from widget_server.core import db
from widget_server.core.models import Widget
from widget_server.owners import admin
from widget_server.owners.people import Role
from widget_server.providers import CallRequest
from widget_server.providers.base import Capability
from widget_server.providers.setting_fields import Kind
from widget_server.providers.simulator import SimulatorProvider

AGENT = "+27821234567"
PUBLIC_IP = "93.184.216.34"
# Settings each provider accepts; a provider added to the registry needs a line here.
EXAMPLES: dict[str, dict[str, Any]] = {
    "simulator": {"step_delay": 0.5, "fail": "visitor_busy"},
    "extramobile": {"token": "tok_abcdefghijklmnop", "caller_id": "+972778038038"},
    "kazoo": {
        "base_url": "https://kazoo.example.com:8000",
        "account_id": "a" * 32,
        "auth_token": "kazoo-secret-token-1234",
        "clicktocall_id": "b" * 32,
        "api_version": "v1",
    },
    "click2dial": {"base_url": "http://pbx.example.com:8300", "outbound_id": "0821234567"},
    "telecmi": {"user_id": "5001_33330000", "secret": "telecmi-secret-123456", "followme": True},
    "voiptech": {"user": "u1", "pass": "voiptech-pass-1234", "org": "org1", "method": "GET"},
    "twilio": {"account_sid": "AC" + "0" * 32, "auth_token": "twilio-auth-token-1234567"},
    "asterisk": {
        "host": "pbx.example.com",
        "username": "manager",
        "secret": "ami-secret-12345",
        "agent_channel": "PJSIP/{agent}",
    },
    "freeswitch": {
        "host": "pbx.example.com",
        "password": "ClueCon-secret-1",
        "agent_endpoint": "user/{agent}",
        "gateway": "trunk",
    },
    "webhook": {"url": "https://hooks.example.com/call", "secret": "webhook-secret-0123456789"},
}


@pytest.fixture(autouse=True)
def public_names(loopback_resolver: dict[str, list[str]]) -> None:
    for name in ("kazoo.example.com", "pbx.example.com", "hooks.example.com"):
        loopback_resolver[name] = [PUBLIC_IP]


def make_widget(client: FlaskClient, app: Flask, **values: Any) -> str:
    member = sign_in(client)
    with app.app_context():
        widget = admin.create_widget(
            db.session(), member.account_id, {"name": "Sales", "extension": AGENT, **values}
        )
        return widget.id


def stored(app: Flask, widget_id: str) -> Widget:
    with app.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None
        db.session().expunge(widget)
        return widget


def form_data(provider: str, settings: dict[str, Any]) -> dict[str, str]:
    data = {"provider": provider, "action": "save"}
    for name, value in settings.items():
        if value is True:
            data[f"setting__{name}"] = "y"
        elif value is not False:
            data[f"setting__{name}"] = str(value)
    return data


def post_provider(client: FlaskClient, widget_id: str, data: dict[str, str]) -> Any:
    url = f"/dashboard/widgets/{widget_id}/provider"
    return client.post(url, data={**data, "csrf_token": csrf_token(client, url)})


def secrets_of(provider: str) -> set[str]:
    return {f.name for f in providers.REGISTRY[provider].setting_fields if f.secret}


def test_every_registered_provider_has_an_example_and_declares_all_its_settings() -> None:
    assert set(providers.REGISTRY) <= set(EXAMPLES)
    for name, adapter in providers.REGISTRY.items():
        declared = [f.name for f in adapter.setting_fields]
        assert declared and len(declared) == len(set(declared)), name
        assert all(f.label and f.help for f in adapter.setting_fields), name
        # Every setting the adapter takes is declared: an undeclared one is refused by it.
        everything = {f.name: f.default for f in adapter.setting_fields if f.default is not None}
        adapter.validate_settings({**everything, **EXAMPLES[name]})
        unknown = set(EXAMPLES[name]) - set(declared)
        assert not unknown, (name, unknown)


@pytest.mark.parametrize("provider", sorted(EXAMPLES))
def test_provider_form_is_generated_and_secrets_are_write_only(
    client: FlaskClient, app: Flask, provider: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    widget_id = make_widget(client, app)
    url = f"/dashboard/widgets/{widget_id}/provider"
    page = client.get(f"{url}?provider={provider}").get_data(as_text=True)
    assert 'name="csrf_token"' in page
    for setting in providers.REGISTRY[provider].setting_fields:
        tag = re.search(rf'<[a-z]+ [^>]*name="setting__{setting.name}"[^>]*>', page)
        assert tag, setting.name
        if setting.secret:
            assert 'type="password"' in tag.group(0)
        if setting.kind == Kind.CHOICE:
            assert tag.group(0).startswith("<select")
    example = EXAMPLES[provider]
    saved = post_provider(client, widget_id, form_data(provider, example))
    assert saved.status_code == 303, saved.get_data(as_text=True)
    widget = stored(app, widget_id)
    assert widget.provider == provider
    for name, value in example.items():
        assert widget.provider_settings[name] == value
    shown = client.get(url).get_data(as_text=True)
    for name in secrets_of(provider):
        assert example[name] not in shown  # never in the page, not even masked in a value
        assert f'data-secret-stored="{name}"' in shown
    for name, value in example.items():
        if name not in secrets_of(provider) and not isinstance(value, bool):
            assert f'value="{value}"' in shown or f'selected value="{value}"' in shown, name
    with app.app_context():
        document = admin.document(db.session().get(Widget, widget_id))
    for name, value in example.items():
        if name in secrets_of(provider):
            assert document["provider_settings"][name].startswith("••••")
            assert document["provider_settings"][name] != value
        else:
            assert document["provider_settings"][name] == value  # not masked: not a secret
    # Saving again with the secret fields left empty keeps the stored secrets.
    kept = {k: v for k, v in example.items() if k not in secrets_of(provider)}
    assert post_provider(client, widget_id, form_data(provider, kept)).status_code == 303
    again = stored(app, widget_id).provider_settings
    assert {k: again[k] for k in example} == {k: widget.provider_settings[k] for k in example}
    # Typing a value replaces it.
    for name in secrets_of(provider):
        replaced = {**kept, name: example[name] + "-new"}
        assert post_provider(client, widget_id, form_data(provider, replaced)).status_code == 303
        assert stored(app, widget_id).provider_settings[name] == example[name] + "-new"
    logged = caplog.text
    for name in secrets_of(provider):
        assert example[name] not in logged


def test_a_new_destination_never_gets_the_stored_secret(client: FlaskClient, app: Flask) -> None:
    widget_id = make_widget(client, app)
    post_provider(client, widget_id, form_data("webhook", EXAMPLES["webhook"]))
    moved = post_provider(
        client, widget_id, form_data("webhook", {"url": "https://pbx.example.com/x"})
    )
    assert moved.status_code == 400
    page = moved.get_data(as_text=True)
    assert 'id="setting__secret-error">is the masked hint of a stored value' in page
    assert stored(app, widget_id).provider_settings["url"] == "https://hooks.example.com/call"


def test_provider_setting_errors_are_shown_on_their_fields(client: FlaskClient, app: Flask) -> None:
    widget_id = make_widget(client, app)
    response = post_provider(
        client, widget_id, form_data("twilio", {"account_sid": "nope", "connect_timeout": "soon"})
    )
    assert response.status_code == 400
    assert 'id="setting__connect_timeout-error">Enter a number.' in response.get_data(as_text=True)
    response = post_provider(client, widget_id, form_data("twilio", {"account_sid": "nope"}))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(r'id="setting__account_sid-error">[^<]+', page)
    assert re.search(r'id="setting__auth_token-error">[^<]+', page)
    assert stored(app, widget_id).provider == "simulator"


def test_a_provider_without_declarations_gets_a_write_only_json_field(
    client: FlaskClient, app: Flask, calls: list[CallRequest]
) -> None:
    widget_id = make_widget(client, app)
    data = {"provider": "counting", "action": "save", "settings_json": '{"key": "abc-secret-1"}'}
    assert post_provider(client, widget_id, data).status_code == 303
    page = client.get(f"/dashboard/widgets/{widget_id}/provider").get_data(as_text=True)
    assert 'name="settings_json"' in page and "abc-secret-1" not in page
    with app.app_context():
        document = admin.document(db.session().get(Widget, widget_id))
    shown = document["provider_settings"]["key"]  # undeclared: masked
    assert shown.startswith("••••") and shown != "abc-secret-1"


def test_declared_capabilities_are_shown(
    client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    widget_id = make_widget(client, app)
    url = f"/dashboard/widgets/{widget_id}/provider"
    monkeypatch.setattr(SimulatorProvider, "capabilities", frozenset())
    assert "it declares nothing more" in client.get(url).get_data(as_text=True)
    monkeypatch.setattr(
        SimulatorProvider, "capabilities", frozenset({Capability.CANCEL, Capability.REPORTS_STATUS})
    )
    page = client.get(url).get_data(as_text=True)
    assert "Can cancel a placed call" in page and "Reports how each call went" in page


def test_the_simulator_says_it_never_places_a_real_call(client: FlaskClient, app: Flask) -> None:
    widget_id = make_widget(client, app)
    page = client.get(f"/dashboard/widgets/{widget_id}/provider").get_data(as_text=True)
    assert "The simulator never places a real call" in page


def post_test_call(client: FlaskClient, widget_id: str, number: str) -> Any:
    url = f"/dashboard/widgets/{widget_id}/provider"
    return client.post(
        f"/dashboard/widgets/{widget_id}/test-call",
        data={"number": number, "csrf_token": csrf_token(client, url)},
    )


def test_test_call_on_the_simulator_shows_the_result(client: FlaskClient, app: Flask) -> None:
    widget_id = make_widget(client, app, default_region="ZA")
    response = post_test_call(client, widget_id, "082 123 4567")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-test-call="placed"' in page and "accepted by simulator" in page
    assert "+27 82 ••• ••67" in page and "+27821234567" not in page


def test_test_call_refused_by_the_number_policy_dials_nothing(
    client: FlaskClient, app: Flask, calls: list[CallRequest]
) -> None:
    widget_id = make_widget(client, app, default_region="ZA", provider="counting")
    for number, reason in (
        ("+1 202 555 0143", "We can't call numbers in that country."),
        ("112", "Emergency and service numbers cannot be called back."),
        ("not a number", "Enter a valid phone number"),
    ):
        response = post_test_call(client, widget_id, number)
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert 'id="test-number-error">' + reason.replace("'", "&#39;") in page
    assert calls == []
    assert post_test_call(client, widget_id, "+27821234567").status_code == 200
    assert [call.visitor_e164 for call in calls] == ["+27821234567"]
    assert calls[0].agent == AGENT


def test_test_calls_are_limited_per_account(
    make_app: Callable[..., Flask], calls: list[CallRequest]
) -> None:
    app = make_app(TEST_CALL_LIMIT_PER_ACCOUNT="2 per hour")
    client = app.test_client()
    widget_id = make_widget(client, app, default_region="ZA", provider="counting")
    for _ in range(2):
        assert post_test_call(client, widget_id, "+27821234567").status_code == 200
    limited = post_test_call(client, widget_id, "+27821234567")
    assert limited.status_code == 429
    assert "Too many test calls for now." in limited.get_data(as_text=True)
    assert len(calls) == 2
    assert CountingProvider.calls is calls


def test_viewers_cannot_place_test_calls(
    client: FlaskClient, app: Flask, calls: list[CallRequest]
) -> None:
    widget_id = make_widget(client, app, default_region="ZA", provider="counting")
    account = stored(app, widget_id).account_id
    viewer = app.test_client()
    sign_in(viewer, Role.VIEWER, account_id=account)
    assert post_test_call(viewer, widget_id, "+27821234567").status_code == 403
    assert calls == []


def test_the_admin_api_masks_only_declared_secrets(
    client: FlaskClient, acme: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    account, key = acme
    settings = EXAMPLES["kazoo"]
    created = put_widget(
        client,
        account,
        key,
        name="Sales",
        extension="1001",
        provider="kazoo",
        provider_settings=settings,
    )
    assert created.status_code == 200, created.get_json()
    shown = created.get_json()["data"]["provider_settings"]
    assert shown["api_version"] == "v1" and shown["account_id"] == "a" * 32
    assert shown["base_url"] == "https://kazoo.example.com:8000"
    assert shown["auth_token"] == "••••1234"
    url = f"/v1/accounts/{account}/clicktocall/{created.get_json()['data']['id']}"
    # The document sent back whole keeps the token; the shown settings are just values.
    document = client.get(url, headers=admin_auth(key)).get_json()["data"]
    replaced = client.post(url, json={"data": document}, headers=admin_auth(key))
    assert replaced.status_code == 200, replaced.get_json()
    with client.application.app_context():
        widget = db.session().get(Widget, document["id"])
        assert (
            widget is not None and widget.provider_settings["auth_token"] == settings["auth_token"]
        )
    for response in (created, replaced, client.get(url, headers=admin_auth(key))):
        assert settings["auth_token"] not in response.get_data(as_text=True)
    assert settings["auth_token"] not in caplog.text


def test_a_provider_refusal_of_the_test_call_is_shown(client: FlaskClient, app: Flask) -> None:
    widget_id = make_widget(
        client, app, default_region="ZA", provider_settings={"fail": "provider_error"}
    )
    response = post_test_call(client, widget_id, "+27821234567")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-test-call="failed"' in page and "provider_error" in page


def secondary_data(provider: str, settings: dict[str, Any]) -> dict[str, str]:
    """The secondary provider form's fields, as a browser posts them (their own prefix)."""
    data = {"secondary-provider": provider, "action": "save"}
    for name, value in settings.items():
        if value is True:
            data[f"secondary-setting__{name}"] = "y"
        elif value is not False:
            data[f"secondary-setting__{name}"] = str(value)
    return data


def post_secondary(client: FlaskClient, widget_id: str, data: dict[str, str]) -> Any:
    url = f"/dashboard/widgets/{widget_id}/secondary-provider"
    token = csrf_token(client, f"/dashboard/widgets/{widget_id}/provider")
    return client.post(url, data={**data, "csrf_token": token})


@pytest.mark.parametrize("provider", sorted(EXAMPLES))
def test_secondary_provider_form_is_generated_and_its_secrets_are_write_only(
    client: FlaskClient, app: Flask, provider: str
) -> None:
    widget_id = make_widget(client, app)
    url = f"/dashboard/widgets/{widget_id}/provider"
    page = client.get(url).get_data(as_text=True)
    assert re.search(r'<select [^>]*name="secondary-provider"', page)
    assert '<option selected value="">None: no failover</option>' in page
    assert 'name="secondary-setting__' not in page
    # "Show its settings" shows the chosen provider's form and saves nothing.
    shown = post_secondary(client, widget_id, {"secondary-provider": provider, "action": "switch"})
    assert shown.status_code == 200
    page = shown.get_data(as_text=True)
    for setting in providers.REGISTRY[provider].setting_fields:
        tag = re.search(rf'<[a-z]+ [^>]*name="secondary-setting__{setting.name}"[^>]*>', page)
        assert tag, setting.name
        if setting.secret:
            assert 'type="password"' in tag.group(0)
        if setting.help:
            assert str(escape(setting.help))[:30] in page  # its help, base_url's included
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "two fields share an id"  # both forms are on the page
    assert stored(app, widget_id).secondary_provider is None

    example = EXAMPLES[provider]
    saved = post_secondary(client, widget_id, secondary_data(provider, example))
    assert saved.status_code == 303, saved.get_data(as_text=True)
    widget = stored(app, widget_id)
    assert widget.secondary_provider == provider and widget.provider == "simulator"
    assert {k: widget.secondary_provider_settings[k] for k in example} == example
    page = client.get(url).get_data(as_text=True)
    for name in secrets_of(provider):
        assert example[name] not in page
        assert f'data-secret-stored="{name}"' in page.split('id="secondary"', 1)[1]
    for name, value in example.items():
        if name not in secrets_of(provider) and not isinstance(value, bool):
            shown = re.escape(str(value))
            field = rf'name="secondary-setting__{name}"[^>]*value="{shown}"'
            assert re.search(rf'{field}|selected value="{shown}"', page), name
    # Left empty, a secret stays; typed, it is replaced.
    kept = {k: v for k, v in example.items() if k not in secrets_of(provider)}
    assert post_secondary(client, widget_id, secondary_data(provider, kept)).status_code == 303
    again = stored(app, widget_id).secondary_provider_settings
    assert {k: again[k] for k in example} == example
    for name in secrets_of(provider):
        replaced = {**kept, name: example[name] + "-new"}
        assert (
            post_secondary(client, widget_id, secondary_data(provider, replaced)).status_code == 303
        )
        assert stored(app, widget_id).secondary_provider_settings[name] == example[name] + "-new"


def test_secondary_provider_errors_are_shown_on_its_fields(client: FlaskClient, app: Flask) -> None:
    widget_id = make_widget(client, app)
    response = post_secondary(
        client, widget_id, secondary_data("twilio", {"account_sid": "nope", "connect_timeout": "x"})
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="secondary-setting__connect_timeout-error">Enter a number.' in page
    response = post_secondary(client, widget_id, secondary_data("twilio", {"account_sid": "nope"}))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert re.search(r'id="secondary-setting__account_sid-error">[^<]+', page)
    assert re.search(r'id="secondary-setting__auth_token-error">[^<]+', page)
    assert 'id="setting__account_sid-error"' not in page  # the primary's form is untouched
    # A reason about the secondary as a whole (it must be ready as it is) is said above it.
    kazoo = {k: v for k, v in EXAMPLES["kazoo"].items() if k != "clicktocall_id"}
    response = post_secondary(client, widget_id, secondary_data("kazoo", kazoo))
    assert response.status_code == 400
    alert = response.get_data(as_text=True).split('id="secondary"', 1)[1]
    assert "clicktocall_id" in alert.split('role="alert"', 1)[1][:400]
    assert stored(app, widget_id).secondary_provider is None


def test_choosing_none_removes_the_secondary_provider(client: FlaskClient, app: Flask) -> None:
    widget_id = make_widget(client, app)
    post_secondary(client, widget_id, secondary_data("webhook", EXAMPLES["webhook"]))
    assert stored(app, widget_id).secondary_provider == "webhook"
    removed = post_secondary(client, widget_id, {"secondary-provider": "", "action": "save"})
    assert removed.status_code == 303
    widget = stored(app, widget_id)
    assert widget.secondary_provider is None and widget.secondary_provider_settings == {}
    page = client.get(removed.location).get_data(as_text=True)
    assert "Secondary provider removed." in page


def test_a_viewer_sees_the_secondary_provider_without_its_secrets(
    client: FlaskClient, app: Flask
) -> None:
    widget_id = make_widget(client, app)
    owner_id = stored(app, widget_id).account_id
    post_secondary(client, widget_id, secondary_data("webhook", EXAMPLES["webhook"]))
    viewer = app.test_client()
    sign_in(viewer, Role.VIEWER, account_id=owner_id)
    page = viewer.get(f"/dashboard/widgets/{widget_id}/provider").get_data(as_text=True)
    part = page.split('id="secondary"', 1)[1]
    assert "webhook" in part and "https://hooks.example.com/call" in part
    assert EXAMPLES["webhook"]["secret"] not in page and "Stored." in part
    assert not re.search(r"<(input|select|textarea)", part)
    token = csrf_token(viewer, f"/dashboard/widgets/{widget_id}/provider")
    refused = viewer.post(
        f"/dashboard/widgets/{widget_id}/secondary-provider",
        data={"csrf_token": token, "secondary-provider": ""},
    )
    assert refused.status_code == 403
    assert stored(app, widget_id).secondary_provider == "webhook"
