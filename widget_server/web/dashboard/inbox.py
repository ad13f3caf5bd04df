"""The dashboard's callbacks inbox: the list, its CSV, its live changes, one callback's page.

Views parse the query string or the form, call one function of `owners.inbox` or
`owners.callback_actions`, and shape the page. Every callback is looked up within the
member's account: another account's id answers 404 like an unknown one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime
from flask import (
    Response,
    current_app,
    flash,
    get_template_attribute,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale, gettext
from sqlalchemy import select

from ...core import clock, db
from ...core.errors import NotFound
from ...core.i18n import N_
from ...core.models import Callback, Widget
from ...core.statuses import NOT_YET_DIALING, TERMINAL, Status, is_silenced
from ...jobs import jobs
from ...owners import callback_actions as actions
from ...owners import inbox, inbox_export
from ...owners.callback_view import (
    STATUS_NAMES,
    cause_name,
    page_path,
    redacted,
    shown_number,
    status_name,
    timeline,
)
from ...owners.people import Role
from . import nav
from .access import Member, current_member, require_role
from .blueprint import bp

FILTERS = ("status", "widget", "from", "to", "number")
POLL_SECONDS = 5

nav.add(nav.NavItem("dashboard.callbacks", N_("Callbacks"), Role.VIEWER))


def _masked(member: Member) -> bool:
    # A viewer reads the inbox but never sees a whole visitor number.
    return not member.role.at_least(Role.ADMIN)


def _widgets(account_id: str) -> list[Widget]:
    return list(
        db.session().scalars(
            select(Widget).where(Widget.account_id == account_id).order_by(Widget.name)
        )
    )


def _zone(widget: Widget) -> ZoneInfo:
    try:
        return ZoneInfo(widget.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _when(moment: datetime | None, widget: Widget) -> dict[str, str] | None:
    """A time for `<time datetime>`: machine-readable UTC, shown in the widget's zone."""
    if moment is None:
        return None
    zone = _zone(widget)
    return {
        "iso": inbox.changes_cursor(moment),
        "text": format_datetime(moment, "medium", tzinfo=zone, locale=str(get_locale())),
        "zone": str(zone),
    }


