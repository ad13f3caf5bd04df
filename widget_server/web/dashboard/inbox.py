"""The dashboard's callbacks inbox: the list, its CSV export and its live changes.

Views parse the query string, call one function of `owners.inbox`, and shape the page.
Every query is scoped to the member's account; one callback's page and its actions are
in `callback_page`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import (
    Response,
    flash,
    get_template_attribute,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext

from ...core import clock, db
from ...core.i18n import N_
from ...core.models import Widget
from ...core.statuses import Status
from ...owners import audit, inbox, inbox_export
from ...owners.callback_view import status_name
from ...owners.people import Role
from . import (
    callback_page,  # noqa: F401  (one callback's page and its actions)
    nav,
)
from .access import current_member, member_actor, require_role
from .blueprint import bp
from .inbox_rows import account_widgets, masked_for, row_view

FILTERS = ("status", "widget", "from", "to", "number")
POLL_SECONDS = 5

nav.add(nav.NavItem("dashboard.callbacks", N_("Callbacks"), Role.VIEWER))


def _filter_args() -> dict[str, Any]:
    return {name: request.args[name] for name in FILTERS if request.args.get(name)}


def _read_filter(widgets: list[Widget]) -> tuple[inbox.InboxFilter, dict[str, str]]:
    try:
        return inbox.parse_filter(request.args, widgets), {}
    except inbox.FilterInvalid as exc:
        return inbox.InboxFilter(), exc.fields


def _read_cursor() -> tuple[inbox.Cursor | None, str | None]:
    for name, backwards in (("after", False), ("before", True)):
        value = request.args.get(name)
        if value:
            try:
                return inbox.Cursor.decode(value, backwards), None
            except ValueError:
                return None, gettext("That page link is out of date; here is the first page.")
    return None, None


@bp.route("/callbacks")
@require_role(Role.VIEWER)
def callbacks() -> Any:
    member = current_member()
    widgets = account_widgets(member.account_id)
    since = inbox.changes_cursor(clock.now())
    wanted, errors = _read_filter(widgets)
    cursor, stale = _read_cursor()
    found = (
        inbox.page(db.session(), member.account_id, wanted, cursor)
        if not errors
        else inbox.InboxPage([], None, None)
    )
    masked = masked_for(member)
    args = _filter_args()
    html = render_template(
        "dashboard/callbacks.html",
        rows=[row_view(callback, masked) for callback in found.callbacks],
        widget_choices=[(widget.id, widget.name) for widget in widgets],
        statuses=[(status.value, status_name(status)) for status in Status],
        args=args,
        errors=errors,
        stale=stale,
        first_page=cursor is None or (cursor.backwards and found.newer is None),
        newer_url=url_for("dashboard.callbacks", before=found.newer, **args)
        if found.newer
        else None,
        older_url=url_for("dashboard.callbacks", after=found.older, **args)
        if found.older
        else None,
        export_url=url_for("dashboard.callbacks_export", **args),
        changes_url=url_for("dashboard.callbacks_changes", **args),
        refresh_url=url_for("dashboard.callbacks", **args),
        since=since,
        poll_seconds=POLL_SECONDS,
        filtered=bool(args),
    )
    return html, 400 if errors else 200


@bp.route("/callbacks/export.csv")
@require_role(Role.VIEWER)
def callbacks_export() -> Any:
    member = current_member()
    wanted, errors = _read_filter(account_widgets(member.account_id))
    if errors:
        for field, reason in errors.items():
            flash(f"{field}: {reason}")
        return redirect(url_for("dashboard.callbacks", **_filter_args()))
    masked = masked_for(member)
    audit.record(
        db.session(),
        member_actor(),
        audit.CALLBACKS_EXPORTED,
        details=inbox_export.described(wanted, masked),
    )
    db.session().commit()

    def lines() -> Iterator[str]:
        store = db.session()
        try:
            yield from inbox_export.stream(store, member.account_id, wanted, masked)
        finally:
            # End the read at once: on SQLite an open read would hold writers off until
            # the server gets round to closing the response.
            store.rollback()

    response = Response(stream_with_context(lines()), mimetype="text/csv")
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    response.headers["Content-Disposition"] = f'attachment; filename="callbacks-{stamp}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/callbacks/changes")
@require_role(Role.VIEWER)
def callbacks_changes() -> Any:
    """What changed since `since` (a cursor from the page or the previous answer), as JSON."""
    member = current_member()
    wanted, errors = _read_filter(account_widgets(member.account_id))
    now = clock.now()
    raw_since = request.args.get("since") or ""
    try:
        since = inbox.read_since(raw_since) if raw_since else inbox.Since(now)
    except ValueError:
        errors["since"] = gettext("Pass the cursor of the page or of the previous answer.")
    if errors:
        body = {
            "error": "invalid",
            "message": gettext("Some fields are not valid."),
            "fields": errors,
        }
        return Response(json.dumps(body), status=400, mimetype="application/json")
    found = inbox.changes(db.session(), member.account_id, wanted, since, now)
    render_row = get_template_attribute("dashboard/callbacks_rows.html", "row")
    masked = masked_for(member)
    rows = []
    for callback in found.callbacks:
        view = row_view(callback, masked)
        rows.append(
            {
                "id": callback.id,
                "status": callback.status,
                "created_at": view["created"]["iso"],
                "announce": _announcement(view),
                "html": str(render_row(view)),
            }
        )
    response = Response(
        json.dumps({"cursor": found.cursor, "callbacks": rows}), mimetype="application/json"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _announcement(view: dict[str, Any]) -> str:
    who = view["name"] or view["number"] or gettext("a visitor")
    return gettext("Callback from %(who)s: %(status)s", who=who, status=view["status_label"])
