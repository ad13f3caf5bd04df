"""The audit log page (owners and admins): the account's entries, filtered, newest first.

Read only: the page has no control that changes an entry, and no route of the dashboard
or the API changes one; entries are written only by the actions they record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response, render_template, request, stream_with_context, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ...core import clock, db
from ...core.i18n import N_
from ...owners import audit, audit_log
from ...owners.people import Role
from . import nav
from .access import current_member, member_actor, require_role
from .blueprint import bp

nav.add(nav.NavItem("dashboard.audit", N_("Audit log"), Role.ADMIN))

FILTERS = ("action", "person", "from", "to")

ACTION_LABELS = {
    audit.SIGN_IN: _l("Signed in"),
    audit.SIGN_IN_FAILED: _l("Sign-in failed"),
    audit.WIDGET_CREATED: _l("Widget created"),
    audit.WIDGET_CHANGED: _l("Widget changed"),
    audit.WIDGET_DELETED: _l("Widget deleted"),
    audit.PROVIDER_SETTINGS_REPLACED: _l("Provider settings replaced"),
    audit.KEY_CREATED: _l("API key created"),
    audit.KEY_REVOKED: _l("API key revoked"),
    audit.MEMBER_INVITED: _l("Member invited"),
    audit.MEMBER_REMOVED: _l("Member removed"),
    audit.ROLE_CHANGED: _l("Role changed"),
    audit.CALLBACKS_EXPORTED: _l("Callbacks exported"),
    audit.CALLBACK_CALLED_BACK: _l("Called back"),
    audit.CALLBACK_CANCELED: _l("Callback canceled"),
    audit.CALLBACK_HANDLED: _l("Marked as handled"),
    audit.CALLBACK_UNHANDLED: _l("Handled mark cleared"),
    audit.NOTE_ADDED: _l("Note added"),
    audit.WEBHOOK_CHANGED: _l("Webhook changed"),
    audit.WEBHOOK_CLEARED: _l("Webhook turned off"),
    audit.WEBHOOK_TEST_SENT: _l("Webhook test sent"),
    audit.AUDIT_EXPORTED: _l("Audit log exported"),
    audit.NUMBER_ERASED: _l("Number erased"),
    audit.SECOND_FACTOR_ON: _l("Second factor turned on"),
    audit.SECOND_FACTOR_OFF: _l("Second factor turned off"),
    audit.RECOVERY_CODES_RENEWED: _l("New recovery codes made"),
    audit.SECOND_FACTOR_REQUIREMENT: _l("Second factor requirement changed"),
}
OBJECT_LABELS = {
    "widget": _l("Widget"),
    "callback": _l("Callback"),
    "api_key": _l("API key"),
    "user": _l("Member"),
    "invitation": _l("Invitation"),
}

# The names an entry's details use, as the page shows them; values stay as stored (property
# and setting names are the API's own).
DETAIL_LABELS = {
    "fields": _l("Changed fields"),
    "settings": _l("Settings"),
    "provider": _l("Provider"),
    "role": _l("Role"),
    "name": _l("Name"),
    "key": _l("Key"),
    "email": _l("Email"),
    "from": _l("From"),
    "to": _l("To"),
    "status": _l("Status before"),
    "characters": _l("Characters"),
    "filter": _l("Filter"),
    "format": _l("Format"),
    "numbers_masked": _l("Numbers masked"),
    "number": _l("Number"),
    "callbacks": _l("Callbacks"),
    "step": _l("Step"),
    "required": _l("Required"),
}


def _filter_args() -> dict[str, Any]:
    return {name: request.args[name] for name in FILTERS if request.args.get(name)}


def _read_filter(actors: list[str]) -> tuple[audit_log.AuditFilter, dict[str, str]]:
    try:
        return audit_log.parse_filter(request.args, actors), {}
    except audit_log.FilterInvalid as exc:
        return audit_log.AuditFilter(), exc.fields


def shown_details(details: dict[str, Any]) -> list[tuple[str, str]]:
    """Flatten an entry's details into (label, text) pairs for the page."""
    pairs = []
    for name, value in sorted(details.items()):
        if isinstance(value, dict):
            text = ", ".join(f"{k}={v}" for k, v in sorted(value.items())) or "—"
        elif isinstance(value, list):
            text = ", ".join(str(item) for item in value) or "—"
        elif isinstance(value, bool):
            text = gettext("Yes") if value else gettext("No")
        else:
            text = str(value)
        pairs.append((str(DETAIL_LABELS.get(name, name)), text))
    return pairs


@bp.get("/audit", endpoint="audit")
@require_role(Role.ADMIN)
def audit_page() -> Any:
    member = current_member()
    store = db.session()
    actors = audit_log.actors(store, member.account_id)
    wanted, errors = _read_filter(actors)
    before = audit_log.read_before(request.args.get("before"))
    found = audit_log.page(store, member.account_id, wanted, None if errors else before)
    args = _filter_args()
    html = render_template(
        "dashboard/audit.html",
        page=found if not errors else audit_log.AuditPage([], None),
        args=args,
        errors=errors,
        actors=actors,
        actions=[(action, ACTION_LABELS[action]) for action in audit.ACTIONS],
        action_labels=ACTION_LABELS,
        object_labels=OBJECT_LABELS,
        shown_details=shown_details,
        first_page=before is None,
        export_url=url_for("dashboard.audit_export", **args),
        filtered=bool(args),
    )
    return html, 400 if errors else 200


@bp.get("/audit/export.csv")
@require_role(Role.ADMIN)
def audit_export() -> Any:
    member = current_member()
    store = db.session()
    wanted, errors = _read_filter(audit_log.actors(store, member.account_id))
    if errors:
        return audit_page()
    # Who took a copy of the log is itself worth knowing.
    audit.record(store, member_actor(), audit.AUDIT_EXPORTED, details={"filter": _filter_args()})
    store.commit()

    def lines() -> Iterator[str]:
        try:
            yield from audit_log.export(db.session(), member.account_id, wanted)
        finally:
            db.session().rollback()  # end the read at once (SQLite holds writers off)

    response = Response(stream_with_context(lines()), mimetype="text/csv")
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