def row_view(callback: Callback, masked: bool) -> dict[str, Any]:
    """What one row of the inbox shows of a callback."""
    widget = callback.widget
    silenced = is_silenced(callback.status, callback.cause)
    return {
        "id": callback.id,
        "number": shown_number(callback, masked),
        "erased": not callback.visitor_number,
        "name": callback.visitor_name or "",
        "widget": widget.name,
        "status": callback.status,
        "status_label": status_name(callback.status),
        "cause_label": cause_name(callback.cause) if callback.status in TERMINAL else None,
        "silenced": silenced,
        "created": _when(callback.created_at, widget),
        "finished": _when(callback.finished_at, widget),
        "path": page_path(callback.page_url),
        "utm_source": (callback.utm or {}).get("utm_source") or "",
        "handled": callback.handled_at is not None,
    }


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
    widgets = _widgets(member.account_id)
    since = inbox.changes_cursor(clock.now())
    wanted, errors = _read_filter(widgets)
    cursor, stale = _read_cursor()
    found = (
        inbox.page(db.session(), member.account_id, wanted, cursor)
        if not errors
        else inbox.InboxPage([], None, None)
    )
    masked = _masked(member)
    args = _filter_args()
    html = render_template(
        "dashboard/callbacks.html",
        rows=[row_view(callback, masked) for callback in found.callbacks],
        widgets=widgets,
        statuses=[(status.value, str(STATUS_NAMES[status])) for status in Status],
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
    wanted, errors = _read_filter(_widgets(member.account_id))
    if errors:
        for field, reason in errors.items():
            flash(f"{field}: {reason}")
        return redirect(url_for("dashboard.callbacks", **_filter_args()))
    masked = _masked(member)

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
    wanted, errors = _read_filter(_widgets(member.account_id))
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
    masked = _masked(member)
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


# One callback


def _callback_or_404(callback_id: str) -> Callback:
    found = inbox.find(db.session(), current_member().account_id, callback_id)
    if found is None:
        raise NotFound(gettext("No such callback."))
    return found


def _detail(callback: Callback, status: int = 200, **errors: str) -> Any:
    member = current_member()
    masked = _masked(member)
    can_act = member.role.at_least(Role.ADMIN)
    widget = callback.widget
    entries = [
        {**entry.__dict__, "when": _when(entry.at, widget)}
        for entry in timeline(db.session(), callback)
    ]
    utm = {key: value for key, value in sorted((callback.utm or {}).items()) if value}
    html = render_template(
        "dashboard/callbacks_detail.html",
        callback=callback,
        row=row_view(callback, masked),
        entries=entries,
        provider_details=_flatten(redacted(callback.provider_details or {})),
        utm=utm,
        handled=_when(callback.handled_at, widget),
        scheduled=_when(callback.scheduled_for, widget),
        can_act=can_act,
        can_call_back=can_act
        and bool(callback.visitor_number)
        and callback.status not in (Status.QUEUED,)
        and (callback.status in TERMINAL or callback.status in NOT_YET_DIALING),
        can_cancel=can_act
        and callback.status in NOT_YET_DIALING
        and not is_silenced(callback.status, callback.cause),
        errors=errors,
        note_limit=actions.MAX_NOTE,
        note_text=request.form.get("note", "") if errors.get("note") else "",
    )
    return html, status


def _flatten(details: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A provider's answer as (path, value) pairs, for a definition list."""
    if isinstance(details, dict):
        pairs: list[tuple[str, str]] = []
        for key, value in details.items():
            pairs += _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return pairs
    if isinstance(details, list):
        pairs = []
        for index, value in enumerate(details):
            pairs += _flatten(value, f"{prefix}[{index}]")
        return pairs
    return [(prefix, "" if details is None else str(details))]


@bp.route("/callbacks/<callback_id>")
@require_role(Role.VIEWER)
def callback_detail(callback_id: str) -> Any:
    return _detail(_callback_or_404(callback_id))


def _done(callback: Callback, message: str) -> Any:
    flash(message)
    return redirect(url_for("dashboard.callback_detail", callback_id=callback.id), code=303)


@bp.route("/callbacks/<callback_id>/call-back", methods=["POST"])
@require_role(Role.ADMIN)
def callback_call_back(callback_id: str) -> Any:
    callback = _callback_or_404(callback_id)
    try:
        actions.call_back_now(db.session(), callback, jobs(), current_app.config["LEASE_SECONDS"])
    except actions.ActionRefused as refused:
        return _detail(_callback_or_404(callback_id), 409, call_back=refused.message)
    return _done(callback, gettext("Calling back now: the call is on its way."))


@bp.route("/callbacks/<callback_id>/cancel", methods=["POST"])
@require_role(Role.ADMIN)
def callback_cancel(callback_id: str) -> Any:
    callback = _callback_or_404(callback_id)
    try:
        actions.cancel(db.session(), callback, clock.now())
    except actions.ActionRefused as refused:
        return _detail(_callback_or_404(callback_id), 409, cancel=refused.message)
    return _done(callback, gettext("The callback was canceled."))


@bp.route("/callbacks/<callback_id>/handled", methods=["POST"])
@require_role(Role.ADMIN)
def callback_handled(callback_id: str) -> Any:
    callback = _callback_or_404(callback_id)
    handled = request.form.get("handled", "1") != "0"
    actions.mark_handled(db.session(), callback, current_member().email, handled)
    message = gettext("Marked as handled.") if handled else gettext("No longer marked as handled.")
    return _done(callback, message)


@bp.route("/callbacks/<callback_id>/notes", methods=["POST"])
@require_role(Role.ADMIN)
def callback_note(callback_id: str) -> Any:
    callback = _callback_or_404(callback_id)
    member = current_member()
    try:
        actions.add_note(
            db.session(), callback, member.user_id, member.email, request.form.get("note", "")
        )
    except actions.ActionRefused as refused:
        return _detail(callback, 422, note=refused.message)
    return _done(callback, gettext("Note added."))
