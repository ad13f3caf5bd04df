"""Operator commands: flask --app widget_server <group> <command>."""

from __future__ import annotations

import json
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select
from werkzeug.serving import run_simple

from ..calls import blocklist
from ..core import db, heap, settings
from ..core.models import Account, BlockedEntry, Callback, Widget, utcnow
from ..core.numbers import mask
from ..intake import human_checks
from ..intake.phone_policy import WHITELIST_PRESETS
from ..jobs import jobs
from ..owners import installs, widgets
from ..owners.accounts import DEMO_ACCOUNT
from . import users

db_cli = AppGroup("db", help="Database migrations.")
accounts_cli = AppGroup("accounts", help="Accounts (tenants).")
widgets_cli = AppGroup("widgets", help="Widgets (Kazoo clicktocall resources).")
blocklist_cli = AppGroup("blocklist", help="Blocked numbers, prefixes, addresses; opt-outs.")


@db_cli.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to a revision."""
    db.upgrade(current_app, revision)
    click.echo(f"database at {db.current_revision(current_app)}")


@db_cli.command("current")
def db_current() -> None:
    """Print the database's migration revision."""
    click.echo(db.current_revision(current_app) or "none")


@accounts_cli.command("create")
@click.argument("name")
def accounts_create(name: str) -> None:
    """Create an account and print its id."""
    account = Account(name=name)
    session = db.session()
    session.add(account)
    session.commit()
    click.echo(account.id)


@accounts_cli.command("list")
def accounts_list() -> None:
    """List accounts."""
    for account in db.session().scalars(select(Account).order_by(Account.created_at)):
        click.echo(f"{account.id}  {account.name}")


@widgets_cli.command("create")
@click.option("--account", "account_id", required=True, help="Account id.")
@click.option("--json", "json_file", type=click.File("r"), help="Properties as a JSON file.")
@click.option("--name")
@click.option("--extension", help="Agent number, SIP URI or internal extension (rung first).")
@click.option("--region", "default_region", help="Default region, e.g. ZA.")
@click.option("--origin", "origins", multiple=True, help="An allowed origin (repeatable).")
@click.option("--provider")
@click.option("--whitelist-preset", type=click.Choice(sorted(WHITELIST_PRESETS)))
def widgets_create(
    account_id: str,
    json_file: Any,
    whitelist_preset: str | None,
    origins: tuple[str, ...],
    **flags: Any,
) -> None:
    """Create a widget from flags and/or a JSON file; print its id."""
    session = db.session()
    if session.get(Account, account_id) is None:
        raise click.UsageError(f"no account {account_id}")
    values = json_properties(json_file)
    values.update({k: v for k, v in flags.items() if v is not None})
    if origins:
        values["allowed_origins"] = list(origins)
    if whitelist_preset:
        values["whitelist"] = WHITELIST_PRESETS[whitelist_preset]
    widget = Widget(account_id=account_id, **_clean(values))
    session.add(widget)
    session.commit()
    click.echo(widget.id)
    # On stderr, so that scripts reading the id from stdout keep working.
    click.echo(f"provider: {widget.provider}", err=True)
    if widget.provider == "simulator":
        click.echo(
            "warning: the simulator places no real call; set --provider (and its "
            "provider_settings in --json) for real callbacks",
            err=True,
        )


def json_properties(handle: Any) -> dict[str, Any]:
    if handle is None:
        return {}
    try:
        values = json.load(handle)
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"{handle.name}: not valid JSON ({exc})") from None
    if not isinstance(values, dict):
        raise click.UsageError(f"{handle.name}: must hold a JSON object")
    return values


