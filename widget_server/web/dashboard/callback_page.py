"""One callback in the dashboard: its page (timeline, provider outcome) and its actions.

Each action is a POST form (CSRF-checked by the blueprint) for admins and owners; it
calls one function of `owners.callback_actions`, then flashes and redirects, or shows
the refusal in its form. Another account's callback answers 404 like an unknown one.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from ...core import clock, db
from ...core.errors import NotFound
from ...core.models import Callback
from ...core.statuses import NOT_YET_DIALING, TERMINAL, Status, is_silenced
from ...jobs import jobs
from ...owners import callback_actions as actions
from ...owners import inbox
from ...owners.callback_view import redacted, timeline
from ...owners.people import Role
from .access import current_member, member_actor, require_role
from .blueprint import bp
from .inbox_rows import masked_for, row_view, when


def _callback_or_404(callback_id: str) -> Callback:
    found = inbox.find(db.session(), current_member().account_id, callback_id)
    if found is None:
        raise NotFound(gettext("No such callback."))
    return found


def _detail(callback: Callback, status: int = 200, **errors: str) -> Any:
    member = current_member()
    masked = masked_for(member)
    can_act = member.role.at_least(Role.ADMIN)
    widget = callback.widget
    entries = [
        {**entry.__dict__, "when": when(entry.at, widget)}
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
        handled=when(callback.handled_at, widget),
        scheduled=when(callback.scheduled_for, widget),
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
        actions.call_back_now(
            db.session(),
            callback,
            jobs(),
            current_app.config["LEASE_SECONDS"],
            member_actor(),
        )
    except actions.ActionRefused as refused:
        return _detail(_callback_or_404(callback_id), 409, call_back=refused.message)
    return _done(callback, gettext("Calling back now: the call is on its way."))


@bp.route("/callbacks/<callback_id>/cancel", methods=["POST"])
@require_role(Role.ADMIN)
def callback_cancel(callback_id: str) -> Any:
    callback = _callback_or_404(callback_id)
    try:
        actions.cancel(db.session(), callback, clock.now(), member_actor())
    except actions.ActionRefused as refused:
        return _detail(_callback_or_404(callback_id), 409, cancel=refused.message)
    return _done(callback, gettext("The callback was canceled."))


@bp.route("/callbacks/<callback_id>/handled", methods=["POST"])
@require_role(Role.ADMIN)
def callback_handled(callback_id: str) -> Any:
    callback = _callback_or_404(callback_id)
    handled = request.form.get("handled", "1") != "0"
    actions.mark_handled(db.session(), callback, current_member().email, handled, member_actor())
    message = gettext("Marked as handled.") if handled else gettext("No longer marked as handled.")
    return _done(callback, message)


@bp.route("/callbacks/<callback_id>/notes", methods=["POST"])
@require_role(Role.ADMIN)
def callback_note(callback_id: str) -> Any:
    callback = _callback_or_404(callback_id)
    member = current_member()
    try:
        actions.add_note(
            db.session(),
            callback,
            member.user_id,
            member.email,
            request.form.get("note", ""),
            member_actor(),
        )
    except actions.ActionRefused as refused:
        return _detail(callback, 422, note=refused.message)
    return _done(callback, gettext("Note added."))
