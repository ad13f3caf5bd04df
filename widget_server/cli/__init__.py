"""Operator commands (`flask --app widget_server ...`): one module per command family."""

from __future__ import annotations

from flask import Flask

from . import commands, keys, owner, unconfigured, users


def init_app(app: Flask) -> None:
    commands.init_app(app)
    keys.init_app(app)
    owner.init_app(app)
    users.init_app(app)


__all__ = ["init_app", "unconfigured"]
