"""The visitor's form (WTForms): rendered server-side, works without JavaScript."""

from __future__ import annotations

from flask_babel import lazy_gettext
from wtforms import BooleanField, Form, HiddenField, SelectField, StringField, TelField
from wtforms.validators import InputRequired, Length, Optional, Regexp

from ..models import Widget
from ..phone_policy import region_choices

# Control characters (NUL above all, which PostgreSQL refuses) never belong in free text.
NO_CONTROL = Regexp(r"^[^\x00-\x1f\x7f]*$", message=lazy_gettext("Remove the special characters."))


class CallbackForm(Form):
    phone = TelField(
        "Your phone number",
        validators=[InputRequired("Enter your phone number."), Length(max=40)],
        render_kw={"inputmode": "tel", "autocomplete": "tel", "required": True},
    )
    region = SelectField("Country", validate_choice=True)
    name = StringField(
        "Your name (optional)",
        validators=[Optional(), Length(max=100), NO_CONTROL],
        render_kw={"autocomplete": "name"},
    )
    consent = BooleanField("I agree to be called back about my request.")
    # Honeypot: hidden from people (CSS, aria-hidden, no tab stop), filled by naive bots.
    website = StringField("Leave this empty", render_kw={"tabindex": "-1", "autocomplete": "off"})
    token = HiddenField()
    host = HiddenField()
    page_url = HiddenField(validators=[Optional(), Length(max=2048), NO_CONTROL])


def build_form(widget: Widget, formdata: object = None) -> CallbackForm:
    form = CallbackForm(formdata)
    form.region.choices = region_choices(widget.regions)
    if not form.region.data or form.region.data == "None":
        form.region.data = widget.default_region
    form.phone.label.text = widget.texts.get("phone_label", form.phone.label.text)
    if widget.texts.get("consent"):
        form.consent.label.text = widget.texts["consent"]
    return form
