"""Operator commands for dashboard users, and the command line without a usable setting."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from flask import Flask

from tests.dashboard import post_sign_in
from widget_server.core import db
from widget_server.core.models import DashboardSession

FLASK = [sys.executable, "-m", "flask", "--app", "widget_server"]


def invoke(app: Flask, *args: str, **options: Any) -> Any:
    return app.test_cli_runner().invoke(args=list(args), **options)


def printed_password(output: str) -> str:
    found = re.search(r"password \(shown once\): (\S+)", output)
    assert found, output
    return found.group(1)


def test_users_create_list_and_sign_in_with_the_printed_password(app: Flask) -> None:
    account = invoke(app, "accounts", "create", "Acme").output.strip()
    created = invoke(
        app,
        "users",
        "create",
        "--account",
        account,
        "--email",
        "Ann@Acme.Example",
        "--role",
        "admin",
    )
    assert created.exit_code == 0, created.output
    assert f"ann@acme.example is admin of account {account}" in created.output
    password = printed_password(created.output)
    assert len(password) >= 12
    assert f"ann@acme.example  {account}  admin" in invoke(app, "users", "list").output
    assert post_sign_in(app.test_client(), "ann@acme.example", password).status_code == 302


def test_users_create_refuses_bad_input_with_the_field(app: Flask) -> None:
    account = invoke(app, "accounts", "create", "Acme").output.strip()
    bad_email = invoke(app, "users", "create", "--account", account, "--email", "not-an-email")
    assert bad_email.exit_code == 2 and "email: Enter an email address" in bad_email.output
    no_account = invoke(app, "users", "create", "--account", "nope", "--email", "a@b.example")
    assert no_account.exit_code == 2 and "no account nope" in no_account.output
    bad_role = invoke(
        app, "users", "create", "--account", account, "--email", "a@b.example", "--role", "god"
    )
    assert bad_role.exit_code == 2


def test_prompted_password_must_follow_the_rules(app: Flask) -> None:
    account = invoke(app, "accounts", "create", "Acme").output.strip()
    typed = "short\nshort\nlong enough passphrase\nlong enough passphrase\n"
    result = invoke(
        app,
        "users",
        "create",
        "--account",
        account,
        "--email",
        "bo@acme.example",
        "--prompt-password",
        input=typed,
    )
    assert result.exit_code == 0, result.output
    assert "Use at least 12 characters." in result.output
    assert "shown once" not in result.output
    client = app.test_client()
    assert post_sign_in(client, "bo@acme.example", "long enough passphrase").status_code == 302


def test_reset_password_prints_a_new_one_and_ends_sessions(app: Flask) -> None:
    account = invoke(app, "accounts", "create", "Acme").output.strip()
    first = printed_password(
        invoke(app, "users", "create", "--account", account, "--email", "c@acme.example").output
    )
    assert post_sign_in(app.test_client(), "c@acme.example", first).status_code == 302
    reset = invoke(app, "users", "reset-password", "--email", "c@acme.example")
    assert reset.exit_code == 0 and "every session ended" in reset.output
    second = printed_password(reset.output)
    with app.app_context():
        assert db.session().query(DashboardSession).count() == 0
    assert post_sign_in(app.test_client(), "c@acme.example", first).status_code == 401
    assert post_sign_in(app.test_client(), "c@acme.example", second).status_code == 302
    unknown = invoke(app, "users", "reset-password", "--email", "who@acme.example")
    assert unknown.exit_code == 2 and "no user who@acme.example" in unknown.output


def _without_settings(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIDGET_SERVER_")}
    env["WIDGET_SERVER_INSTANCE_PATH"] = str(tmp_path)
    return env


def test_commands_without_a_secret_key_say_what_to_set_in_one_line(tmp_path: Path) -> None:
    env = _without_settings(tmp_path)
    result = subprocess.run(
        [*FLASK, "users", "list"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: WIDGET_SERVER_SECRET_KEY is not set.")
    helped = subprocess.run(
        [*FLASK, "users", "create", "--help"], env=env, capture_output=True, text=True, timeout=60
    )
    assert helped.returncode == 0, helped.stderr
    assert "--email" in helped.stdout and "Traceback" not in helped.stderr


def test_widget_snippet_uses_the_public_origin(make_app: Any) -> None:
    app = make_app(PUBLIC_ORIGIN="https://callback.example.com")
    account = invoke(app, "accounts", "create", "Acme").output.strip()
    created = invoke(
        app, "widgets", "create", "--account", account, "--name", "S", "--extension", "1001"
    )
    widget_id = created.stdout.strip()
    snippet = invoke(app, "widgets", "snippet", widget_id).output
    assert f'src="https://callback.example.com/widget.js" data-widget="{widget_id}"' in snippet