def _clean(values: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    try:
        return widgets.clean(values, current)
    except widgets.WidgetInvalid as exc:
        raise unsavable(exc) from None


def unsavable(exc: widgets.WidgetInvalid) -> click.UsageError:
    return refused_fields("the widget cannot be saved", exc.fields)


def refused_fields(title: str, fields: dict[str, str]) -> click.UsageError:
    """Name each refused field and its reason, one per line."""
    lines = "\n".join(f"  {k}: {v}" for k, v in fields.items())
    return click.UsageError(f"{title}:\n{lines}")


def widget_or_usage_error(widget_id: str) -> Widget:
    widget = db.session().get(Widget, widget_id)
    if widget is None:
        raise click.UsageError(f"no widget {widget_id}")
    return widget


def describe(widget: Widget) -> dict[str, Any]:
    """Return a widget's properties for display; provider settings show only their names."""
    values = {key: getattr(widget, key) for key in widgets.PROPERTIES}
    values["provider_settings"] = sorted(widget.provider_settings)
    values["secondary_provider_settings"] = sorted(widget.secondary_provider_settings or {})
    values["human_check"] = human_checks.masked(widget.human_check or {})
    values["webhook_secret"] = "••••" if widget.webhook_secret else None  # write-only
    return {"id": widget.id, "account_id": widget.account_id, **values}


@widgets_cli.command("list")
@click.option("--account", "account_id")
def widgets_list(account_id: str | None) -> None:
    """List widgets."""
    query = select(Widget).order_by(Widget.created_at)
    if account_id:
        query = query.where(Widget.account_id == account_id)
    for widget in db.session().scalars(query):
        click.echo(f"{widget.id}  {widget.name}  {widget.extension}  {widget.provider}")


@widgets_cli.command("show")
@click.argument("widget_id")
def widgets_show(widget_id: str) -> None:
    """Print a widget's properties as JSON."""
    click.echo(json.dumps(describe(widget_or_usage_error(widget_id)), indent=2, default=str))


@widgets_cli.command("delete")
@click.argument("widget_id")
def widgets_delete(widget_id: str) -> None:
    """Delete a widget and its call log."""
    session = db.session()
    session.delete(widget_or_usage_error(widget_id))
    session.commit()
    click.echo(f"deleted {widget_id}")


@widgets_cli.command("snippet")
@click.argument("widget_id")
@click.option(
    "--base-url",
    default=None,
    help="Where this server is reached from the host page (default: PUBLIC_ORIGIN).",
)
def widgets_snippet(widget_id: str, base_url: str | None) -> None:
    """Print the script tag to paste into a page."""
    widget = widget_or_usage_error(widget_id)
    click.echo(installs.snippet(widget.id, base_url or settings.server_origin(current_app)))


@widgets_cli.command("callbacks")
@click.argument("widget_id")
@click.option("--limit", default=50, show_default=True)
def widgets_callbacks(widget_id: str, limit: int) -> None:
    """List a widget's callbacks, newest first (numbers masked)."""
    widget_or_usage_error(widget_id)
    query = (
        select(Callback)
        .where(Callback.widget_id == widget_id)
        .order_by(Callback.created_at.desc())
        .limit(limit)
    )
    for cb in db.session().scalars(query):
        click.echo(
            f"{cb.created_at:%Y-%m-%d %H:%M:%S}  {cb.id}  {mask(cb.visitor_number):18}  "
            f"{cb.status:15}  {cb.cause or ''}"
        )


@click.command("demo")
@with_appcontext
@click.option(
    "--origin",
    "origins",
    multiple=True,
    default=("http://127.0.0.1:5000", "http://localhost:5000"),
    show_default=True,
)
def demo_command(origins: tuple[str, ...]) -> None:
    """Create the demo account and widget (simulator provider) unless they exist."""
    session = db.session()
    account = session.scalars(select(Account).where(Account.name == DEMO_ACCOUNT)).first()
    if account is None:
        account = Account(name=DEMO_ACCOUNT)
        session.add(account)
        session.flush()
    widget = session.scalars(select(Widget).where(Widget.account_id == account.id)).first()
    if widget is None:
        widget = Widget(account_id=account.id, **_clean(_demo_properties(list(origins))))
        session.add(widget)
    else:
        # Served on another host or port than last time: the demo page must still work.
        missing = [origin for origin in origins if origin not in widget.allowed_origins]
        if missing:
            widget.allowed_origins = [*widget.allowed_origins, *missing]
    dashboard = current_app.config["PUBLIC_ORIGIN"] or origins[0]
    sign_in = users.demo_owner(session, account, dashboard)
    session.commit()
    click.echo(f"demo widget {widget.id}: {installs.snippet(widget.id, origins[0])}")
    for line in sign_in:
        click.echo(line)


def _demo_properties(origins: list[str]) -> dict[str, Any]:
    path = Path(__file__).parent / "presets" / "demo_widget.json"
    values: dict[str, Any] = json.loads(path.read_text())
    values["allowed_origins"] = origins
    return values


@click.command("worker")
@with_appcontext
@click.option("--workers", type=int, help="Worker threads (default: QUEUE_WORKERS).")
def worker_command(workers: int | None) -> None:
    """Run the job consumer (dial jobs, provider events, retries)."""
    db.require_current_schema(current_app)
    # A worker (re)starting after a crash settles what the crash left behind first; the
    # periodic pass repeats it every minute.
    try:
        jobs().reconcile()
    except Exception as exc:
        click.echo(f"reconciler pass skipped: {exc.__class__.__name__}", err=True)
    heap.freeze_startup_objects()
    jobs().consumer(workers).run()


@click.command("reconcile")
@with_appcontext
def reconcile_command() -> None:
    """Settle callbacks stuck after a crash (ask the provider; never dial an attempt twice)."""
    outcomes = jobs().reconcile()
    if not outcomes:
        click.echo("nothing stale")
    for outcome, count in sorted(outcomes.items()):
        click.echo(f"{outcome}: {count}")


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
def serve_command(host: str, port: int) -> None:
    """Serve the web app and run the job consumer in this one process (embedded default)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config["PUBLIC_ORIGIN"]:
        # Outside production without a public origin, the server is where it listens.
        name = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        settings.serve_at(app, f"http://{f'[{name}]' if ':' in name else name}:{port}")
    try:
        db.require_current_schema(app)
    except db.SchemaOutOfDate as exc:
        raise click.ClickException(str(exc)) from None
    consumer = jobs().consumer(in_process=True)
    heap.freeze_startup_objects()
    consumer.start()
    stopping = threading.Event()

    def stop(_signum: int, _frame: Any) -> None:
        if not stopping.is_set():
            stopping.set()
            consumer.stop(graceful=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    origin = settings.server_origin(app)
    click.echo(f"widget-server on {origin}/ (job consumer running in-process)")
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        if not stopping.is_set():
            consumer.stop(graceful=True)


@blocklist_cli.command("add")
@click.argument("kind", type=click.Choice(blocklist.KINDS))
@click.argument("value")
@click.option("--reason")
@click.option("--days", type=float, help="Expire after this many days (default: never).")
def blocklist_add(kind: str, value: str, reason: str | None, days: float | None) -> None:
    """Block a number (+E.164), a prefix (+digits), an address or network, or opt a number out."""
    expires = utcnow() + timedelta(days=days) if days else None
    session = db.session()
    try:
        entry = blocklist.add(session, kind, value, reason, expires)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    session.commit()
    click.echo(
        f"{entry.kind} {entry.value} blocked"
        + (f" until {expires:%Y-%m-%d %H:%M}Z" if expires else "")
    )


@blocklist_cli.command("remove")
@click.argument("kind", type=click.Choice(blocklist.KINDS))
@click.argument("value")
def blocklist_remove(kind: str, value: str) -> None:
    """Remove an entry."""
    session = db.session()
    try:
        removed = blocklist.remove(session, kind, value)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    session.commit()
    click.echo("removed" if removed else "no such entry")


@blocklist_cli.command("list")
def blocklist_list() -> None:
    """List entries (expired ones included, marked)."""
    now = utcnow()
    for entry in db.session().scalars(select(BlockedEntry).order_by(BlockedEntry.id)):
        state = "expired" if entry.expires_at and entry.expires_at <= now else "active"
        shown = mask(entry.value) if entry.kind in ("number", "optout") else entry.value
        click.echo(f"{entry.kind:7} {shown:20} {state:8} {entry.reason or ''}")


def init_app(app: Flask) -> None:
    for command in (
        db_cli,
        accounts_cli,
        widgets_cli,
        blocklist_cli,
        demo_command,
        worker_command,
        reconcile_command,
        serve_command,
    ):
        app.cli.add_command(command)
