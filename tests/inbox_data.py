"""Callbacks stored straight in the database for the inbox tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from widget_server.core import db
from widget_server.core.models import Callback, Widget
from widget_server.intake.number_hash import number_hash

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def widget_of_account(app: Flask, account_id: str, **properties: Any) -> str:
    """Store a simulator widget in `account_id`; return its id."""
    values: dict[str, Any] = {
        "name": "Sales",
        "extension": "1001",
        "default_region": "US",
        "provider_settings": {"step_delay": 0, "talk_time": 0},
        "auth_required": False,
    }
    values.update(properties)
    with app.app_context():
        session = db.session()
        widget = Widget(account_id=account_id, **values)
        session.add(widget)
        session.commit()
        return widget.id


def store_callback(
    app: Flask,
    widget_id: str,
    number: str = "+12015550123",
    minutes: float = 0,
    **fields: Any,
) -> str:
    """Store a callback created `minutes` after T0; return its id."""
    created = T0 + timedelta(minutes=minutes)
    values: dict[str, Any] = {
        "widget_id": widget_id,
        "visitor_number": number,
        "status": "completed",
        "created_at": created,
        "updated_at": created,
    }
    values.update(fields)
    with app.app_context():
        session = db.session()
        callback = Callback(**values)
        if callback.visitor_number:
            callback.number_hash = number_hash(callback.visitor_number)
        session.add(callback)
        session.commit()
        return callback.id
