"""The dashboard's first page: what the account has, at a glance."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import render_template
from sqlalchemy import func, select

from ...core import clock, db
from ...core.i18n import N_
from ...core.models import Callback, Widget
from ...owners.people import Role
from . import nav
from .access import current_member, require_role
from .blueprint import bp

RECENT = timedelta(days=7)

nav.add(nav.NavItem("dashboard.overview", N_("Overview"), Role.VIEWER))


@bp.route("/")
@require_role(Role.VIEWER)
def overview() -> Any:
    account_id = current_member().account_id
    store = db.session()
    widgets = store.scalar(
        select(func.count()).select_from(Widget).where(Widget.account_id == account_id)
    )
    recent = store.scalar(
        select(func.count())
        .select_from(Callback)
        .join(Widget, Widget.id == Callback.widget_id)
        .where(Widget.account_id == account_id, Callback.created_at >= clock.now() - RECENT)
    )
    return render_template(
        "dashboard/overview.html", widgets=widgets or 0, recent_callbacks=recent or 0
    )
