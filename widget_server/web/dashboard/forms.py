"""The dashboard's own forms (Flask-WTF: each carries its CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField
from wtforms.validators import InputRequired, Length

from ...owners.people import MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH, ROLE_LABELS, Role
from ..forms import _BabelTranslations


class DashboardForm(FlaskForm):
    class Meta:
        def get_translations(self, form: object) -> _BabelTranslations:
            return _BabelTranslations()


class SignInForm(DashboardForm):
    email = EmailField(
        _l("Email"),
        validators=[InputRequired(_l("Enter your email address.")), Length(max=MAX_EMAIL_LENGTH)],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(_l("Enter your password.")), Length(max=MAX_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class ForgotForm(DashboardForm):
    email = EmailField(
        _l("Email"),
        validators=[InputRequired(_l("Enter your email address.")), Length(max=MAX_EMAIL_LENGTH)],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )


class NewPasswordForm(DashboardForm):
    password = PasswordField(
        _l("New password"),
        validators=[InputRequired(_l("Enter a password.")), Length(max=MAX_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[InputRequired(_l("Enter the password again."))],
        render_kw={"autocomplete": "new-password"},
    )

    def validate_confirm(self, field: PasswordField) -> None:
        from wtforms.validators import ValidationError

        if field.data != self.password.data:
            raise ValidationError(_l("The two passwords differ."))


def isolated(text: str | None) -> str:
    """Wrap an email (or any left-to-right token) for a translated sentence, so that in a
    right-to-left language its punctuation stays with it (Unicode first-strong isolate)."""
    return f"\u2068{text or ''}\u2069"


def role_choices() -> list[tuple[str, str]]:
    return [(role.value, str(ROLE_LABELS[role])) for role in (Role.VIEWER, Role.ADMIN, Role.OWNER)]


class InviteForm(DashboardForm):
    email = EmailField(
        _l("Email"),
        validators=[InputRequired(_l("Enter an email address.")), Length(max=MAX_EMAIL_LENGTH)],
        render_kw={"spellcheck": "false"},
    )
    role = SelectField(_l("Role"), choices=role_choices, default=Role.VIEWER.value)


class RoleForm(DashboardForm):
    role = SelectField(_l("Role"), choices=role_choices)
