"""Admin API keys: shown once, stored hashed, revocable; the CLI and the crypto at rest."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from tests.helpers import add_account, add_widget, admin_auth
from widget_server.core import crypto, db
from widget_server.core.models import ApiKey, Widget
from widget_server.owners import admin


def test_key_is_stored_only_as_its_hash(app: Flask) -> None:
    _account, key = add_account(app)
    assert key.startswith("wsk_")
    with app.app_context():
        record = db.session().query(ApiKey).one()
        assert record.key_hash == hashlib.sha256(key.encode()).hexdigest()
        assert key not in json.dumps([str(v) for v in vars(record).values()])


def test_authenticate_notes_last_use_and_refuses_revoked_or_forged(app: Flask) -> None:
    _account, key = add_account(app)
    with app.app_context():
        session = db.session()
        record = admin.authenticate(session, key)
        assert record is not None and record.last_used_at is not None
        assert admin.authenticate(session, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
        assert admin.authenticate(session, "wsk_000000000000_nothing") is None
        assert admin.authenticate(session, "not-a-key") is None
        admin.revoke_key(session, record.id)
        session.commit()
        assert admin.authenticate(session, key) is None


def test_revoked_key_answers_401(app: Flask) -> None:
    account, key = add_account(app)
    client = app.test_client()
    url = f"/v1/accounts/{account}/clicktocall"
    assert client.get(url, headers=admin_auth(key)).status_code == 200
    with app.app_context():
        session = db.session()
        admin.revoke_key(session, session.query(ApiKey).one().id)
        session.commit()
    response = client.get(url, headers=admin_auth(key))
    assert response.status_code == 401
    assert response.get_json()["status"] == "error"


def test_cli_creates_lists_and_revokes_keys(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    runner = app.test_cli_runner()
    account = runner.invoke(args=["accounts", "create", "Acme"]).output.strip()
    created = runner.invoke(args=["keys", "create", "--account", account, "--name", "crm"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("wsk_")
    listed = runner.invoke(args=["keys", "list"])
    assert "crm" in listed.output and "active" in listed.output and key not in listed.output
    response = app.test_client().get(
        f"/v1/accounts/{account}/clicktocall", headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200
    key_id = listed.output.split()[0]
    assert runner.invoke(args=["keys", "revoke", key_id]).exit_code == 0
    assert "revoked" in runner.invoke(args=["keys", "list"]).output
    assert runner.invoke(args=["keys", "revoke", "nope"]).exit_code != 0
    assert runner.invoke(args=["keys", "create", "--account", "nope"]).exit_code != 0
    assert key not in caplog.text


def test_cli_widgets_update_from_json(app: Flask, tmp_path: Path) -> None:
    widget_id = add_widget(app)
    runner = app.test_cli_runner()
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"name": "Support", "throttle": 2}))
    result = runner.invoke(args=["widgets", "update", widget_id, "--json", str(good)])
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"timeout": 0}))
    result = runner.invoke(args=["widgets", "update", widget_id, "--json", str(bad)])
    assert result.exit_code != 0 and "timeout" in result.output
    with app.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None and widget.name == "Support" and widget.throttle == 2


def test_provider_settings_are_encrypted_at_rest(app: Flask) -> None:
    widget_id = add_widget(app, provider_settings={"step_delay": 0, "talk_time": 0})
    with app.app_context():
        stored = (
            db.session()
            .execute(
                text("SELECT provider_settings FROM widgets WHERE id = :id"), {"id": widget_id}
            )
            .scalar_one()
        )
        assert "talk_time" not in stored and crypto.MARKER in stored
        widget = db.session().get(Widget, widget_id)
        assert widget is not None
        assert widget.provider_settings["talk_time"] == 0


def test_plaintext_settings_from_before_encryption_still_read(app: Flask) -> None:
    widget_id = add_widget(app)
    with app.app_context():
        session = db.session()
        session.execute(
            text("UPDATE widgets SET provider_settings = :v WHERE id = :id"),
            {"v": '{"step_delay": 1}', "id": widget_id},
        )
        session.commit()
        session.expire_all()
        widget = session.get(Widget, widget_id)
        assert widget is not None and widget.provider_settings == {"step_delay": 1}


def test_explicit_keys_rotate(make_app: object, tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    first = make_app(SETTINGS_ENCRYPTION_KEYS=[old])  # type: ignore[operator]
    widget_id = add_widget(first, provider_settings={"step_delay": 2})
    first.extensions["db_engine"].dispose()
    second = make_app(SETTINGS_ENCRYPTION_KEYS=[new, old])  # type: ignore[operator]
    with second.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None and widget.provider_settings["step_delay"] == 2
    third = make_app(SETTINGS_ENCRYPTION_KEYS=[new])  # type: ignore[operator]
    with third.app_context(), pytest.raises(crypto.SettingsKeyError):
        db.session().get(Widget, widget_id)
