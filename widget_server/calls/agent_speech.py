"""What an agent hears: the whisper before a callback is put through, and the notice when
the visitor's voicemail answered. Spoken in the widget's language."""

from __future__ import annotations

from flask import has_app_context
from flask_babel import force_locale, gettext

from ..core.i18n import DEFAULT_LOCALE, N_, supported
from ..core.models import Widget
from ..providers import provider_class
from ..providers.base import Capability

WHISPER = N_("Callback request from %(widget)s: press 1 to connect.")
WHISPER_IN_DEPARTMENT = N_("Callback request from %(widget)s, %(department)s: press 1 to connect.")
MACHINE_NOTICE = N_("The visitor's voicemail answered; we will try again.")


def language(widget: Widget) -> str:
    return supported(widget.locale) or DEFAULT_LOCALE


def wants_whisper(widget: Widget) -> bool:
    """Say whether agents hear a whisper and press a key: on where the provider can."""
    able = {Capability.WHISPER, Capability.ACCEPT_KEY} <= provider_class(
        widget.provider
    ).capabilities
    return able and widget.whisper is not False


def wants_machine_detection(widget: Widget) -> bool:
    able = Capability.AMD in provider_class(widget.provider).capabilities
    return able and widget.machine_detection is not False


def whisper(widget: Widget, department: str | None) -> str:
    """Say who is calling: the owner's own whisper text in the widget's language if set,
    else the widget's name and, if the visitor picked one, the department."""
    owned = owner_text(widget, "whisper")
    if owned:
        return owned
    if department:
        return _spoken(widget, WHISPER_IN_DEPARTMENT, widget=widget.name, department=department)
    return _spoken(widget, WHISPER, widget=widget.name)


def owner_text(widget: Widget, key: str) -> str | None:
    """Return the owner's text for `key` in the widget's language (owners.texts' shapes)."""
    texts = widget.texts if isinstance(widget.texts, dict) else {}
    localised = texts.get(language(widget))
    if isinstance(localised, dict) and isinstance(localised.get(key), str):
        return str(localised[key])
    plain = texts.get(key)
    return plain if isinstance(plain, str) else None


def machine_notice(widget: Widget) -> str:
    return _spoken(widget, MACHINE_NOTICE)


def _spoken(speaker: Widget, message: str, **values: str) -> str:
    if not has_app_context():
        return message % values
    with force_locale(language(speaker)):
        return gettext(message, **values)
