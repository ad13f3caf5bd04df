"""The commands of a server whose settings do not load: `--help` works, running says why.

Without this, `flask --app widget_server <anything>` ends in a traceback when, say, the
secret key is unset; an operator then sees one line naming what to set.
"""

from __future__ import annotations

import copy
from typing import Any

import click
from flask import Flask


def running_a_command() -> bool:
    """Say whether the app is being built by the `flask` command line (not by a server)."""
    return click.get_current_context(silent=True) is not None


def commands_only(app: Flask, problem: Exception) -> Flask:
    """Give `app` every command, each refusing to run with `problem`'s one-line message."""
    from . import init_app

    init_app(app)
    for name, command in list(app.cli.commands.items()):
        app.cli.commands[name] = _refusing(command, str(problem))
    return app


def _refusing(command: click.Command, message: str) -> click.Command:
    # Copies: the command objects are module globals that configured apps keep using.
    refusing = copy.copy(command)
    if isinstance(command, click.Group):
        assert isinstance(refusing, click.Group)
        refusing.commands = {
            name: _refusing(sub, message) for name, sub in command.commands.items()
        }
        refusing.callback = None
        return refusing

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise click.ClickException(message)

    refusing.callback = refuse
    return refusing
