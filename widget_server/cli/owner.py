"""Operator commands for what the site owner is told and keeps: webhooks, retention, erasure."""

from __future__ import annotations

import json

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from ..core import db
from ..core.models import Account
from ..core.numbers import mask
from ..notify import webhooks
from ..owners import retention
from .commands import widget_or_usage_error, widgets_cli

retention_cli = AppGroup("retention", help="Erase visitors' numbers: by age, or one on request.")


@click.command("webhook-test")
@with_appcontext
@click.argument("widget_id")
def webhook_test(widget_id: str) -> None:
    """Send a sample webhook.test event to the widget's webhook now and print the result."""
    widget = widget_or_usage_error(widget_id)
    if not widget.webhook_url or not widget.webhook_secret:
        raise click.UsageError("the widget has no webhook_url (and webhook_secret) set")
    delivery = webhooks.send_test(db.session(), widget, current_app.config)
    result = webhooks.describe(delivery)
    result.pop("payload")
    click.echo(json.dumps(result, indent=2))
    if delivery.status != webhooks.DELIVERED:
        raise SystemExit(1)


@click.command("webhook-deliveries")
@with_appcontext
@click.argument("widget_id")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500))
@click.option("--status", type=click.Choice(webhooks.DELIVERY_STATUSES))
def webhook_deliveries(widget_id: str, limit: int, status: str | None) -> None:
    """List the widget's webhook deliveries, newest first."""
    widget = widget_or_usage_error(widget_id)
    for delivery in webhooks.deliveries(db.session(), widget, limit=limit, status=status):
        code = delivery.last_status_code or "-"
        click.echo(
            f"{delivery.created_at:%Y-%m-%d %H:%M:%S}  {delivery.id:>6}  {delivery.event:24} "
            f"{delivery.status:9}  attempts {delivery.attempts}  HTTP {code}  "
            f"{delivery.last_error or ''}"
        )


@retention_cli.command("erase")
@click.option("--account", "account_id", required=True, help="Account id.")
@click.argument("number")
def retention_erase(account_id: str, number: str) -> None:
    """Erase one number's data across an account's callbacks (pending ones are canceled)."""
    session = db.session()
    if session.get(Account, account_id) is None:
        raise click.UsageError(f"no account {account_id}")
    e164 = retention.e164_or_none(number)
    if e164 is None:
        raise click.UsageError("NUMBER must be an international number such as +12015550123")
    erased = retention.erase_number(session, account_id, e164)
    counts = ", ".join(f"{count} {what}" for what, count in erased.as_dict().items())
    click.echo(f"erased {mask(e164)}: {counts}")


@retention_cli.command("run")
@click.option("--days", type=click.IntRange(1), help="Override RETENTION_DAYS for this run.")
def retention_run(days: int | None) -> None:
    """Erase callbacks older than RETENTION_DAYS now (the worker does it hourly)."""
    keep = days or int(current_app.config["RETENTION_DAYS"])
    if keep <= 0:
        raise click.UsageError("RETENTION_DAYS is 0 (keep everything): pass --days to erase")
    erased = retention.erase_expired(db.session(), keep)
    click.echo(f"erased {erased} callbacks older than {keep} days")


def init_app(app: Flask) -> None:
    app.cli.add_command(retention_cli)
    widgets_cli.add_command(webhook_test)
    widgets_cli.add_command(webhook_deliveries)
