"""The install page: the snippet to paste, where the widget loads, and origins to allow."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import InputRequired

from ...core import db
from ...core.errors import NotFound
from ...core.i18n import N_
from ...core.models import Widget
from ...owners import admin
from ...owners import installs as installations
from ...owners.people import Role
from ...owners.widgets import WidgetInvalid
from ..request_origin import own_origin
from . import nav
from .access import current_member, require_role
from .blueprint import bp
from .reasons import translate_reason

nav.add(nav.NavItem("dashboard.installs", N_("Install"), Role.VIEWER))


class AllowOriginForm(FlaskForm):
    origin = HiddenField(validators=[InputRequired()])


def member_widget(widget_id: str) -> Widget:
    """Return the signed-in member's widget; any other account's widget is not found."""
    widget = admin.find_widget(db.session(), current_member().account_id, widget_id)
    if widget is None:
        raise NotFound(gettext("No such widget."))
    return widget


@bp.get("/install")
@require_role(Role.VIEWER)
def installs() -> ResponseReturnValue:
    """The account's widgets, each with its install and webhook pages."""
    widgets = admin.account_widgets(db.session(), current_member().account_id)
    return render_template("dashboard/install_index.html", widgets=widgets)


def _page(widget: Widget, status: int = 200, problem: str | None = None) -> ResponseReturnValue:
    member = current_member()
    return (
        render_template(
            "dashboard/install.html",
            widget=widget,
            snippet=installations.snippet(widget.id, own_origin()),
            installation=installations.installation(db.session(), widget),
            can_change=member.role.at_least(Role.ADMIN),
            allow_form=AllowOriginForm(formdata=None),
            problem=problem,
        ),
        status,
    )


@bp.get("/widgets/<widget_id>/install")
@require_role(Role.VIEWER)
def widget_install(widget_id: str) -> ResponseReturnValue:
    return _page(member_widget(widget_id))


@bp.post("/widgets/<widget_id>/install/allow")
@require_role(Role.ADMIN)
def allow_origin(widget_id: str) -> ResponseReturnValue:
    widget = member_widget(widget_id)
    form = AllowOriginForm()
    if not form.validate():
        return _page(widget, 400, gettext("Choose an origin to allow."))
    try:
        origin = installations.allow_origin(db.session(), widget, form.origin.data)
    except WidgetInvalid as exc:
        db.session().rollback()
        found = exc.fields.get("allowed_origins")
        reason = (
            translate_reason(found)
            if found
            else "; ".join(translate_reason(why) for why in exc.fields.values())
        )
        return _page(
            widget, 400, gettext("This origin cannot be allowed: %(reason)s", reason=reason)
        )
    flash(gettext("%(origin)s is now allowed to show this widget.", origin=origin))
    return redirect(url_for("dashboard.widget_install", widget_id=widget.id))
