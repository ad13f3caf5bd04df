"""The forms of the second factor: a code at sign-in and at setup, the identity check before
a change, and the owner's switch that requires it in the account."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import InputRequired, Length

from ...owners.people import MAX_PASSWORD_LENGTH
from ...owners.two_factor import MAX_ENTRY_LENGTH
from .forms import DashboardForm


class CodeForm(DashboardForm):
    """A code from the authenticator app, or (at sign-in) a recovery code."""

    code = StringField(
        _l("Code"),
        validators=[
            InputRequired(_l("Enter the code from your app.")),
            Length(max=MAX_ENTRY_LENGTH),
        ],
        render_kw={
            "autocomplete": "one-time-code",
            "spellcheck": "false",
            "autocapitalize": "off",
            "dir": "ltr",
        },
    )


class IdentityForm(DashboardForm):
    """Your password, or a current code: asked again before the second factor changes."""

    proof = PasswordField(
        _l("Your password, or a code from your app"),
        validators=[
            InputRequired(_l("Enter your password or a code.")),
            Length(max=MAX_PASSWORD_LENGTH),
        ],
        render_kw={"autocomplete": "current-password"},
    )


class PasswordCheckForm(IdentityForm):
    """Your password: asked before a setup begins (no code exists yet)."""

    proof = PasswordField(
        _l("Your password"),
        validators=[InputRequired(_l("Enter your password.")), Length(max=MAX_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )


class RequireSecondFactorForm(DashboardForm):
    required = BooleanField(_l("Require a second factor of every member"))
