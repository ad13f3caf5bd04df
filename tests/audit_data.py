"""Reading the audit log in tests: every stored entry, and checks that none holds a secret."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from sqlalchemy import select

from widget_server.core import db
from widget_server.core.models import AuditEntry


def entries(app: Flask, account_id: str | None = None, action: str | None = None) -> list[Any]:
    """Return the stored entries (all accounts unless one is named), oldest first."""
    with app.app_context():
        query = select(AuditEntry).order_by(AuditEntry.id)
        found = list(db.session().scalars(query))
        db.session().expunge_all()
    return [
        entry
        for entry in found
        if (account_id is None or entry.account_id == account_id)
        and (action is None or entry.action == action)
    ]


def actions(app: Flask, account_id: str | None = None) -> list[str]:
    return [entry.action for entry in entries(app, account_id)]


def stored_text(app: Flask) -> str:
    """Every column of every entry as one text, to search for what must never be there."""
    return json.dumps(
        [
            [e.account_id, e.action, e.actor, e.user_id, e.api_key_id, e.address]
            + [e.object_type, e.object_id, e.details]
            for e in entries(app)
        ],
        default=str,
        ensure_ascii=False,
    )
