"""The widget a dashboard URL names, scoped by the signed-in member's account."""

from __future__ import annotations

from flask_babel import gettext

from ...core import db
from ...core.errors import NotFound
from ...core.models import Widget
from ...owners import admin
from ...owners.people import Role
from .access import current_member


def account_widget(widget_id: str) -> Widget:
    """The signed-in account's widget, or 404: another account's widget is not found either."""
    widget = admin.find_widget(db.session(), current_member().account_id, widget_id)
    if widget is None:
        raise NotFound(gettext("No such widget."))
    return widget


def can_edit() -> bool:
    return current_member().role.at_least(Role.ADMIN)
