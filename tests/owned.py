"""Widgets stored in a given account, for the dashboard pages of a signed-in member."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.helpers import ORIGIN, SERVER
from widget_server.core import db
from widget_server.core.models import Widget
from widget_server.owners.widgets import clean


def account_widget(app: Flask, account_id: str, **properties: Any) -> str:
    """Store a widget in `account_id`; return its id."""
    values = {
        "name": "Sales",
        "extension": "1001",
        "allowed_origins": [ORIGIN, SERVER],
        "provider_settings": {"step_delay": 0, "talk_time": 0},
        "auth_required": False,
        **properties,
    }
    with app.app_context():
        session = db.session()
        widget = Widget(account_id=account_id, **clean(values))
        session.add(widget)
        session.commit()
        return widget.id


def stored_widget(app: Flask, widget_id: str) -> Widget:
    with app.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None
        return widget
