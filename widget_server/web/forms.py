"""The visitor's form (WTForms): rendered server-side, works without JavaScript."""

from __future__ import annotations

from flask_babel import get_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, Field, Form, HiddenField, SelectField, StringField, TelField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from ..calls.routing import department_choices
from ..core.i18n import N_
from ..core.models import Widget
from ..core.text import has_control
from ..intake.payloads import limit
from ..intake.phone_policy import MAX_INPUT_LENGTH, region_choices
from ..owners.texts import text

# WTForms' own messages that a visitor can meet, so the catalogues carry them too.
WTFORMS_MESSAGES = (N_("Not a valid choice."),)


class _BabelTranslations:
    """WTForms asks its meta for translations: answer with the request's catalogue."""

    def gettext(self, string: str) -> str:
        return gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return ngettext(singular, plural, n)


TOO_LONG = _l("Use at most %(max)d characters.")


def no_control(form: Form, field: Field) -> None:
    """Refuse control characters, as the callback request does (core.text says why)."""
    if field.data and has_control(field.data):
        raise ValidationError(_l("Remove the special characters."))


class CallbackForm(Form):
    class Meta:
        def get_translations(self, form: Form) -> _BabelTranslations:
            return _BabelTranslations()

    phone = TelField(
        _l("Your phone number"),
        validators=[
            InputRequired(_l("Enter your phone number.")),
            Length(max=MAX_INPUT_LENGTH, message=TOO_LONG),
        ],
        render_kw={"inputmode": "tel", "autocomplete": "tel", "required": True},
    )
    region = SelectField(_l("Country"), validate_choice=True)
    # Only on widgets with departments (build_form removes it otherwise); names are the owner's.
    department = SelectField(_l("What is your call about?"), validate_choice=True)
    name = StringField(
        _l("Your name (optional)"),
        validators=[
            Optional(),
            Length(max=limit("name"), message=TOO_LONG),
            no_control,
        ],
        render_kw={"autocomplete": "name"},
    )
    consent = BooleanField(_l("I agree to be called back about my request."))
    # Honeypot: hidden from people (CSS, aria-hidden, no tab stop), filled by naive bots.
    website = StringField(
        _l("Leave this empty"), render_kw={"tabindex": "-1", "autocomplete": "off"}
    )
    token = HiddenField()
    host = HiddenField()
    page_url = HiddenField(validators=[Optional(), Length(max=limit("page_url")), no_control])
    # A booked time, offered outside business hours (templates/_slots.html).
    scheduled_for = StringField(validators=[Optional(), Length(max=limit("scheduled_for"))])


def build_form(widget: Widget, formdata: object = None) -> CallbackForm:
    form = CallbackForm(formdata)
    form.region.choices = region_choices(widget.regions)
    if not form.region.data or form.region.data == "None":
        form.region.data = widget.default_region
    choices = department_choices(widget, str(get_locale() or "en"))
    if choices:
        form.department.choices = choices
        if not form.department.data or form.department.data == "None":
            form.department.data = choices[0][0]  # what the select shows picked
    else:
        del form.department
    form.phone.label.text = text(widget, "phone_label")
    form.consent.label.text = text(widget, "consent")
    return form
