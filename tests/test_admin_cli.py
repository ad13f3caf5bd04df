"""CLI parity: what the admin API does to widgets, keys and history, the operator can do too."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from flask import Flask

from tests.helpers import run_jobs
from widget_server.core import db
from widget_server.core.models import Widget

SECRET = "whsec-cli-0123456789abcdef"


def _invoke(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def test_widget_lifecycle_and_keys_from_the_cli(app: Flask, tmp_path: Path) -> None:
    account = _invoke(app, "accounts", "create", "Acme").strip()
    other = _invoke(app, "accounts", "create", "Other").strip()
    # Keys: create (shown once), list per account, revoke.
    key = _invoke(app, "keys", "create", "--account", account, "--name", "crm").splitlines()[-1]
    _invoke(app, "keys", "create", "--account", other, "--name", "elsewhere")
    listed = _invoke(app, "keys", "list", "--account", account)
    assert "crm" in listed and "elsewhere" not in listed and key not in listed
    # Create (the API's PUT) from a JSON document with a credential.
    document = tmp_path / "widget.json"
    document.write_text(
        json.dumps(
            {
                "name": "Sales",
                "extension": "1001",
                "provider": "webhook",
                "provider_settings": {"url": "https://hooks.example.com/c", "secret": SECRET},
            }
        )
    )
    created = _invoke(app, "widgets", "create", "--account", account, "--json", str(document))
    widget_id = created.split()[-1]
    # List (the API's summary) and show (never the credential).
    assert widget_id in _invoke(app, "widgets", "list", "--account", account)
    assert widget_id not in _invoke(app, "widgets", "list", "--account", other)
    shown = _invoke(app, "widgets", "show", widget_id)
    assert SECRET not in shown and {"secret", "url"} <= set(json.loads(shown)["provider_settings"])
    # Merge (PATCH) and replace (POST): a replace without settings keeps the credential.
    patch = tmp_path / "patch.json"
    patch.write_text(json.dumps({"throttle": 4}))
    _invoke(app, "widgets", "update", widget_id, "--json", str(patch))
    replace = tmp_path / "replace.json"
    replace.write_text(json.dumps({"name": "Support", "extension": "1002", "provider": "webhook"}))
    _invoke(app, "widgets", "update", widget_id, "--json", str(replace), "--replace")
    with app.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None and widget.name == "Support" and widget.throttle == 0
        assert widget.provider_settings["secret"] == SECRET
    # Revoke the key; delete the widget (the API's DELETE).
    key_id = listed.split()[0]
    _invoke(app, "keys", "revoke", key_id)
    assert "revoked" in _invoke(app, "keys", "list", "--account", account)
    _invoke(app, "widgets", "delete", widget_id)
    assert widget_id not in _invoke(app, "widgets", "list")


def test_history_with_filters_pages_and_csv_from_the_cli(app: Flask) -> None:
    account = _invoke(app, "accounts", "create", "Acme").strip()
    key = _invoke(app, "keys", "create", "--account", account).splitlines()[-1]
    client = app.test_client()
    created = client.put(
        f"/v1/accounts/{account}/clicktocall",
        json={
            "data": {
                "name": "Sales",
                "extension": "1001",
                "allowed_regions": ["US"],
                "provider_settings": {"step_delay": 0, "talk_time": 0},
            }
        },
        headers={"X-Auth-Token": key},
    )
    widget_id = created.get_json()["data"]["id"]
    for n in range(3):
        response = client.post(
            f"/v1/accounts/{account}/clicktocall/{widget_id}/connect",
            json={"data": {"contact": f"+1 201 555 01{n:02d}"}},
            headers={"X-Auth-Token": key},
        )
        assert response.status_code == 202, response.get_json()
        run_jobs(app)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["widgets", "history", widget_id, "--page-size", "2"])
    assert first.exit_code == 0, first.output
    items = json.loads(first.stdout)
    assert [i["contact"] for i in items] == ["+12015550102", "+12015550101"]
    start_key = first.stderr.split("--start-key ")[1].strip()
    rest = _invoke(app, "widgets", "history", widget_id, "--start-key", start_key)
    assert [i["contact"] for i in json.loads(rest)] == ["+12015550100"]
    assert json.loads(_invoke(app, "widgets", "history", widget_id, "--status", "failed")) == []
    future = _invoke(app, "widgets", "history", widget_id, "--from", "2100-01-01T00:00:00Z")
    assert json.loads(future) == []
    rows = list(csv.DictReader(io.StringIO(_invoke(app, "widgets", "history", widget_id, "--csv"))))
    assert len(rows) == 3 and rows[0]["status"] == "completed"
    bad = runner.invoke(args=["widgets", "history", widget_id, "--status", "nope"])
    assert bad.exit_code != 0 and "status" in bad.output
    assert runner.invoke(args=["widgets", "history", "nope"]).exit_code != 0
