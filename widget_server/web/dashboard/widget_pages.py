"""The dashboard's Widgets pages: the list, create, delete, the editor and its live preview.

Every change goes through the admin API's domain functions (`owners.admin`), so the
dashboard saves exactly what the API would and refuses it for the same reasons.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from ...core import db
from ...core.i18n import N_, SUPPORTED_LOCALES
from ...core.models import Widget
from ...owners import admin, widgets
from ...owners.people import Role
from ...owners.widget_list import widget_rows
from ..headers import BASE_POLICY
from . import nav, provider_pages, widget_forms  # noqa: F401 (provider_pages: its views)
from . import widget_editors as e
from .access import current_member, member_actor, require_role
from .blueprint import bp
from .reasons import translate_reason
from .widget_lookup import account_widget, can_edit
from .widget_preview import preview_query

nav.add(nav.NavItem("dashboard.widgets", N_("Widgets"), Role.VIEWER))

# The editor frames its own preview page; nothing else may frame either.
EDITOR_POLICY = f"{BASE_POLICY}; frame-src 'self'; frame-ancestors 'none'"


@bp.get("/widgets", endpoint="widgets")
@require_role(Role.VIEWER)
def widgets_list() -> Any:
    return _list_page()


def _list_page(errors: dict[str, str] | None = None, status: int = 200) -> Any:
    rows = widget_rows(db.session(), current_member().account_id)
    return (
        render_template(
            "dashboard/widgets.html",
            rows=rows,
            can_edit=can_edit(),
            errors=errors or {},
            entered=request.form if request.method == "POST" else {},
        ),
        status,
    )


@bp.post("/widgets")
@require_role(Role.ADMIN)
def create_widget() -> Any:
    values = {
        "name": request.form.get("name", "").strip(),
        "extension": request.form.get("extension", "").strip(),
    }
    try:
        widget = admin.create_widget(
            db.session(), current_member().account_id, values, member_actor()
        )
    except widgets.WidgetInvalid as exc:
        db.session().rollback()
        shown = {k: translate_reason(v) for k, v in exc.fields.items() if k in values}
        shown = shown or {
            "name": "; ".join(f"{k}: {translate_reason(v)}" for k, v in exc.fields.items())
        }
        return _list_page(shown, 400)
    flash(gettext("Widget %(name)s created.", name=widget.name))
    return redirect(url_for("dashboard.widget_editor", widget_id=widget.id), 303)


@bp.get("/widgets/<widget_id>/delete")
@require_role(Role.ADMIN)
def confirm_delete(widget_id: str) -> Any:
    return render_template("dashboard/widget_delete.html", widget=account_widget(widget_id))


@bp.post("/widgets/<widget_id>/delete")
@require_role(Role.ADMIN)
def delete_widget(widget_id: str) -> Any:
    widget = account_widget(widget_id)
    name = widget.name
    admin.delete_widget(db.session(), widget, member_actor())
    flash(gettext("Widget %(name)s deleted.", name=name))
    return redirect(url_for("dashboard.widgets"), 303)


@bp.get("/widgets/<widget_id>")
@require_role(Role.VIEWER)
def widget_editor(widget_id: str) -> Any:
    widget = account_widget(widget_id)
    edit = widget_forms.editing(widget, current_app.config)
    return _editor_page(widget, edit, preview_query(edit, widget))


@bp.post("/widgets/<widget_id>")
@require_role(Role.ADMIN)
def save_widget(widget_id: str) -> Any:
    widget = account_widget(widget_id)
    edit = widget_forms.editing(widget, current_app.config, request.form)
    values = widget_forms.submitted_values(edit, request.form, widget)
    action = request.form.get("action", "save")
    if values is None:
        return _editor_page(widget, edit, preview_query(edit, widget), 400)
    # Without JavaScript: show the entered look, or the rows added or moved; save nothing.
    if action == "preview" or edit.focus:
        return _editor_page(widget, edit, preview_query(edit, widget))
    try:
        admin.update_widget(db.session(), widget, values, replace=False, actor=member_actor())
    except widgets.WidgetInvalid as exc:
        db.session().rollback()
        widget_forms.place_errors(edit, exc.fields)
        return _editor_page(account_widget(widget_id), edit, preview_query(edit, widget), 400)
    if action == e.OriginsEditor.ADD:
        flash(gettext("Origin added and changes saved."))
    elif request.form.get(e.OriginsEditor.REMOVE):
        flash(gettext("Origin removed and changes saved."))
    else:
        flash(gettext("Changes saved."))
    return redirect(url_for("dashboard.widget_editor", widget_id=widget.id), 303)


def _editor_page(
    widget: Widget, edit: widget_forms.Editing, preview: dict[str, str], status: int = 200
) -> Response:
    for name, reason in edit.errors.items():
        if name in edit.form:
            edit.form[name].errors = [reason]
    if edit.focus in edit.form:  # the row just added or moved, where the keyboard was
        field = edit.form[edit.focus]
        field.render_kw = {**(field.render_kw or {}), "autofocus": True}
    html = render_template(
        "dashboard/widget_editor.html",
        widget=widget,
        edit=edit,
        can_edit=can_edit(),
        preview_url=url_for("dashboard.widget_preview", widget_id=widget.id)
        + "?"
        + urlencode(preview),
        languages=[(code, e.TextsEditor.language_name(code)) for code in SUPPORTED_LOCALES],
        masked=widget_forms.MASKED,
        masked_text=widget_forms.masked_text,
        sep=e.SEP,
    )
    response = Response(html, status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = EDITOR_POLICY
    return response
