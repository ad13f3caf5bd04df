"""Operator commands: accounts, widgets, embed snippet, call log, demo."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

from tests.helpers import add_widget, callbacks, run_jobs, submit_json
from widget_server.core import db
from widget_server.core.models import Widget


def invoke(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def create_account(app: Flask, name: str = "Acme") -> str:
    result = invoke(app, "accounts", "create", name)
    assert result.exit_code == 0, result.output
    return str(result.output.strip())


def test_accounts_create_and_list(app: Flask) -> None:
    account_id = create_account(app, "Acme Plumbing")
    assert len(account_id) == 32
    listing = invoke(app, "accounts", "list").output
    assert f"{account_id}  Acme Plumbing" in listing


def test_widget_from_flags_then_show_list_snippet_delete(app: Flask) -> None:
    account_id = create_account(app)
    result = invoke(
        app,
        "widgets",
        "create",
        "--account",
        account_id,
        "--name",
        "Sales",
        "--extension",
        "1001",
        "--region",
        "ZA",
        "--origin",
        "https://shop.example.com",
        "--whitelist-preset",
        "click2dial-za",
    )
    assert result.exit_code == 0, result.output
    widget_id = result.stdout.strip()  # the id alone on stdout; notes go to stderr
    assert "provider: simulator" in result.stderr
    assert "the simulator places no real call" in result.stderr

    shown = json.loads(invoke(app, "widgets", "show", widget_id).output)
    assert shown["name"] == "Sales"
    assert shown["default_region"] == "ZA"
    assert shown["allowed_origins"] == ["https://shop.example.com"]
    assert shown["whitelist"] == [r"\+27[1-9]\d{8}"]
    assert shown["auth_required"] is True  # Kazoo's default for this product

    assert widget_id in invoke(app, "widgets", "list", "--account", account_id).output
    snippet = invoke(
        app, "widgets", "snippet", widget_id, "--base-url", "https://cb.example"
    ).output
    assert snippet.strip() == (
        f'<script async src="https://cb.example/widget.js" data-widget="{widget_id}"></script>'
    )
    assert invoke(app, "widgets", "delete", widget_id).exit_code == 0
    with app.app_context():
        assert db.session().get(Widget, widget_id) is None


def test_widget_from_json_file(app: Flask, tmp_path: Path) -> None:
    account_id = create_account(app)
    spec = tmp_path / "widget.json"
    spec.write_text(
        json.dumps(
            {
                "name": "Support",
                "extension": "sip:agent@pbx.example.com",
                "throttle": 2,
                "whitelist": [r"\+1\d{10}"],
                "provider_settings": {"step_delay": 0.5},
            }
        )
    )
    result = invoke(app, "widgets", "create", "--account", account_id, "--json", str(spec))
    assert result.exit_code == 0, result.output
    shown = json.loads(invoke(app, "widgets", "show", result.stdout.strip()).output)
    assert shown["throttle"] == 2
    assert shown["extension"] == "sip:agent@pbx.example.com"
    # Provider settings may hold credentials: the CLI shows their names only.
    assert shown["provider_settings"] == ["fail", "step_delay", "talk_time"]


def test_cli_shows_secondary_settings_by_name_and_refuses_a_missing_capability(
    app: Flask, tmp_path: Path
) -> None:
    account_id = create_account(app)
    spec = tmp_path / "failover.json"
    secondary = {"token": "EXM-SECRET-TOKEN-0123456789", "caller_id": "+972778038038"}
    spec.write_text(
        json.dumps(
            {
                "name": "Sales",
                "extension": "+972544444444",
                "secondary_provider": "extramobile",
                "secondary_provider_settings": secondary,
            }
        )
    )
    result = invoke(app, "widgets", "create", "--account", account_id, "--json", str(spec))
    assert result.exit_code == 0, result.output
    shown = invoke(app, "widgets", "show", result.stdout.strip()).output
    assert json.loads(shown)["secondary_provider_settings"] == ["caller_id", "token"]
    assert secondary["token"] not in shown
    spec.write_text(json.dumps({"name": "Sales", "extension": "1001", "scheduling": "provider"}))
    refused = invoke(app, "widgets", "create", "--account", account_id, "--json", str(spec))
    assert refused.exit_code != 0
    assert "scheduling: needs the scheduling capability" in refused.output


def test_invalid_widget_is_refused_with_every_reason(app: Flask, tmp_path: Path) -> None:
    account_id = create_account(app)
    spec = tmp_path / "bad.json"
    spec.write_text(
        json.dumps(
            {
                "name": "",
                "extension": "1001; DROP",
                "whitelist": [".*"],
                "timeout": 0,
                "allowed_origins": ["https://ok.example", "javascript:alert(1)"],
                "colour": "red",
            }
        )
    )
    result = invoke(app, "widgets", "create", "--account", account_id, "--json", str(spec))
    assert result.exit_code == 2
    for fragment in (
        "name: is required",
        "extension: has the wrong format",
        "whitelist: entry 0: matches anything",
        "timeout: must be an integer from 1",
        "allowed_origins: not an origin",
        "colour: unknown property",
    ):
        assert fragment in result.output


def test_broken_json_file_and_unknown_ids_are_usage_errors(app: Flask, tmp_path: Path) -> None:
    account_id = create_account(app)
    spec = tmp_path / "broken.json"
    spec.write_text("{not json")
    result = invoke(app, "widgets", "create", "--account", account_id, "--json", str(spec))
    assert result.exit_code == 2 and "not valid JSON" in result.output
    assert (
        "no account nope"
        in invoke(
            app, "widgets", "create", "--account", "nope", "--name", "x", "--extension", "1"
        ).output
    )
    assert "no widget nope" in invoke(app, "widgets", "show", "nope").output


def test_callbacks_lists_the_call_log_with_masked_numbers(app: Flask) -> None:
    widget_id = add_widget(app)
    client = app.test_client()
    assert submit_json(client, widget_id).status_code == 202
    run_jobs(app)
    output = invoke(app, "widgets", "callbacks", widget_id).output
    [callback] = callbacks(app)
    assert callback.id in output and "completed" in output
    assert "+1 20 ••• ••23" in output and "2015550123" not in output


def test_demo_creates_one_account_and_widget_once(make_app: Callable[..., Flask]) -> None:
    app = make_app(DEMO_PAGE=True)
    first = invoke(app, "demo", "--origin", "http://127.0.0.1:5000")
    second = invoke(app, "demo", "--origin", "http://127.0.0.1:5000")
    assert first.exit_code == 0, first.output
    # The same widget both times; the owner's password is printed only when it is made.
    assert first.output.splitlines()[:3] == second.output.splitlines()[:3]
    assert "dashboard: http://localhost/dashboard/" in first.output
    assert "(shown this once)" in first.output and "shown this once" not in second.output
    assert "users reset-password --email demo-owner@example.com" in second.output
    with app.app_context():
        [widget] = db.session().query(Widget).all()
        assert widget.provider == "simulator"
        assert "http://127.0.0.1:5000" in widget.allowed_origins
    page = app.test_client().get("/")
    assert page.status_code == 200
    assert f'data-widget="{widget.id}"' in page.get_data(as_text=True)
    assert 'src="http://localhost/widget.js"' in page.get_data(as_text=True)


def test_demo_served_on_another_port_allows_that_origin_too(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(DEMO_PAGE=True)
    assert invoke(app, "demo", "--origin", "http://127.0.0.1:5000").exit_code == 0
    assert invoke(app, "demo", "--origin", "http://127.0.0.1:5077").exit_code == 0
    with app.app_context():
        [widget] = db.session().query(Widget).all()
        assert widget.allowed_origins[-2:] == ["http://127.0.0.1:5000", "http://127.0.0.1:5077"]


def test_demo_page_is_off_unless_enabled(app: Flask) -> None:
    invoke(app, "demo")
    assert app.test_client().get("/").status_code == 404


def test_blocklist_add_list_remove(app: Flask) -> None:
    assert (
        "number +27821234567 blocked"
        in invoke(
            app, "blocklist", "add", "number", "+27821234567", "--reason", "harassment"
        ).output
    )
    assert "until" in invoke(app, "blocklist", "add", "ip", "198.51.100.0/24", "--days", "7").output
    listing = invoke(app, "blocklist", "list").output
    assert "+27 82 ••• ••67" in listing and "harassment" in listing
    assert "198.51.100.0/24" in listing and "27821234567" not in listing
    assert invoke(app, "blocklist", "remove", "number", "+27821234567").output.strip() == "removed"
    refused = invoke(app, "blocklist", "add", "prefix", "not-a-number")
    assert refused.exit_code == 2 and "E.164 digits" in refused.output
