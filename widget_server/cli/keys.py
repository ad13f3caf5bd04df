"""Operator commands for the admin API: API keys, `widgets update` and `widgets history`."""

from __future__ import annotations

import json
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from ..core import db
from ..core.models import Account
from ..owners import admin, keys, widgets
from .commands import (
    json_properties,
    refused_fields,
    unsavable,
    widget_or_usage_error,
    widgets_cli,
)

keys_cli = AppGroup("keys", help="Admin API keys (shown once, stored hashed).")


@keys_cli.command("create")
@click.option("--account", "account_id", required=True, help="Account id.")
@click.option("--name", default="default", show_default=True, help="What the key is for.")
def keys_create(account_id: str, name: str) -> None:
    """Create a key and print it once; it cannot be shown again."""
    session = db.session()
    if session.get(Account, account_id) is None:
        raise click.UsageError(f"no account {account_id}")
    record, key = admin.create_key(session, account_id, name)
    session.commit()
    click.echo(f"key id {record.id}; store this key now, it is not shown again:", err=True)
    click.echo(key)


@keys_cli.command("list")
@click.option("--account", "account_id", help="Only this account's keys.")
def keys_list(account_id: str | None) -> None:
    """List keys (never the key itself)."""
    for key in admin.list_keys(db.session(), account_id):
        used = f"{key.last_used_at:%Y-%m-%d %H:%M}Z" if key.last_used_at else "never"
        state = "revoked" if key.revoked_at else "active"
        click.echo(
            f"{key.id}  {key.account_id}  {keys.visible_part(key)}  {state:7}  "
            f"last used {used}  {key.name}"
        )


@keys_cli.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key: it stops working at once."""
    session = db.session()
    if admin.revoke_key(session, key_id) is None:
        raise click.UsageError(f"no key {key_id}")
    session.commit()
    click.echo(f"revoked {key_id}")


@click.command("update")
@with_appcontext
@click.argument("widget_id")
@click.option("--json", "json_file", type=click.File("r"), required=True)
@click.option("--replace", is_flag=True, help="Reset omitted properties to their defaults.")
def widgets_update(widget_id: str, json_file: Any, replace: bool) -> None:
    """Update a widget's properties from a JSON object (merged unless --replace)."""
    session = db.session()
    widget = widget_or_usage_error(widget_id)
    values = json_properties(json_file)
    try:
        admin.update_widget(session, widget, values, replace=replace)
    except widgets.WidgetInvalid as exc:
        raise unsavable(exc) from None
    click.echo(f"updated {widget_id}")


@click.command("history")
@with_appcontext
@click.argument("widget_id")
@click.option("--status", help="Only callbacks in this status.")
@click.option("--from", "created_from", help="Created at or after (ISO 8601 or Unix seconds).")
@click.option("--to", "created_to", help="Created at or before (ISO 8601 or Unix seconds).")
@click.option("--page-size", type=int, default=admin.DEFAULT_PAGE_SIZE, show_default=True)
@click.option("--start-key", help="Continue from a previous page's next start key.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV, as the API's ?format=csv.")
def widgets_history(
    widget_id: str,
    status: str | None,
    created_from: str | None,
    created_to: str | None,
    page_size: int,
    start_key: str | None,
    as_csv: bool,
) -> None:
    """A widget's call history as the admin API answers it: JSON (or CSV), newest first."""
    session = db.session()
    widget = widget_or_usage_error(widget_id)
    args = {
        "status": status,
        "created_from": created_from,
        "created_to": created_to,
        "page_size": str(page_size),
        "start_key": start_key,
    }
    try:
        query = admin.history_query({k: v for k, v in args.items() if v is not None})
    except admin.HistoryQueryInvalid as exc:
        raise refused_fields("invalid filters", exc.fields) from None
    page = admin.history(session, widget, query)
    if as_csv:
        click.echo(admin.history_csv(page.items), nl=False)
    else:
        click.echo(json.dumps(page.items, indent=2))
    if page.next_start_key:
        click.echo(f"more: --start-key {page.next_start_key}", err=True)


def init_app(app: Flask) -> None:
    app.cli.add_command(keys_cli)
    # `flask widgets update`, next to the widget commands of commands.py.
    widgets_cli.add_command(widgets_update)
    widgets_cli.add_command(widgets_history)
